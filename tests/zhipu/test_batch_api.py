"""`batch ACTION --via batch-api` against the emulator, from Python and the command line, on a fake clock."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from batch_api_support import (
    BASE_PATH,
    KEY,
    ORIGIN,
    FakeClock,
    Submissions,
    files_left,
    make_emulator,
    results,
    write_rows,
)

from zhipu_connector.host.host import default_host
from zhipu_connector.workflow.batch import BatchError, run_batch
from zhipu_connector.workflow.bulk import BulkRun, run_bulk, state_path, work_dir
from zhipu_connector.zhipu import connections
from zhipu_connector.zhipu.batch_api import BatchApiRun

CONNECTION = {"token": KEY, "baseUrl": ORIGIN + BASE_PATH}


@pytest.fixture(scope="module")
def host():
    return default_host()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def ask(prompt: str, model: str = "glm-4-plus", **fields: Any) -> dict[str, Any]:
    return {"format": "SIMPLE", "model": model, "userPrompt": prompt, **fields}


def via_batch_api(
    host: Any, emulator: Submissions, clock: FakeClock, rows: Path, out: Path, *, action: str = "ask", **options: Any
):
    via = options.pop("via", "batch-api")
    with connections.configured(transport_factory=connections.InProcessTransports(emulator)):
        return run_bulk(
            host,
            via,
            "zhipu",
            action,
            rows,
            out,
            connection=options.pop("connection", CONNECTION),
            options={"sleep": bounded(clock.sleep), "poll_seconds": 5, **options.pop("options", {})},
            report=lambda text: None,
            **options,
        )


def bounded(sleep: Any, most: int = 2000) -> Any:
    """`sleep`, failing the test instead of waiting for ever when a run never ends."""
    calls = []

    def wait(seconds: float) -> None:
        calls.append(seconds)
        assert len(calls) < most, "the run keeps waiting for batches that will never end"
        sleep(seconds)

    return wait


def real_time(host: Any, emulator: Submissions, rows: Path, out: Path, **options: Any):
    with connections.configured(transport_factory=connections.InProcessTransports(emulator)):
        return asyncio.run(run_batch(host, "zhipu", "ask", rows, out, connection=CONNECTION, **options))


def test_every_row_gets_one_line_with_the_output_real_time_gives(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock, batch_seconds=60)
    rows = write_rows(
        tmp_path / "rows.jsonl",
        [
            *(ask(f"Question {n}", model) for n in range(12) for model in ("glm-4-plus", "glm-4-air-250414")),
            ask("Too new to batch", "glm-4.7"),
            "this is not JSON\n",
            {"format": "SIMPLE", "userPrompt": "no model"},
            ask("Answer in JSON", "glm-4-plus", responseFormat="JSON"),
        ],
    )
    summary = via_batch_api(host, emulator, clock, rows, tmp_path / "out.jsonl")
    got = results(tmp_path / "out.jsonl")
    assert sorted(got) == list(range(1, 29))
    assert summary.succeeded == 25 and summary.failed == 3 and not summary.interrupted
    assert "glm-4.7" in got[25]["error"]["message"] and "Batch API" in got[25]["error"]["message"]
    assert got[26]["error"]["type"] == "InputValidationError" and "not valid JSON" in got[26]["error"]["message"]
    assert got[27]["error"]["type"] == "InputValidationError" and "model" in got[27]["error"]["message"]
    assert [name.split("-part-")[1] for name, _ in emulator.uploads] == ["0001.jsonl", "0002.jsonl"]
    assert sorted(lines for _, lines in emulator.uploads) == [12, 13]  # one model per file
    assert set(emulator.per_row.values()) == {1} and len(emulator.per_row) == 25
    assert not state_path(tmp_path / "out.jsonl").exists() and not work_dir(tmp_path / "out.jsonl").exists()
    assert files_left(emulator) == []

    # The same rows in real time: the same outputs, and the same request bodies.
    live = make_emulator(clock)
    real_time(host, live, rows, tmp_path / "live.jsonl")
    expected = results(tmp_path / "live.jsonl")
    assert "output" in expected[25]  # glm-4.7 runs in real time, only not through the Batch API
    del expected[25], got[25]
    assert {row: line.get("output") for row, line in got.items()} == {
        row: line.get("output") for row, line in expected.items()
    }
    sent = [body for body in live.bodies["/chat/completions"] if body["model"] != "glm-4.7"]
    sent.sort(key=lambda body: json.dumps(body["messages"]))
    batched = sorted((line["body"] for line in emulator.lines), key=lambda body: json.dumps(body["messages"]))
    assert [{**b, "request_id": None} for b in batched] == [{**b, "request_id": None} for b in sent]
    assert all(line["custom_id"].startswith("row-") and len(line["custom_id"]) >= 6 for line in emulator.lines)


@pytest.mark.slow
def test_120000_rows_go_in_3_files_and_come_back_once_each(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock, batch_seconds=60)
    rows = write_rows(tmp_path / "rows.jsonl", (ask(f"q{n}", "glm-4-flashx-250414") for n in range(120_000)))
    summary = via_batch_api(host, emulator, clock, rows, tmp_path / "out.jsonl")
    assert sorted(lines for _, lines in emulator.uploads) == [20_000, 50_000, 50_000]
    assert len(emulator.batches) == 3
    got = results(tmp_path / "out.jsonl")
    assert len(got) == 120_000 and summary.succeeded == 120_000
    assert all("output" in line for line in got.values())
    assert len(emulator.per_row) == 120_000 and set(emulator.per_row.values()) == {1}


def test_failed_lines_and_a_sensitive_prompt_come_back_from_the_error_file_on_their_rows(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock, batch_seconds=60)
    prompts = [f"Question {n}" for n in range(10)]
    prompts[6] = "Tell me [[fault:sensitive]] something"
    rows = write_rows(tmp_path / "rows.jsonl", [ask(p) for p in prompts])
    via_batch_api(host, emulator, clock, rows, tmp_path / "out.jsonl")
    got = results(tmp_path / "out.jsonl")
    assert sorted(got) == list(range(1, 11))
    assert [row for row, line in got.items() if "error" in line] == [7]
    error = got[7]["error"]
    assert error["status"] == 400 and error["code"] == "1301" and error["type"] == "ContentFilteredError"

    faulty = make_emulator(clock, batch_seconds=60, fault="failed_lines;times=3")
    via_batch_api(
        host,
        faulty,
        clock,
        write_rows(tmp_path / "more.jsonl", [ask(f"q{n}") for n in range(8)]),
        tmp_path / "more-out.jsonl",
    )
    more = results(tmp_path / "more-out.jsonl")
    assert sorted(more) == list(range(1, 9))
    failed = {row: line["error"] for row, line in more.items() if "error" in line}
    assert len(failed) == 3 and all(e["code"] == "1301" and e["status"] == 400 for e in failed.values())


def test_an_expired_batch_reports_its_unrun_rows_and_they_rerun_in_real_time(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock, batch_seconds=100, fault="batch_expired")
    rows = write_rows(tmp_path / "rows.jsonl", [ask(f"Question {n}") for n in range(20)])
    out = tmp_path / "out.jsonl"
    summary = via_batch_api(host, emulator, clock, rows, out)
    got = results(out)
    assert sorted(got) == list(range(1, 21))
    expired = [row for row, line in got.items() if "error" in line]
    assert expired and len(expired) < 20 and summary.failed == len(expired)
    assert all(got[row]["error"]["type"] == "BatchExpiredError" for row in expired)
    assert "--retry-errors" in got[expired[0]]["error"]["message"]

    again = real_time(host, make_emulator(clock), rows, out, retry_errors=True)
    assert again.succeeded == len(expired)
    assert all("output" in line for line in results(out).values()) and len(results(out)) == 20


def test_a_batch_that_fails_validation_fails_each_of_its_rows(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock, batch_seconds=100, fault="batch_invalid")
    rows = write_rows(tmp_path / "rows.jsonl", [ask(f"Question {n}") for n in range(5)])
    via_batch_api(host, emulator, clock, rows, tmp_path / "out.jsonl")
    got = results(tmp_path / "out.jsonl")
    assert sorted(got) == [1, 2, 3, 4, 5]
    assert {line["error"]["type"] for line in got.values()} == {"BatchFailedError"}
    assert "validation" in got[1]["error"]["message"]


def test_cancel_stops_the_running_batches_and_reports_the_rest(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock, batch_seconds=100)
    rows = write_rows(
        tmp_path / "rows.jsonl",
        [ask(f"Question {n}", m) for n in range(20) for m in ("glm-4-plus", "glm-4-air-250414")],
    )
    out = tmp_path / "out.jsonl"
    with connections.configured(transport_factory=connections.InProcessTransports(emulator)):
        run = BulkRun(state_path(out), work_dir(out), host.connection("zhipu", CONNECTION), report=lambda text: None)
        steps = BatchApiRun(host, "zhipu", "ask", rows, out, run)
        steps.start()
        steps.submit()
        clock.sleep(40)  # part-way through the batches
        assert steps.poll() is False
        steps.close()
    assert state_path(out).exists() and not out.read_text()

    with pytest.raises(BatchError, match="in progress"):  # a real-time run now would submit the rows twice
        real_time(host, emulator, rows, out)

    summary = via_batch_api(host, emulator, clock, rows, out, cancel=True)
    got = results(out)
    assert sorted(got) == list(range(1, 41))
    cancelled = [row for row, line in got.items() if "error" in line]
    assert cancelled and len(cancelled) < 40 and summary.failed == len(cancelled)
    assert {got[row]["error"]["type"] for row in cancelled} == {"BatchCancelledError"}
    assert not state_path(out).exists()
    assert set(emulator.per_row.values()) == {1}


def test_a_lost_answer_to_the_batch_creation_is_looked_up_not_sent_again(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock, batch_seconds=30)
    emulator.drop_next_create = True
    rows = write_rows(tmp_path / "rows.jsonl", [ask(f"Question {n}") for n in range(6)])
    via_batch_api(host, emulator, clock, rows, tmp_path / "out.jsonl")
    assert len(emulator.batches) == 1 and set(emulator.per_row.values()) == {1} and len(emulator.per_row) == 6
    assert all("output" in line for line in results(tmp_path / "out.jsonl").values())


def test_embeddings_and_images_go_through_the_batch_api_too(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock, batch_seconds=30)
    rows = write_rows(
        tmp_path / "rows.jsonl", [{"model": "embedding-3", "text": f"text {n}", "dimensions": 256} for n in range(3)]
    )
    via_batch_api(host, emulator, clock, rows, tmp_path / "out.jsonl", action="createEmbeddings")
    got = results(tmp_path / "out.jsonl")
    assert sorted(got) == [1, 2, 3] and all("output" in line for line in got.values()), got
    assert {line["url"] for line in emulator.lines} == {"/v4/embeddings"}
    assert all(len(line["output"]["data"][0]["embedding"]) == 256 for line in got.values())

    images = write_rows(
        tmp_path / "images.jsonl",
        [{"model": "cogview-4-250304", "imageMessages": [{"content": f"a fox number {n}"}]} for n in range(2)],
    )
    via_batch_api(host, emulator, clock, images, tmp_path / "images-out.jsonl", action="createImage")
    pictures = results(tmp_path / "images-out.jsonl")
    assert sorted(pictures) == [1, 2] and all("output" in line for line in pictures.values()), pictures
    assert {line["url"] for line in emulator.lines} == {"/v4/embeddings", "/v4/images/generations"}


def test_the_international_platform_is_refused_before_anything_is_sent(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock)
    rows = write_rows(tmp_path / "rows.jsonl", [ask("Hello")])
    with pytest.raises(BatchError, match="mainland platform"):
        via_batch_api(
            host,
            emulator,
            clock,
            rows,
            tmp_path / "out.jsonl",
            connection={"token": KEY, "baseUrl": "https://api.z.ai/api/paas/v4"},
        )
    assert not emulator.uploads and not (tmp_path / "out.jsonl").exists()


def test_an_action_the_batch_api_does_not_take_is_refused(host, clock, tmp_path) -> None:
    rows = write_rows(tmp_path / "rows.jsonl", [{"model": "cogvideox-3", "prompt": "a cat"}])
    with pytest.raises(BatchError, match="no such way to run zhipu.generateVideo; it can run via: none"):
        via_batch_api(host, make_emulator(clock), clock, rows, tmp_path / "out.jsonl", action="generateVideo")


class Crash(BaseException):
    """The process dies here: nothing after this point runs (not an error anything catches)."""


class Crasher:
    """Makes a run die right after the platform answered its Nth call, or right before its Nth state write."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from zhipu_connector.zhipu import batch_api

        self.batch_api, self.monkeypatch = batch_api, monkeypatch
        self.real = {"request": batch_api.file_client.request, "download": batch_api.file_client.download}
        self.real_save = batch_api.save_state
        self.calls, self.saves = 0, 0

    def arm(self, point: tuple[str, int] | None) -> None:
        self.calls = self.saves = 0

        def wrap(name: str):
            def call(*args, **kwargs):
                result = self.real[name](*args, **kwargs)
                self.calls += 1
                if point == ("call", self.calls):
                    raise Crash
                return result

            return call

        def save(*args, **kwargs):
            self.saves += 1
            if point == ("save", self.saves):
                raise Crash
            return self.real_save(*args, **kwargs)

        self.monkeypatch.setattr(self.batch_api.file_client, "request", wrap("request"))
        self.monkeypatch.setattr(self.batch_api.file_client, "download", wrap("download"))
        self.monkeypatch.setattr(self.batch_api, "save_state", save)

    def points(self) -> list[tuple[str, int]]:
        """Every point of the run just done: each call, each save."""
        return [("call", n) for n in range(1, self.calls + 1)] + [("save", n) for n in range(1, self.saves + 1)]

    def disarm(self) -> None:
        self.monkeypatch.setattr(self.batch_api.file_client, "request", self.real["request"])
        self.monkeypatch.setattr(self.batch_api.file_client, "download", self.real["download"])
        self.monkeypatch.setattr(self.batch_api, "save_state", self.real_save)


