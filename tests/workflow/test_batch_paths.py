"""A batch checks where its results go before any row runs, and trusts no results line blindly."""

from __future__ import annotations

import asyncio
import json
import tracemalloc

import pytest
from connectors import echo

from zhipu_connector.workflow.batch import BatchError, run_batch

ECHO = {"apiKey": "echo-key-0123456789"}


def rows_file(tmp_path, count=3):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"text": f"row {n}", "times": 1}) + "\n" for n in range(count)))
    return rows


def batch(host, rows, out):
    return asyncio.run(run_batch(host, "echo", "shout", rows, out, concurrency=2, connection=ECHO))


@pytest.mark.parametrize("row", [10_000_000_000, 10**30])
def test_a_results_line_naming_a_row_the_rows_file_cannot_have_is_refused(workflow_host, tmp_path, row):
    rows, out = rows_file(tmp_path), tmp_path / "results.jsonl"
    out.write_text(json.dumps({"row": 1, "output": {}}) + "\n" + json.dumps({"row": row, "output": {}}) + "\n")
    tracemalloc.start()
    try:
        with pytest.raises(BatchError, match="line 2 is the result of row .*rows file has 3 line"):
            batch(workflow_host, rows, out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 1024 * 1024  # refused without allocating a bit per row up to 10¹⁰
    assert echo.calls == []


def test_a_directory_as_the_results_file_is_refused_before_any_row_runs(workflow_host, tmp_path):
    with pytest.raises(BatchError, match="is a directory"):
        batch(workflow_host, rows_file(tmp_path), tmp_path)
    assert echo.calls == []


def test_a_results_file_in_a_missing_directory_is_refused_before_any_row_runs(workflow_host, tmp_path):
    with pytest.raises(BatchError, match="does not exist"):
        batch(workflow_host, rows_file(tmp_path), tmp_path / "nodir" / "results.jsonl")
    assert echo.calls == []


def test_the_last_row_of_a_file_without_a_final_newline_still_counts(workflow_host, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"text": "a", "times": 1}) + "\n" + json.dumps({"text": "b", "times": 1}))
    out = tmp_path / "results.jsonl"
    out.write_text(json.dumps({"row": 2, "output": {"text": "b", "length": 1}}) + "\n")
    summary = batch(workflow_host, rows, out)
    assert summary.skipped == 1 and summary.succeeded == 1
