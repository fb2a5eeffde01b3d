"""`zhipu-connector workflow check|run` and `batch`, driven through `main()` as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zhipu_connector.cli import main

SHOUT = """
label: Shout twice
inputs:
  - {name: word, required: true}
  - {name: times, type: integer, defaultValue: 1}
tasks:
  - {name: shout_1, type: echo/v1/shout, label: Shout it, parameters: {text: "${word}", times: "${times}"}}
  - {name: nap_1, type: flaky/v1/nap, parameters: {warning: "tired after ${shout_1.text}"}}
  - {name: log_1, type: core/v1/logger, parameters: {message: "${shout_1.text} / ${nap_1.items[1].name}"}}
"""


@pytest.fixture(autouse=True)
def test_host_as_default(monkeypatch, workflow_host):
    monkeypatch.setattr("zhipu_connector.host.host._default", workflow_host)
    monkeypatch.delenv("ZHIPUAI_API_KEY", raising=False)


def write(tmp_path: Path, text: str, name: str = "wf.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_passes_a_sound_workflow(tmp_path, capsys):
    assert main(["workflow", "check", write(tmp_path, SHOUT)]) == 0
    assert capsys.readouterr().out == "ok: Shout twice: 3 task(s), 2 input(s)\n"


def test_check_lists_every_problem_and_fails(tmp_path, capsys):
    broken = SHOUT.replace("${word}", "${wrd}").replace("flaky/v1/nap", "flaky/v3/nap")
    assert main(["workflow", "check", write(tmp_path, broken)]) == 1
    err = capsys.readouterr().err
    assert "invalid workflow (2 problems)" in err
    assert "tasks[0].parameters.text: ${wrd}: no task or input is named 'wrd'" in err
    assert "tasks[1].type: flaky is registered at version 1, not 3" in err


def test_run_prints_each_task_on_stderr_and_the_results_as_json(tmp_path, capsys):
    code = main(
        [
            "workflow",
            "run",
            write(tmp_path, SHOUT),
            "-i",
            "word=007",
            "-i",
            "times=2",
            "-c",
            "echo.apiKey=echo-secret-key-42",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out)
    assert result["tasks"]["shout_1"] == {"text": "007007", "length": 6}  # a text input keeps "007" as written
    assert result["tasks"]["log_1"] == "007007 / second"
    assert result["warnings"] == {"nap_1": ["tired after 007007"]}
    lines = captured.err.splitlines()
    assert "[1/3] shout_1 echo/v1/shout — Shout it" in lines
    assert "[2/3] nap_1 flaky/v1/nap" in lines
    assert "      warning: tired after 007007" in lines
    assert "echo-secret-key-42" not in captured.out + captured.err


def test_run_takes_inputs_from_a_file_and_writes_the_results_to_a_file(tmp_path, capsys):
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("word: hey\ntimes: 3\n")
    output = tmp_path / "result.json"
    code = main(
        [
            "workflow",
            "run",
            write(tmp_path, SHOUT),
            "--input-file",
            str(inputs),
            "--output",
            str(output),
            "-c",
            "apiKey=echo-secret-key-42",
        ]
    )
    assert code == 0
    assert json.loads(output.read_text())["tasks"]["shout_1"]["text"] == "heyheyhey"
    assert capsys.readouterr().out == ""


def test_run_takes_connections_per_component_from_a_file(tmp_path, capsys):
    connections = tmp_path / "connections.json"
    connections.write_text(json.dumps({"echo": {"apiKey": "from-a-file-123", "region": "asia"}}))
    assert main(["workflow", "run", write(tmp_path, SHOUT), "-i", "word=a", "--connections", str(connections)]) == 0
    from connectors import echo

    assert echo.calls[-1]["connection"]["region"] == "asia"


def test_a_typed_input_that_is_not_json_is_refused_before_running(tmp_path, capsys):
    assert (
        main(["workflow", "run", write(tmp_path, SHOUT), "-i", "word=a", "-i", "times=three", "-c", "apiKey=k-1234567"])
        == 1
    )
    assert "inputs.times: times must be INTEGER written as JSON, not 'three'" in capsys.readouterr().err


def test_missing_inputs_and_connection_are_reported_together(tmp_path, capsys):
    assert main(["workflow", "run", write(tmp_path, SHOUT)]) == 1
    err = capsys.readouterr().err
    assert "inputs.word: word is required" in err and "connections.echo.apiKey: API key is required" in err


def test_a_failed_run_prints_the_outputs_so_far_and_the_error(tmp_path, capsys):
    failing = SHOUT.replace(
        'flaky/v1/nap, parameters: {warning: "tired after ${shout_1.text}"}',
        "echo/v1/broken, parameters: {mode: crash}",
    ).replace("${nap_1.items[1].name}", "x")
    code = main(["workflow", "run", write(tmp_path, failing), "-i", "word=a", "-c", "echo.apiKey=echo-secret-key-42"])
    captured = capsys.readouterr()
    assert code == 1
    result = json.loads(captured.out)
    assert result["tasks"] == {"shout_1": {"text": "a", "length": 1}}
    assert result["error"]["task"] == "nap_1" and result["error"]["cause"]["type"] == "HandlerCrashedError"
    assert "error: task nap_1 (tasks[1], echo/v1/broken) failed" in captured.err
    assert "      failed: echo.broken failed unexpectedly" in captured.err
    assert "echo-secret-key-42" not in captured.out + captured.err


def test_batch_runs_an_action_over_rows(tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": 1}\n{"id": 2}\n')
    out = tmp_path / "out.jsonl"
    assert main(["batch", "flaky.nap", "--rows", str(rows), "--out", str(out), "--concurrency", "2"]) == 0
    assert sorted(json.loads(line)["row"] for line in out.read_text().splitlines()) == [1, 2]
    err = capsys.readouterr().err
    assert "batch: 2/2 rows done, 0 failed" in err
    assert "batch done: 2 succeeded, 0 failed, 0 already in" in err


def test_batch_exits_1_when_a_row_failed_and_0_once_nothing_is_left(tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"key": "a", "failures": 1}\n')
    out = tmp_path / "out.jsonl"
    assert main(["batch", "flaky/v1/sometimes", "--rows", str(rows), "--out", str(out), "--no-progress"]) == 1
    assert (
        main(["batch", "flaky.sometimes", "--rows", str(rows), "--out", str(out), "--no-progress", "--retry-errors"])
        == 0
    )
    assert [json.loads(line) for line in out.read_text().splitlines()] == [{"row": 1, "output": {"attempts": 2}}]
