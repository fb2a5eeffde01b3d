"""Batch runs in process: one line per row, resume, retries of errors, stopping, flat memory."""

from __future__ import annotations

import asyncio
import io
import json
import tracemalloc
from pathlib import Path

import pytest

from zhipu_connector.workflow.batch import (
    BatchError,
    BatchStop,
    DoneRows,
    process_rows,
    read_done_rows,
    run_batch,
)
from zhipu_connector.workflow.progress import BarProgress, LineProgress, make_progress


def flaky():
    from workflow import flaky as module

    return module


def write_rows(path: Path, rows: list) -> Path:
    path.write_text(
        "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows), encoding="utf-8"
    )
    return path


def results(path: Path) -> list[dict]:
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", "the file must end with a whole line"
    return [json.loads(line) for line in lines[:-1]]


def by_row(path: Path) -> dict[int, dict]:
    records = results(path)
    rows = [r["row"] for r in records]
    assert len(rows) == len(set(rows)), f"a row has two result lines: {rows}"
    return {r["row"]: r for r in records}


def batch(host, action, rows, out, **options):
    component, _, name = action.partition(".")
    return asyncio.run(run_batch(host, component, name, rows, out, **options))


def test_every_row_gets_one_result_line(workflow_host, tmp_path):
    rows = write_rows(tmp_path / "rows.jsonl", [{"id": n} for n in range(1, 11)])
    summary = batch(workflow_host, "flaky.nap", rows, tmp_path / "out.jsonl", concurrency=3)
    found = by_row(tmp_path / "out.jsonl")
    assert sorted(found) == list(range(1, 11))
    assert all(found[n]["output"]["id"] == n for n in found)
    assert (summary.rows, summary.succeeded, summary.failed, summary.skipped, summary.interrupted) == (
        10,
        10,
        0,
        0,
        False,
    )


