"""Workflows with the real Zhipu handlers against the embedded emulator: a ByteChef file unchanged,
the shipped examples, and the demo."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from zhipu_connector.cli import main
from zhipu_connector.workflow.checks import check_workflow
from zhipu_connector.workflow.errors import WorkflowRunError
from zhipu_connector.workflow.examples import example_workflows
from zhipu_connector.workflow.model import load_workflow
from zhipu_connector.workflow.runner import arun_workflow, run_workflow

BYTECHEF = Path(__file__).with_name("data") / "bytechef-illustrate-topic.json"
KEY = "test-id.test-secret"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def emulator():
    from zhipu_connector.emulator import EmulatorConfig, running_emulator

    with running_emulator(EmulatorConfig(api_keys=frozenset({KEY}))) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def host():
    from zhipu_connector.host.host import Host

    return Host(entry_points=False)  # the built-in plugins: zhipu and core


def zhipu(base_url: str) -> dict:
    return {"zhipu": {"token": KEY, "baseUrl": base_url}}


def test_a_bytechef_workflow_file_runs_unchanged(host, emulator):
    workflow = load_workflow(BYTECHEF)
    assert check_workflow(host, workflow) == []
    result = run_workflow(host, workflow, {"topic": "a red kite over the sea"}, zhipu(emulator))
    prompt = result.tasks["zhipu_1"]
    assert isinstance(prompt, str) and "a red kite over the sea" in prompt
    url = result.outputs["imageUrl"]
    assert result.tasks["zhipu_2"]["data"][0]["url"] == url
    image = httpx.get(url)
    assert image.status_code == 200 and image.content.startswith(PNG_SIGNATURE)


def test_the_same_file_runs_on_the_async_path(host, emulator):
    import asyncio

    result = asyncio.run(arun_workflow(host, load_workflow(BYTECHEF), {"topic": "dunes"}, zhipu(emulator)))
    assert "dunes" in result.tasks["zhipu_1"] and result.outputs["imageUrl"].startswith("http://127.0.0.1:")


def test_a_zhipu_error_in_the_middle_keeps_the_prompt_already_written(host, emulator, tmp_path):
    text = BYTECHEF.read_text().replace('"content": "${zhipu_1}"', '"content": "${zhipu_1} [[fault:no_balance]]"')
    (tmp_path / "w.json").write_text(text)
    with pytest.raises(WorkflowRunError) as caught:
        run_workflow(host, load_workflow(tmp_path / "w.json"), {"topic": "kites"}, zhipu(emulator))
    error = caught.value
    assert error.task == "zhipu_2" and list(error.outputs) == ["zhipu_1"]
    assert (error.cause.status, error.cause.code) == (429, "1113")


def test_a_warning_from_a_task_is_part_of_the_result(host, emulator):
    result = run_workflow(host, load_workflow(BYTECHEF), {"topic": "kites [[fault:finish_length]]"}, zhipu(emulator))
    assert "token limit" in result.warnings["zhipu_1"][0]


def test_nothing_is_sent_without_a_valid_connection(host, emulator):
    with pytest.raises(Exception) as caught:
        run_workflow(host, load_workflow(BYTECHEF), {"topic": "kites"}, {"zhipu": {"baseUrl": emulator}})
    assert "connections.zhipu.token: Token is required" in str(caught.value)


@pytest.mark.parametrize("path", example_workflows(), ids=lambda p: p.name)
def test_every_shipped_example_passes_the_checks(host, path):
    assert check_workflow(host, load_workflow(path)) == []


def test_the_examples_include_ask_create_image_download_and_logger():
    types = {task.type for path in example_workflows() for task in load_workflow(path).tasks}
    assert {
        "zhipu/v1/ask",
        "zhipu/v1/createImage",
        "core/v1/download",
        "core/v1/logger",
        "core/v1/textTemplate",
        "core/v1/rankBySimilarity",
        "zhipu/v1/createEmbeddings",
        "zhipu/v1/generateVideo",
    } <= types


def test_the_demo_runs_every_example_against_the_emulator(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZHIPUAI_API_KEY", "a-real-key-must-not-be-used.x")
    monkeypatch.setenv("ZHIPUAI_BASE_URL", "https://unreachable.invalid/api")
    code = main(["demo", "--output-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = captured.out
    assert "Zhipu emulator listening at http://127.0.0.1:" in out
    for step in (
        "ask_1 zhipu/v1/ask",
        "createImage_1 zhipu/v1/createImage",
        "download_1 core/v1/download",
        "logger_1 core/v1/logger",
        "textTemplate_1 core/v1/textTemplate",
    ):
        assert step in out
    assert f"{len(example_workflows())} of {len(example_workflows())} workflow(s) succeeded" in out
    images = list(tmp_path.glob("*.png"))
    assert len(images) == 1 and images[0].read_bytes().startswith(PNG_SIGNATURE)
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].read_bytes()[4:8] == b"ftyp"
    blocks = [json.JSONDecoder().raw_decode(block)[0] for block in out.split("workflow outputs:\n")[1:]]
    assert [sorted(block) for block in blocks] == [
        ["imagePath", "prompt"],
        ["ranking"],
        ["report"],
        ["answer", "reply"],
        ["reply", "toolCall"],
        ["coverUrl", "prompt", "videoPath"],
    ]
    assert blocks[0]["imagePath"] == str(images[0].resolve())
    assert blocks[1]["ranking"][0]["label"] == "Our refund policy covers parcels damaged in transit."
    assert blocks[3]["answer"] == blocks[3]["reply"]["answer"]  # structured-answer: a field of the parsed JSON
    assert blocks[4]["toolCall"]["name"] == "get_weather" and blocks[4]["reply"]  # tool-call: model → tool → model
    assert blocks[5]["videoPath"] == str(videos[0].resolve())


def test_the_demo_can_run_one_example_and_names_the_known_ones(tmp_path, capsys):
    assert main(["demo", "--output-dir", str(tmp_path), "--workflow", "report-haiku"]) == 0
    assert "1 of 1 workflow(s) succeeded" in capsys.readouterr().out
    assert main(["demo", "--workflow", "nope"]) == 1
    assert (
        "no example workflow named nope (examples: image-from-topic, rank-texts, report-haiku, structured-answer, "
        "tool-call, video-from-prompt)" in capsys.readouterr().err
    )
