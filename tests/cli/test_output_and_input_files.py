"""Files a command reads are bounded, and files it writes are checked before any work is done.

Reproductions: `workflow run --output nodir/out.json` ran (and billed) every task, then
crashed and lost the results; `docs --output nodir/…`, `demo --output-dir <a file>` and
`batch --out <a directory>` failed the same way; `--input-file /dev/zero` read until memory
ran out.
"""

from __future__ import annotations

import io
import json
import sys

import pytest
from connectors import echo

from zhipu_connector import Host, cli
from zhipu_connector.host import host as host_module

WORKFLOW = """
label: Shout once
tasks:
  - {name: shout_1, type: echo/v1/shout, parameters: {text: "hi", times: 1}}
"""


@pytest.fixture
def echo_host(monkeypatch):
    host = Host(default_plugins=["zhipu_connector.core.plugin"], entry_points=False, extra_plugins=[echo])
    monkeypatch.setattr(host_module, "_default", host)
    monkeypatch.setenv("ECHO_API_KEY", "echo-key-0123456789")
    echo.calls.clear()
    yield host
    echo.calls.clear()


def test_workflow_run_refuses_an_output_in_a_missing_directory_before_any_task_runs(echo_host, tmp_path, capsys):
    workflow = tmp_path / "w.yaml"
    workflow.write_text(WORKFLOW)
    code = cli.main(["workflow", "run", str(workflow), "--output", str(tmp_path / "nodir" / "out.json")])
    assert code == cli.EXIT_FAILED and echo.calls == []
    assert "--output" in capsys.readouterr().err


def test_results_that_cannot_be_written_after_the_run_are_printed_not_lost(echo_host, tmp_path, capsys, monkeypatch):
    from zhipu_connector.workflow import cli as workflow_cli

    workflow = tmp_path / "w.yaml"
    workflow.write_text(WORKFLOW)
    monkeypatch.setattr(workflow_cli, "check_output_file", lambda path, option: None)  # the folder vanishes later
    code = cli.main(["workflow", "run", str(workflow), "--output", str(tmp_path / "gone" / "out.json")])
    captured = capsys.readouterr()
    assert code == cli.EXIT_FAILED and len(echo.calls) == 1
    assert json.loads(captured.out)["tasks"]["shout_1"] == {"text": "hi", "length": 2}
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "they are printed above" in errors[0]


def test_docs_refuses_an_output_in_a_missing_directory(tmp_path, capsys):
    assert cli.main(["docs", "--output", str(tmp_path / "nodir" / "zhipu.md")]) == cli.EXIT_FAILED
    assert "does not exist" in capsys.readouterr().err


def test_demo_refuses_an_output_dir_that_is_a_file(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert cli.main(["demo", "--output-dir", str(a_file)]) == cli.EXIT_FAILED
    assert "is a file, not a directory" in capsys.readouterr().err
    assert a_file.read_text() == "x"


def test_batch_refuses_a_directory_as_its_results_file(echo_host, tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"text": "a", "times": 1}) + "\n")
    assert cli.main(["batch", "echo.shout", "--rows", str(rows), "--out", str(tmp_path), "--no-progress"]) == 1
    assert "is a directory" in capsys.readouterr().err and echo.calls == []


def test_an_endless_input_file_stops_at_the_limit(echo_host, capsys):
    assert cli.main(["run", "echo.shout", "--input-file", "/dev/zero"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "--input-file" in err and "over the limit of 1048576 bytes" in err
    assert echo.calls == []


def test_stdin_as_the_input_file_is_bounded_too(echo_host, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"text": "' + b"x" * 2_000_000 + b'"}')))
    assert cli.main(["run", "echo.shout", "--input-file", "-"]) == cli.EXIT_FAILED
    assert "over the limit" in capsys.readouterr().err


def test_a_small_input_file_from_stdin_still_works(echo_host, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"text": "yo", "times": 2}')))
    assert cli.main(["run", "echo.shout", "--input-file", "-"]) == 0
    assert json.loads(capsys.readouterr().out) == {"text": "yoyo", "length": 4}