def test_malformed_lines_become_error_lines_not_a_crash(workflow_host, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_bytes(b'{"id": 1}\n\nnot json\n[1, 2]\n{"id": "x"}\n\xff\xfe\n{"id": 7}\n')
    summary = batch(workflow_host, "flaky.nap", rows, tmp_path / "out.jsonl")
    found = by_row(tmp_path / "out.jsonl")
    assert sorted(found) == [1, 3, 4, 5, 6, 7]  # row numbers are line numbers; the blank line 2 is no row
    assert found[1]["output"]["id"] == 1 and found[7]["output"]["id"] == 7
    assert found[3]["error"]["message"].startswith(
        "invalid inputs (1 problem)\n  - row 3 is not valid JSON: Expecting value"
    )
    assert "row 4 must be a JSON object of inputs, not list" in found[4]["error"]["message"]
    assert found[5]["error"]["type"] == "InputValidationError" and found[5]["error"]["problems"][0]["location"] == "id"
    assert "row 6 is not UTF-8 text" in found[6]["error"]["message"]
    assert (summary.succeeded, summary.failed) == (2, 4)


def test_a_rerun_after_a_crash_cuts_the_torn_line_and_does_exactly_the_missing_rows(workflow_host, tmp_path):
    rows = write_rows(tmp_path / "rows.jsonl", [{"id": n} for n in range(1, 21)])
    out = tmp_path / "out.jsonl"
    batch(workflow_host, "flaky.nap", rows, out)
    complete = out.read_bytes().splitlines(keepends=True)
    kept = complete[:12]
    out.write_bytes(b"".join(kept) + complete[12][: len(complete[12]) // 2])  # killed mid-write
    done_before = {json.loads(line)["row"] for line in kept}
    flaky().reset()

    summary = batch(workflow_host, "flaky.nap", rows, out)

    assert sorted(c["id"] for c in flaky().calls) == sorted(set(range(1, 21)) - done_before)
    assert sorted(by_row(out)) == list(range(1, 21))
    assert (summary.skipped, summary.succeeded) == (12, 8)


def test_retry_errors_runs_the_failed_rows_again(workflow_host, tmp_path):
    rows = write_rows(tmp_path / "rows.jsonl", [{"key": f"k{n}", "failures": n % 2} for n in range(1, 7)])
    out = tmp_path / "out.jsonl"
    first = batch(workflow_host, "flaky.sometimes", rows, out)
    assert (first.succeeded, first.failed) == (3, 3)
    assert by_row(out)[1]["error"] == {
        "type": "ActionFailedError",
        "message": by_row(out)[1]["error"]["message"],
        "status": 503,
        "code": "1305",
        "requestId": by_row(out)[1]["error"]["requestId"],
    }

    plain_rerun = batch(workflow_host, "flaky.sometimes", rows, out)
    assert (plain_rerun.skipped, plain_rerun.processed) == (6, 0)

    retried = batch(workflow_host, "flaky.sometimes", rows, out, retry_errors=True)
    assert (retried.skipped, retried.succeeded, retried.failed) == (3, 3, 0)
    found = by_row(out)
    assert sorted(found) == list(range(1, 7)) and all("output" in record for record in found.values())


def test_a_results_file_that_is_not_ours_is_refused(workflow_host, tmp_path):
    rows = write_rows(tmp_path / "rows.jsonl", [{"id": 1}])
    out = tmp_path / "out.jsonl"
    out.write_text('{"row": 1, "output": 1}\n{"name": "something else"}\n')
    with pytest.raises(BatchError, match="out.jsonl line 2 is not a result line"):
        batch(workflow_host, "flaky.nap", rows, out)
    with pytest.raises(BatchError, match="must not be the rows file"):
        batch(workflow_host, "flaky.nap", rows, rows)
    with pytest.raises(BatchError, match="no such file"):
        batch(workflow_host, "flaky.nap", tmp_path / "missing.jsonl", out)
    with pytest.raises(BatchError, match="at least 1"):
        batch(workflow_host, "flaky.nap", rows, tmp_path / "new.jsonl", concurrency=0)


def test_concurrency_bounds_the_rows_in_flight(workflow_host, tmp_path):
    rows = write_rows(tmp_path / "rows.jsonl", [{"id": n, "seconds": 0.02} for n in range(30)])
    batch(workflow_host, "flaky.nap", rows, tmp_path / "out.jsonl", concurrency=4)
    assert flaky().most_in_flight == 4


class CountingWriter:
    def __init__(self) -> None:
        self.written = 0

    def write(self, record: dict) -> None:
        self.written += 1


def test_rows_are_pulled_only_when_a_slot_is_free(workflow_host):
    """A rows source far larger than the bound is never read ahead of the results."""
    writer = CountingWriter()
    concurrency, total = 5, 20_000
    most_ahead = 0

    def rows():
        nonlocal most_ahead
        for number in range(1, total + 1):
            most_ahead = max(most_ahead, number - writer.written)
            yield number, b'{"id": 1}'

    summary = asyncio.run(process_rows(workflow_host, "flaky", "nap", rows(), writer, concurrency=concurrency))
    assert writer.written == total and summary.succeeded == total
    assert most_ahead <= concurrency + 1


def test_memory_stays_flat_however_many_rows(workflow_host, tmp_path):
    """Ten times the rows (of 2 KB each) may not cost more memory at the peak."""

    def peak(count: int) -> int:
        rows = write_rows(tmp_path / f"rows{count}.jsonl", [{"template": "x" * 2000} for _ in range(count)])
        out = tmp_path / f"out{count}.jsonl"
        tracemalloc.start()
        batch(workflow_host, "core.textTemplate", rows, out, concurrency=8)
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(results(out)) == count
        return high

    small, large = peak(300), peak(3000)
    assert large < small * 1.5 + 512 * 1024, (small, large)


def test_a_stop_request_lets_rows_in_flight_finish_and_starts_no_more(workflow_host, tmp_path):
    rows = write_rows(tmp_path / "rows.jsonl", [{"id": n, "seconds": 0.2} for n in range(1, 21)])
    out = tmp_path / "out.jsonl"
    stop = BatchStop()

    async def main():
        running = asyncio.create_task(run_batch(workflow_host, "flaky", "nap", rows, out, concurrency=4, stop=stop))
        await asyncio.sleep(0.1)
        stop.request()
        return await running

    summary = asyncio.run(main())
    assert summary.interrupted and summary.succeeded == 4 and summary.failed == 0
    assert sorted(by_row(out)) == [1, 2, 3, 4]
    flaky().reset()
    rest = batch(workflow_host, "flaky.nap", rows, out, concurrency=8)
    assert sorted(c["id"] for c in flaky().calls) == list(range(5, 21))
    assert sorted(by_row(out)) == list(range(1, 21)) and not rest.interrupted


def test_a_second_stop_request_cancels_rows_in_flight_and_writes_nothing_for_them(workflow_host, tmp_path):
    rows = write_rows(
        tmp_path / "rows.jsonl", [{"id": 1, "seconds": 0}] + [{"id": n, "seconds": 30} for n in range(2, 6)]
    )
    out = tmp_path / "out.jsonl"
    stop = BatchStop()

    async def main():
        running = asyncio.create_task(run_batch(workflow_host, "flaky", "nap", rows, out, concurrency=4, stop=stop))
        await asyncio.sleep(0.2)
        stop.request()
        stop.request()
        return await asyncio.wait_for(running, 5)

    summary = asyncio.run(main())
    assert summary.interrupted and sorted(by_row(out)) == [1]


def test_cancelling_keeps_the_result_of_a_sync_row_that_finished_anyway(workflow_host, tmp_path):
    """A worker thread cannot be stopped; its row is not lost when it finishes after the request."""
    rows = write_rows(tmp_path / "rows.jsonl", [{"id": n, "seconds": 0.3} for n in range(1, 7)])
    out = tmp_path / "out.jsonl"
    stop = BatchStop()

    async def main():
        running = asyncio.create_task(run_batch(workflow_host, "flaky", "snooze", rows, out, concurrency=2, stop=stop))
        await asyncio.sleep(0.1)
        stop.request()
        stop.request()
        return await running

    summary = asyncio.run(main())
    assert summary.interrupted and summary.succeeded == 2
    assert {row: record["output"] for row, record in by_row(out).items()} == {1: 1, 2: 2}


def test_cancelling_the_batch_leaves_only_whole_lines(workflow_host, tmp_path):
    rows = write_rows(tmp_path / "rows.jsonl", [{"id": n, "seconds": 0.01 * (n % 5)} for n in range(200)])
    out = tmp_path / "out.jsonl"

    async def main():
        running = asyncio.create_task(run_batch(workflow_host, "flaky", "nap", rows, out, concurrency=8))
        await asyncio.sleep(0.1)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    asyncio.run(main())
    written = by_row(out)
    assert 0 < len(written) < 200


def test_done_rows_are_one_bit_each():
    done = DoneRows()
    for row in (1, 8, 9, 1_000_000, 8):
        done.add(row)
    assert done.count == 4 and 8 in done and 1_000_000 in done and 2 not in done and -1 not in done
    assert len(done._bits) < 1_000_000 // 8 + 2048


def test_reading_done_rows_of_a_missing_file_is_empty(tmp_path):
    assert read_done_rows(tmp_path / "nothing.jsonl").count == 0


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere(workflow_host, tmp_path):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(make_progress(Terminal()), BarProgress)
    assert isinstance(make_progress(io.StringIO()), LineProgress)

    rows = write_rows(tmp_path / "rows.jsonl", [{"id": 1}, "broken", {"id": 3}])
    for stream, progress in ((io.StringIO(), None), (Terminal(), None)):
        progress = make_progress(stream)
        batch(workflow_host, "flaky.nap", rows, tmp_path / f"out-{type(progress).__name__}.jsonl", progress=progress)
        text = stream.getvalue()
        if isinstance(progress, LineProgress):
            assert text.splitlines() == ["batch: 3 rows", "batch: 3/3 rows done, 1 failed"]
        else:
            assert "3/3" in text and "failed=1" in text


def test_a_result_line_reads_back_as_the_record_and_masks_a_secret_in_any_spelling(tmp_path):
    from zhipu_connector.host.secrets import MASK, register_secret
    from zhipu_connector.workflow.batch import ResultWriter

    secret = 'k3y"with\\quote\ttab-0123456789'
    register_secret(secret, transient=True)
    record = {
        "row": 7,
        "output": {
            "vector": [1e-05, 1e300, -0.0, 0.1, 2.5e-320, 123456789.125],
            "count": 10**40,
            "text": "é \u2028 \u0001 \U0001f600 done",
            "quoted": f"the key was {secret}",
        },
    }
    writer = ResultWriter(tmp_path / "out.jsonl")
    writer.write(record)
    writer.close()
    line = (tmp_path / "out.jsonl").read_bytes()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    read = json.loads(line)
    assert read["output"]["quoted"] == f"the key was {MASK}"  # the JSON-escaped spelling was masked
    del read["output"]["quoted"], record["output"]["quoted"]
    assert read == record
    assert "é" in line.decode("utf-8")  # written as UTF-8, not \\u-escaped
