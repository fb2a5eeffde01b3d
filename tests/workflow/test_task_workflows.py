"""The new Zhipu actions in workflows and batches, as a user runs them, against the emulator.

The emulator listens on loopback (the download step fetches the video over HTTP) and shares a
fake clock with the connector's waits, so a video task is waited for without sleeping.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from task_clock import FakeClock, fake_task_time

from zhipu_connector.cli import main
from zhipu_connector.emulator import EmulatorConfig, running_emulator
from zhipu_connector.host import host as host_module
from zhipu_connector.host.files import using_files_root
from zhipu_connector.host.host import Host
from zhipu_connector.workflow.checks import check_workflow
from zhipu_connector.workflow.errors import WorkflowRunError
from zhipu_connector.workflow.examples import examples_directory
from zhipu_connector.workflow.model import load_workflow
from zhipu_connector.workflow.runner import arun_workflow, run_workflow

KEY = "taskflow.taskFlowSecret7"
CLOCK = FakeClock()
VIDEO = examples_directory() / "video-from-prompt.yaml"
RANK = examples_directory() / "rank-texts.yaml"


@pytest.fixture(scope="module")
def emulator():
    with running_emulator(EmulatorConfig(api_keys=frozenset({KEY}), clock=CLOCK, task_seconds=30)) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def host():
    return Host(entry_points=False)


@pytest.fixture(autouse=True)
def fake_time():
    CLOCK.sleeps.clear()
    with fake_task_time(CLOCK):
        yield


def zhipu(base_url: str) -> dict:
    return {"zhipu": {"token": KEY, "baseUrl": base_url}}


def test_the_video_example_writes_a_prompt_makes_the_video_and_saves_it(host, emulator, tmp_path):
    workflow = load_workflow(VIDEO)
    assert check_workflow(host, workflow) == []
    with using_files_root(tmp_path):
        result = run_workflow(host, workflow, {"subject": "a kite", "outputDir": str(tmp_path)}, zhipu(emulator))
    assert "a kite" in result.outputs["prompt"]
    video = Path(result.outputs["videoPath"])
    assert video.parent == tmp_path.resolve() and video.suffix == ".mp4" and video.read_bytes()[4:8] == b"ftyp"
    assert result.tasks["download_1"]["contentType"] == "video/mp4"
    assert result.outputs["coverUrl"].endswith(".png")
    assert CLOCK.sleeps == [1, 2, 4, 8, 16]  # done at 30 s, checked at 31


def test_the_video_example_on_the_async_path(host, emulator, tmp_path):
    import asyncio

    with using_files_root(tmp_path):
        result = asyncio.run(arun_workflow(host, load_workflow(VIDEO), {"outputDir": str(tmp_path)}, zhipu(emulator)))
    assert Path(result.outputs["videoPath"]).read_bytes()[4:8] == b"ftyp"


def test_start_a_task_then_collect_it_in_a_later_step(host, emulator, tmp_path):
    path = tmp_path / "later.yaml"
    path.write_text(
        """
label: Start now, collect later
tasks:
  - name: start_1
    type: zhipu/v1/generateVideo
    parameters: {model: cogvideox-3, prompt: a lighthouse, waitForResult: false}
  - name: collect_1
    type: zhipu/v1/getTaskResult
    parameters: {taskId: "${start_1.taskId}", waitForResult: true, pollInterval: 10}
outputs:
  - {name: video, value: "${collect_1.videos[0].url}"}
"""
    )
    workflow = load_workflow(path)
    assert check_workflow(host, workflow) == []
    result = run_workflow(host, workflow, {}, zhipu(emulator))
    assert result.tasks["start_1"]["status"] == "PROCESSING"
    assert result.outputs["video"].endswith(".mp4")
    assert CLOCK.sleeps == [1, 2, 4, 8, 10, 10]  # looked at once, then up to 10 s apart


def test_a_failed_video_task_stops_the_workflow_at_its_step(host, emulator, tmp_path):
    path = tmp_path / "failing.yaml"
    path.write_text(VIDEO.read_text().replace("prompt: ${ask_1}", 'prompt: "${ask_1} [[fault:task_fail]]"'))
    with pytest.raises(WorkflowRunError) as caught:
        run_workflow(host, load_workflow(path), {"subject": "kites"}, zhipu(emulator))
    assert caught.value.task == "generateVideo_1" and "ended FAIL" in str(caught.value.cause)


def test_the_ranking_example_puts_the_closest_text_first(host, emulator):
    workflow = load_workflow(RANK)
    assert check_workflow(host, workflow) == []
    result = run_workflow(host, workflow, {"query": "how do I reset my password"}, zhipu(emulator))
    ranking = result.outputs["ranking"]
    assert len(ranking) == 3 and ranking[0]["label"] == "Reset your password from the sign-in page."
    assert ranking[0]["score"] > ranking[1]["score"] >= ranking[2]["score"]
    assert result.tasks["embedTexts_1"]["data"][3]["index"] == 3


# --- batch -----------------------------------------------------------------------------------


@pytest.fixture
def default_host(monkeypatch):
    monkeypatch.setattr(host_module, "_default", Host(entry_points=False))
    monkeypatch.delenv("ZHIPUAI_API_KEY", raising=False)


def test_batch_embeddings_over_a_jsonl_file(default_host, emulator, tmp_path, capsys):
    texts = [f"text number {n} about {'cats' if n % 2 else 'invoices'}" for n in range(12)]
    rows = tmp_path / "rows.jsonl"
    lines = [json.dumps({"model": "embedding-3", "text": text, "dimensions": 256}) for text in texts]
    lines.append(json.dumps({"model": "embedding-2", "text": "x", "dimensions": 256}))  # a rule broken
    lines.append(json.dumps({"model": "embedding-3", "texts": texts[:3], "dimensions": 256}))
    rows.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    argv = ["batch", "createEmbeddings", "--rows", str(rows), "--out", str(out), "--no-progress"]
    status = main([*argv, "--base-url", emulator, "--token", KEY, "--concurrency", "4"])
    assert status == 1  # one row ended in an error line
    results = {line["row"]: line for line in map(json.loads, out.read_text().splitlines())}
    assert sorted(results) == list(range(1, 15))
    assert "embedding-2 takes 1024 dimensions, not 256" in results[13]["error"]["message"]
    vectors = [results[row]["output"]["data"][0]["embedding"] for row in range(1, 13)]
    assert all(len(vector) == 256 for vector in vectors)
    listed = results[14]["output"]["data"]
    assert [item["embedding"] for item in listed] == vectors[:3]  # the same text, the same vector, in order
    assert KEY not in out.read_text() and KEY not in capsys.readouterr().err