CRASH_ROWS = [ask(f"Question {n}", m) for n in range(4) for m in ("glm-4-plus", "glm-4-air-250414")]


@pytest.mark.slow
def test_a_crash_at_every_step_then_a_restart_loses_nothing_and_submits_nothing_twice(
    host, clock, tmp_path, monkeypatch
) -> None:
    """Die right after each call the platform answered (before it is recorded), and right before
    each state write; then start again. Every row once, every row submitted once."""
    crasher = Crasher(monkeypatch)
    crasher.arm(None)
    rows = write_rows(tmp_path / "r.jsonl", CRASH_ROWS)
    via_batch_api(host, make_emulator(clock, batch_seconds=30), clock, rows, tmp_path / "o.jsonl")
    points = crasher.points()
    assert len(points) > 20
    for index, point in enumerate(points):
        folder = tmp_path / f"crash-{index}"
        folder.mkdir()
        rows, out = write_rows(folder / "rows.jsonl", CRASH_ROWS), folder / "out.jsonl"
        emulator = make_emulator(clock, batch_seconds=30)
        crasher.arm(point)
        with pytest.raises(Crash):
            via_batch_api(host, emulator, clock, rows, out)
        crasher.disarm()
        via_batch_api(host, emulator, clock, rows, out)
        got = results(out)
        assert sorted(got) == list(range(1, 9)) and all("output" in line for line in got.values()), point
        assert len(emulator.per_row) == 8 and set(emulator.per_row.values()) == {1}, point
        assert not state_path(out).exists() and not work_dir(out).exists(), point
        assert files_left(emulator) == [], point  # inputs deleted by the platform, results by the run


