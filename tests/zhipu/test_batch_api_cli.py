"""`zhipu-connector batch ACTION --via batch-api` as a user types it, against a loopback emulator.

The emulator's clock ticks on every read (no test sleeps to move batches on); the command polls
every few milliseconds. The kill test runs the command in real subprocesses and kills them with
SIGKILL at random moments, then checks through the emulator that no row was submitted twice.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from batch_api_support import KEY, FakeClock, make_emulator, results, served, write_rows

from zhipu_connector import cli
from zhipu_connector.host import host as host_module
from zhipu_connector.host.host import Host
from zhipu_connector.workflow.bulk import state_path, work_dir
from zhipu_connector.zhipu import connections

MODELS = ("glm-4-plus", "glm-4-air-250414", "glm-4-flashx-250414")


def rows_file(tmp_path: Path, count: int) -> Path:
    return write_rows(
        tmp_path / "rows.jsonl",
        [{"format": "SIMPLE", "model": MODELS[n % 3], "userPrompt": f"Question {n}"} for n in range(count)],
    )


@pytest.fixture
def emulator():
    return make_emulator(FakeClock(tick=0.05), batch_seconds=10)


@pytest.fixture
def base_url(emulator):
    with served(emulator) as url:
        yield url


@pytest.fixture
def zhipu_only(monkeypatch, base_url):
    monkeypatch.setattr(host_module, "_default", Host(entry_points=False))
    monkeypatch.setenv("ZHIPUAI_API_KEY", KEY)
    monkeypatch.setenv("ZHIPUAI_BASE_URL", base_url)
    with connections.configured():
        yield


def batch(capsys, *argv: str) -> tuple[int, str]:
    status = cli.main(["batch", "ask", *argv, "--no-progress"])
    return status, capsys.readouterr().err


def test_a_batch_api_run_then_a_cancel_then_the_failures_again_in_real_time(zhipu_only, emulator, tmp_path, capsys):
    rows, out = rows_file(tmp_path, 30), tmp_path / "out.jsonl"
    base = ["--rows", str(rows), "--out", str(out)]
    status, err = batch(capsys, *base, "--via", "batch-api", "--poll-seconds", "0")
    assert status == 0, err
    assert "3 file(s)" in err and "30 succeeded, 0 failed" in err
    assert all("output" in line for line in results(out).values()) and len(results(out)) == 30

    status, err = batch(capsys, *base, "--via", "batch-api", "--cancel")
    assert status == 0 and "nothing to cancel" in err


def test_cancel_then_retry_errors_in_real_time(zhipu_only, emulator, tmp_path, capsys, monkeypatch):
    rows, out = rows_file(tmp_path, 30), tmp_path / "out.jsonl"
    base = ["--rows", str(rows), "--out", str(out)]
    # Ctrl-C as soon as the batches are created: the command stops waiting, the batches keep running.
    from zhipu_connector.zhipu import batch_api

    submit = batch_api.BatchApiRun.submit

    def submit_then_interrupt(self):
        submit(self)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(batch_api.BatchApiRun, "submit", submit_then_interrupt)
    status, err = batch(capsys, *base, "--via", "batch-api", "--poll-seconds", "0")
    monkeypatch.setattr(batch_api.BatchApiRun, "submit", submit)
    assert status == 130 and "keep running" in err and state_path(out).exists()
    kept = [state_path(out), *work_dir(out).iterdir()]
    assert all(KEY.split(".")[1].encode() not in path.read_bytes() for path in kept) and KEY not in err  # no secret

    status, err = batch(capsys, *base)  # real time now would run the submitted rows twice
    assert status == 1 and "in progress" in err

    status, err = batch(capsys, *base, "--via", "batch-api", "--cancel", "--poll-seconds", "0")
    assert status == 1, err
    lines = results(out)
    assert sorted(lines) == list(range(1, 31))
    cancelled = [row for row, line in lines.items() if "error" in line]
    assert cancelled and {lines[row]["error"]["type"] for row in cancelled} == {"BatchCancelledError"}
    assert not state_path(out).exists() and not work_dir(out).exists()

    status, err = batch(capsys, *base, "--retry-errors")  # the failed rows, in real time: one command
    assert status == 0, err
    assert f"{len(cancelled)} succeeded" in err
    assert all("output" in line for line in results(out).values()) and len(results(out)) == 30
    assert set(emulator.per_row.values()) == {1}


def test_the_international_platform_is_one_clear_error(zhipu_only, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZHIPUAI_BASE_URL", "https://api.z.ai/api/paas/v4")
    rows, out = rows_file(tmp_path, 2), tmp_path / "out.jsonl"
    status, err = batch(capsys, "--rows", str(rows), "--out", str(out), "--via", "batch-api")
    assert status == 1 and "mainland platform" in err and not out.exists()


# ---------------------------------------------------------------- kill -9


def command() -> list[str]:
    script = Path(sys.executable).with_name("zhipu-connector")
    return [str(script)] if script.exists() else [sys.executable, "-m", "zhipu_connector.cli"]


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_loses_nothing_and_submits_nothing_twice(tmp_path):
    clock = FakeClock(tick=0.002)  # batches crawl: the early runs are killed while building, uploading, polling
    emulator = make_emulator(clock, batch_seconds=40)
    with served(emulator) as base_url:
        _kill_and_resume(emulator, clock, base_url, tmp_path)


def _kill_and_resume(emulator, clock, base_url, tmp_path):
    rows, out = rows_file(tmp_path, 600), tmp_path / "out.jsonl"
    argv = [*command(), "batch", "ask", "--rows", str(rows), "--out", str(out), "--via", "batch-api"]
    argv += ["--poll-seconds", "0.01", "--no-progress"]
    env = {**os.environ, "ZHIPUAI_API_KEY": KEY, "ZHIPUAI_BASE_URL": base_url, "ZHIPU_CONNECTOR_LOAD_PLUGINS": ""}
    seed = random.randrange(1 << 30)
    chance = random.Random(seed)
    killed = []
    for trial in range(10):
        if trial >= 5:
            clock.sleep(10)  # the batches move on: the later runs are killed while collecting, or finish
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        moment = chance.uniform(0.5, 4.0)  # start-up takes about a second
        try:
            process.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            process.kill()  # SIGKILL: no handler, no clean-up
            process.wait()
            killed.append(round(moment, 2))
        else:
            assert process.returncode == 0, process.stderr.read() if process.stderr else ""
            break
        finally:
            if process.stderr:
                process.stderr.close()
    clock.sleep(100)
    final = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, f"seed {seed}, killed at {killed}: {final.stderr}"
    lines = results(out)  # no torn line, no row twice
    assert sorted(lines) == list(range(1, 601)), f"seed {seed}, killed at {killed}"
    assert all("output" in line for line in lines.values())
    assert len(emulator.per_row) == 600 and set(emulator.per_row.values()) == {1}, f"seed {seed}, killed at {killed}"
    assert len(emulator.batches) == 3
    assert not state_path(out).exists() and not work_dir(out).exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.jsonl", "rows.jsonl"]  # nothing left behind
    assert len(killed) >= 3, f"seed {seed}: only {killed} killed, the moments are too late"
