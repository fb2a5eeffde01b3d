"""`zhipu-connector run` for the new actions, against the emulator on a loopback socket.

The emulator's tasks and the connector's waits share a fake clock (the emulator runs in this
process, on a thread), so `run generateVideo` waits exactly as it would live, without sleeping.
"""

from __future__ import annotations

import json

import httpx
import pytest
from task_clock import FakeClock, fake_task_time

from zhipu_connector import cli
from zhipu_connector.emulator import EmulatorConfig, running_emulator
from zhipu_connector.host import host as host_module
from zhipu_connector.host.host import Host
from zhipu_connector.zhipu import connections

KEY = "taskcli.taskCliSecret042"
CLOCK = FakeClock()


@pytest.fixture(scope="module")
def base_url():
    config = EmulatorConfig(api_keys=frozenset({KEY}), clock=CLOCK, task_seconds=10)
    with running_emulator(config) as url:
        yield url


@pytest.fixture(autouse=True)
def zhipu_default_host(monkeypatch):
    monkeypatch.setattr(host_module, "_default", Host(entry_points=False))
    monkeypatch.delenv("ZHIPUAI_API_KEY", raising=False)
    monkeypatch.delenv("ZHIPUAI_BASE_URL", raising=False)
    CLOCK.sleeps.clear()
    with connections.configured(), fake_task_time(CLOCK):
        yield


def run(capsys, action: str, inputs: dict, base_url: str, *options: str) -> tuple[int, str, str]:
    status = cli.main(["run", action, "--base-url", base_url, "--token", KEY, "--input", json.dumps(inputs), *options])
    out, err = capsys.readouterr()
    return status, out, err


def test_run_generate_video_waits_and_prints_the_video(capsys, base_url):
    status, out, err = run(capsys, "generateVideo", {"model": "cogvideox-3", "prompt": "a boat"}, base_url)
    assert (status, err) == (0, "")
    result = json.loads(out)
    assert result["status"] == "SUCCESS" and CLOCK.sleeps == [1, 2, 4, 8]
    video = httpx.get(result["videos"][0]["url"])
    assert video.headers["content-type"] == "video/mp4" and video.content[4:8] == b"ftyp"
    assert KEY not in out


def test_run_stream_shows_the_progress_of_the_wait(capsys, base_url):
    status, out, err = run(capsys, "createImageAsync", {"prompt": "a fox"}, base_url, "--stream")
    assert status == 0
    task = json.loads(out)["taskId"]
    assert err.splitlines()[:3] == [
        f"task {task}: submitted",
        f"task {task}: PROCESSING after 1 s",
        f"task {task}: PROCESSING after 3 s",
    ]
    assert f"task {task}: SUCCESS after 15 s (4 checks)" in err


def test_run_the_task_at_once_then_get_task_result(capsys, base_url):
    status, out, _ = run(
        capsys, "zhipu.generateVideo", {"model": "viduq1-text", "prompt": "a cat", "waitForResult": False}, base_url
    )
    task = json.loads(out)
    assert status == 0 and task["status"] == "PROCESSING"
    status, out, _ = run(capsys, "getTaskResult", {"taskId": task["taskId"]}, base_url)
    assert status == 0 and json.loads(out)["status"] == "PROCESSING"
    CLOCK.now += 10
    status, out, _ = run(capsys, "zhipu/v1/getTaskResult", {"taskId": task["taskId"]}, base_url)
    assert status == 0 and json.loads(out)["videos"][0]["url"].endswith(".mp4")


def test_run_create_embeddings(capsys, base_url):
    status, out, err = run(
        capsys, "createEmbeddings", {"model": "embedding-3", "texts": ["a", "b"], "dimensions": 256}, base_url
    )
    assert (status, err) == (0, "")
    result = json.loads(out)
    assert [item["index"] for item in result["data"]] == [0, 1] and len(result["data"][1]["embedding"]) == 256


def test_run_refuses_embeddings_on_the_international_platform_and_sends_nothing(capsys):
    status, out, err = run(capsys, "createEmbeddings", {"model": "embedding-3", "text": "a"}, "international")
    assert status != 0 and out == ""
    assert "connection.baseUrl: the international platform (api.z.ai) does not offer this action" in err
    assert KEY not in err


def test_run_reports_a_failed_task(capsys, base_url):
    status, out, err = run(
        capsys, "generateVideo", {"model": "cogvideox-3", "prompt": "a boat [[fault:task_fail]]"}, base_url
    )
    assert status != 0 and out == "" and "ended FAIL" in err


def test_run_reports_a_stuck_task_with_its_id_after_the_timeout(capsys, base_url):
    inputs = {"model": "cogvideox-3", "prompt": "a boat [[fault:task_stuck]]", "timeout": 60}
    status, _, err = run(capsys, "generateVideo", inputs, base_url)
    assert status != 0 and "still PROCESSING after 60 s" in err and "Get task result (taskId 2" in err
    assert sum(CLOCK.sleeps) == 60