def _started_and_left_running(host, emulator, clock, rows: Path, out: Path) -> None:
    """A run stopped (Ctrl-C) after creating the first of its two batches, part-way through it."""
    with connections.configured(transport_factory=connections.InProcessTransports(emulator)):
        stop = threading.Event()
        run = BulkRun(state_path(out), work_dir(out), host.connection("zhipu", CONNECTION), stop=stop)
        run.report = lambda text: stop.set() if text.endswith("created") else None
        steps = BatchApiRun(host, "zhipu", "ask", rows, out, run)
        steps.start()
        steps.submit()
        clock.sleep(12)
        steps.poll()
        steps.close()


@pytest.mark.slow
def test_a_crash_at_every_step_of_a_cancel_then_a_restart_finishes_it(host, clock, tmp_path, monkeypatch) -> None:
    """A cancel killed anywhere is finished by the next start, with or without --cancel."""
    crasher = Crasher(monkeypatch)
    points: list[tuple[str, int]] | None = None
    index, rounds = 0, 0
    while points is None or index < len(points):
        rounds += 1
        folder = tmp_path / f"cancel-{rounds}"
        folder.mkdir()
        rows, out = write_rows(folder / "rows.jsonl", CRASH_ROWS), folder / "out.jsonl"
        emulator = make_emulator(clock, batch_seconds=30)
        _started_and_left_running(host, emulator, clock, rows, out)
        assert [part["batch"] is not None for part in json.loads(state_path(out).read_text())["parts"]] == [True, False]
        if points is None:  # the first time round: a cancel without a crash, to list its points
            crasher.arm(None)
            via_batch_api(host, emulator, clock, rows, out, cancel=True)
            points = crasher.points()
            crasher.disarm()
        else:
            crasher.arm(points[index])
            with pytest.raises(Crash):
                via_batch_api(host, emulator, clock, rows, out, cancel=True)
            crasher.disarm()
            via_batch_api(host, emulator, clock, rows, out)  # without --cancel: the state says it is cancelling
            index += 1
        got = results(out)
        assert sorted(got) == list(range(1, 9)), index
        assert all("output" in line or line["error"]["type"] == "BatchCancelledError" for line in got.values())
        assert set(emulator.per_row.values()) <= {1} and not state_path(out).exists(), index


