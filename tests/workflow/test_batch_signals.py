"""Interrupting a real `zhipu-connector batch` process: only whole lines, nothing lost, a clean resume.

The batch downloads files (core.download) from a loopback server that takes its time, so rows
are in flight when SIGINT or SIGTERM arrives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROWS = 24
DELAY = 0.4
BODY = b"0123456789abcdef" * 64


class SlowFiles:
    """Serves /N after DELAY seconds; remembers which N were asked for."""

    def __init__(self) -> None:
        requested = self.requested = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requested.append(int(self.path.strip("/").split(".")[0]))
                time.sleep(DELAY)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                try:
                    self.wfile.write(BODY)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def files():
    server = SlowFiles()
    yield server
    server.close()


def command() -> list[str]:
    script = Path(sys.executable).with_name("zhipu-connector")
    return [str(script)] if script.exists() else [sys.executable, "-m", "zhipu_connector.cli"]


def start_batch(tmp_path: Path, port: int) -> tuple[subprocess.Popen, Path, Path]:
    rows = tmp_path / "rows.jsonl"
    saved = tmp_path / "saved"
    rows.write_text(
        "".join(
            json.dumps({"url": f"http://127.0.0.1:{port}/{n}.bin", "path": f"{saved}/{n}.bin"}) + "\n"
            for n in range(1, ROWS + 1)
        )
    )
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "ZHIPU_CONNECTOR_LOAD_PLUGINS": "", "ZHIPU_CONNECTOR_FILES_ROOT": str(tmp_path)}
    env.pop("ZHIPUAI_API_KEY", None)
    process = subprocess.Popen(
        [
            *command(),
            "batch",
            "core.download",
            "--rows",
            str(rows),
            "--out",
            str(out),
            "--concurrency",
            "4",
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return process, rows, out


def wait_for_lines(out: Path, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"the batch wrote fewer than {count} lines in {timeout} s")


def whole_lines(out: Path) -> dict[int, dict]:
    data = out.read_bytes()
    assert data.endswith(b"\n"), "the last line is torn"
    records = [json.loads(line) for line in data.splitlines()]
    rows = [record["row"] for record in records]
    assert len(rows) == len(set(rows)), "a row was written twice"
    return {record["row"]: record for record in records}


def saved_files(tmp_path: Path) -> set[str]:
    directory = tmp_path / "saved"
    return {p.name for p in directory.iterdir()} if directory.exists() else set()


@pytest.mark.parametrize(
    ("signals", "code"),
    [([signal.SIGINT], 130), ([signal.SIGTERM], 128 + signal.SIGTERM), ([signal.SIGINT, signal.SIGINT], 130)],
    ids=["sigint", "sigterm", "twice"],
)
def test_an_interrupted_batch_leaves_whole_lines_and_a_rerun_does_exactly_the_rest(tmp_path, files, signals, code):
    process, rows, out = start_batch(tmp_path, files.port)
    try:
        wait_for_lines(out, 4)
        for number in signals:
            process.send_signal(number)
            time.sleep(0.05)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, err
    assert "run the same command again" in err
    first = whole_lines(out)
    assert all("output" in record for record in first.values()), first
    assert 4 <= len(first) < ROWS
    assert saved_files(tmp_path) == {f"{row}.bin" for row in first}, "a file without a result line, or a partial file"
    if len(signals) == 1:
        assert "rows in flight were finished" in err
    else:
        assert "rows in flight were cancelled" in err

    asked_before = len(files.requested)
    rerun = subprocess.run(
        [*command(), "batch", "core.download", "--rows", str(rows), "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ZHIPU_CONNECTOR_LOAD_PLUGINS": "", "ZHIPU_CONNECTOR_FILES_ROOT": str(tmp_path)},
    )
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(files.requested[asked_before:]) == sorted(set(range(1, ROWS + 1)) - set(first))
    final = whole_lines(out)
    assert sorted(final) == list(range(1, ROWS + 1)) and all("output" in record for record in final.values())
    assert saved_files(tmp_path) == {f"{n}.bin" for n in range(1, ROWS + 1)}
    assert all((tmp_path / "saved" / f"{n}.bin").read_bytes() == BODY for n in range(1, ROWS + 1))
