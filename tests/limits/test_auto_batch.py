"""`batch` with `--concurrency auto` against an emulator whose cap on requests in flight changes
mid-run: nothing is lost, few requests are refused, and the limit ends at the cap; the same limit
serves threads calling the sync client; a refusal with nothing else in flight is the client's.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from zhipu_connector.emulator import EmulatorConfig
from zhipu_connector.emulator.app import create_app
from zhipu_connector.host.host import Host
from zhipu_connector.workflow.batch import BatchSummary, parse_concurrency, run_batch
from zhipu_connector.zhipu import connections
from zhipu_connector.zhipu.errors import RateLimitError
from zhipu_connector.zhipu.limiting import limiter_for

KEY = "auto1234.autosecretvalue"
BASE_URL = "http://emulator.test/api/paas/v4"


@pytest.fixture(scope="module")
def host() -> Host:
    return Host(default_plugins=["zhipu_connector.zhipu.plugin"], entry_points=False)


class CapChanges:
    """A batch progress that moves the emulator's cap after given numbers of finished rows."""

    def __init__(self, app: Any, changes: dict[int, int]) -> None:
        self.app, self.changes, self.done = app, changes, 0

    def start(self, total: int | None, already_done: int) -> None:
        pass

    def advance(self, ok: bool) -> None:
        self.done += 1
        if self.done in self.changes:
            self.app.concurrency.limit = self.changes[self.done]

    def finish(self, summary: BatchSummary) -> None:
        pass


def write_rows(path: Path, count: int) -> Path:
    path.write_text(
        "".join(
            json.dumps({"model": "glm-4-flash", "messages": [{"role": "user", "content": f"row {n}"}]}) + "\n"
            for n in range(count)
        )
    )
    return path


def test_auto_follows_a_cap_that_changes_mid_run_and_loses_no_row(host: Host, tmp_path: Path) -> None:
    app = create_app(EmulatorConfig(api_keys=frozenset({KEY}), max_concurrent_requests=8, fault="slow;seconds=0.01"))
    connection = host.connection("zhipu", {"token": KEY, "baseUrl": BASE_URL, "limiter": "auto"})
    rows, out = write_rows(tmp_path / "rows.jsonl", 900), tmp_path / "out.jsonl"
    with connections.configured(transport_factory=connections.InProcessTransports(app)):
        summary = asyncio.run(
            run_batch(
                host, "zhipu", "ask", rows, out, connection=connection, progress=CapChanges(app, {300: 3, 600: 6})
            )
        )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary.succeeded == 900 and summary.failed == 0
    assert sorted(record["row"] for record in records) == list(range(1, 901))
    counts = app.concurrency.snapshot()
    assert counts["refused"] <= 0.05 * counts["requests"]
    assert counts["requests"] == 900 + counts["refused"]  # every refused request was sent again, once each
    assert limiter_for(connection, "async").current in (6, 7)  # at the last cap (or probing one above)


def test_threads_calling_the_sync_client_share_the_limit_and_lose_nothing(host: Host) -> None:
    app = create_app(EmulatorConfig(api_keys=frozenset({KEY}), max_concurrent_requests=3, fault="slow;seconds=0.01"))
    connection = {"token": KEY, "baseUrl": BASE_URL, "limiter": "auto"}
    inputs = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hello"}]}
    with connections.configured(transport_factory=connections.InProcessTransports(app)):
        with ThreadPoolExecutor(max_workers=12) as threads:
            answers = list(threads.map(lambda _: host.run_action("zhipu", "ask", inputs, connection), range(120)))
    assert len(answers) == 120
    assert app.concurrency.snapshot()["peak_in_flight"] == 3


def test_a_refusal_with_nothing_else_in_flight_is_left_to_the_client_retries(host: Host) -> None:
    app = create_app(EmulatorConfig(api_keys=frozenset({KEY})))
    connection = {"token": KEY, "baseUrl": BASE_URL, "limiter": "auto"}
    inputs = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "Hi [[fault:rate_limit;times=9]]"}]}
    with connections.configured(
        transport_factory=connections.InProcessTransports(app), client_options={"max_retries": 1}
    ):
        with pytest.raises(RateLimitError) as caught:
            host.run_action("zhipu", "ask", inputs, connection)
    assert (caught.value.code, caught.value.attempts) == ("1302", 2)


def test_concurrency_is_auto_or_a_whole_number() -> None:
    from zhipu_connector.workflow.batch import BatchError

    assert parse_concurrency("auto") == "auto" and parse_concurrency("12") == 12 and parse_concurrency(3) == 3
    for bad in ("0", "-2", "many", 2.5, True):
        with pytest.raises(BatchError, match="concurrency must be auto or a whole number of at least 1"):
            parse_concurrency(bad)


def test_a_limiter_that_is_neither_auto_off_nor_a_redis_url_is_refused_naming_the_property(host: Host) -> None:
    from zhipu_connector.zhipu.errors import ClientConfigError

    app = create_app(EmulatorConfig(api_keys=frozenset({KEY})))
    connection = {"token": KEY, "baseUrl": BASE_URL, "limiter": "memcached://cache:11211"}
    inputs = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hello"}]}
    with connections.configured(transport_factory=connections.InProcessTransports(app)):
        with pytest.raises(ClientConfigError, match="limiter: a shared limiter must be a redis://") as caught:
            host.run_action("zhipu", "ask", inputs, connection)
    assert "memcached://cache" not in str(caught.value)  # the value is a secret: never repeated
    assert app.concurrency.snapshot()["requests"] == 0


def test_the_batch_command_takes_auto_or_a_number_and_refuses_anything_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhipu_connector import cli

    monkeypatch.setenv("ZHIPUAI_API_KEY", KEY)
    rows, out = write_rows(tmp_path / "rows.jsonl", 2), tmp_path / "out.jsonl"
    code = cli.main(["batch", "ask", "--rows", str(rows), "--out", str(out), "--concurrency", "many", "--no-progress"])
    assert code != 0
    assert "concurrency must be auto or a whole number of at least 1, not 'many'" in capsys.readouterr().err
    assert not out.exists() or out.read_text() == ""
    help_text = subprocess_help()
    assert "--concurrency auto|N" in help_text and "(default auto)" in help_text


def subprocess_help() -> str:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "zhipu_connector.cli", "batch", "--help"], capture_output=True, text=True
    )
    return " ".join(done.stdout.split())