def test_a_stop_while_the_files_are_built_sends_nothing_and_the_next_start_builds_again(host, clock, tmp_path) -> None:
    import threading

    emulator = make_emulator(clock, batch_seconds=30)
    rows = write_rows(tmp_path / "rows.jsonl", [ask(f"q{n}") for n in range(2500)])
    out = tmp_path / "out.jsonl"
    stop = threading.Event()
    stop.set()
    summary = via_batch_api(host, emulator, clock, rows, out, stop=stop)
    assert summary.interrupted and not emulator.uploads and state_path(out).exists()
    summary = via_batch_api(host, emulator, clock, rows, out)
    assert summary.succeeded == 2500 and len(results(out)) == 2500 and len(emulator.uploads) == 1


class RecordedProgress:
    def __init__(self) -> None:
        self.started: tuple[int | None, int] | None = None
        self.advances: list[bool] = []
        self.finished = False

    def start(self, total: int | None, already_done: int) -> None:
        self.started = (total, already_done)

    def advance(self, ok: bool) -> None:
        self.advances.append(ok)

    def finish(self, summary: Any) -> None:
        self.finished = True


def test_progress_moves_while_the_batches_run_and_counts_every_row_once(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock, batch_seconds=100)
    rows = write_rows(tmp_path / "rows.jsonl", [ask(f"q{n}") for n in range(30)] + [ask("new", "glm-4.7")])
    out = tmp_path / "out.jsonl"
    write_rows(out, [{"row": 1, "output": "done before"}])
    progress = RecordedProgress()
    seen_while_running: list[int] = []

    def sleep(seconds: float) -> None:
        seen_while_running.append(len(progress.advances))
        clock.sleep(seconds)

    via_batch_api(host, emulator, clock, rows, out, progress=progress, options={"sleep": sleep})
    assert progress.started == (31, 1) and progress.finished
    assert len(progress.advances) == 30 and progress.advances.count(False) == 1  # glm-4.7, refused
    assert any(0 < count < 30 for count in seen_while_running)  # the bar moved before the collection
    assert len(results(out)) == 31


def test_a_way_the_action_does_not_have_is_named_with_the_ways_it_has(host, clock, tmp_path) -> None:
    with pytest.raises(BatchError, match=r"--via nightly: .* it can run via: batch-api \(Zhipu's Batch API"):
        via_batch_api(
            host,
            make_emulator(clock),
            clock,
            write_rows(tmp_path / "r.jsonl", [ask("x")]),
            tmp_path / "o",
            via="nightly",
        )


def test_retry_errors_through_the_batch_api_sends_only_the_failed_rows_again(host, clock, tmp_path) -> None:
    rows = write_rows(tmp_path / "rows.jsonl", [ask(f"Question {n}") for n in range(6)])
    out = tmp_path / "out.jsonl"
    via_batch_api(host, make_emulator(clock, batch_seconds=30, fault="failed_lines;times=2"), clock, rows, out)
    failed = sorted(row for row, line in results(out).items() if "error" in line)
    assert len(failed) == 2
    again = make_emulator(clock, batch_seconds=30)
    summary = via_batch_api(host, again, clock, rows, out, retry_errors=True)
    assert summary.succeeded == 2 and summary.skipped == 4
    assert sorted(again.per_row) == [f"row-{row:06d}" for row in failed]
    assert all("output" in line for line in results(out).values()) and len(results(out)) == 6


def test_batches_the_platform_does_not_know_are_one_clear_error_and_the_state_is_kept(host, clock, tmp_path) -> None:
    rows, out = write_rows(tmp_path / "rows.jsonl", CRASH_ROWS), tmp_path / "out.jsonl"
    _started_and_left_running(host, make_emulator(clock, batch_seconds=30), clock, rows, out)
    with pytest.raises(BatchError, match="does not know batch .* the account that started the run"):
        via_batch_api(host, make_emulator(clock), clock, rows, out)  # another account, say
    assert state_path(out).exists() and not out.read_text()


def test_an_upload_answered_500_is_sent_again_whole(host, clock, tmp_path) -> None:
    emulator = make_emulator(clock, batch_seconds=30, fault="server_error", fault_first_requests=1)
    rows = write_rows(tmp_path / "rows.jsonl", [ask(f"Question {n}") for n in range(5)])
    waits: list[float] = []
    factory = connections.InProcessTransports(emulator)
    with connections.configured(transport_factory=factory, client_options={"sleep": waits.append}):
        summary = run_bulk(
            host,
            "batch-api",
            "zhipu",
            "ask",
            rows,
            tmp_path / "out.jsonl",
            connection=CONNECTION,
            options={"sleep": bounded(clock.sleep)},
            report=lambda text: None,
        )
    assert waits, "the 500 was not retried"
    assert summary.succeeded == 5 and len(emulator.uploads) == 1 and emulator.uploads[0][1] == 5
