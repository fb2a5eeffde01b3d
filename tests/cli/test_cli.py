"""The command line, driven as a user would: arguments in, stdout/stderr/exit status out."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from zhipu_connector import cli
from zhipu_connector.host import host as host_module

KEY = "abc123.topsecretvalue"


@pytest.fixture
def echo_default_host(echo_host, monkeypatch):
    monkeypatch.setattr(host_module, "_default", echo_host)
    return echo_host


def run_cli(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_validate_accepts_the_shipped_definition(capsys):
    status, out, _ = run_cli(capsys, "validate")
    assert status == 0 and out.startswith("ok: zhipu v1, actions: ask, createImage")


def test_validate_reports_every_error(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\ntitle: X\nversion: 1\nactions:\n  a:\n    title: A\n    properties:\n"
        "      p: {type: NUMBER, maxValue: 1, defaultValue: 2}\n      q: {type: STRING, controlType: NUMBER}\n"
        "    output: {type: STRING}\n"
    )
    status, out, err = run_cli(capsys, "validate", str(path))
    assert status == 1 and out == ""
    assert "control type NUMBER does not fit a STRING property" in err
    assert "Traceback" not in err


def test_describe_text_and_json(capsys):
    status, out, _ = run_cli(capsys, "describe")
    assert status == 0 and "action ask: Ask" in out and "token (STRING, required, secret)" in out
    status, out, _ = run_cli(capsys, "describe", "--json")
    described = json.loads(out)
    assert described["name"] == "zhipu" and [a["name"] for a in described["actions"]] == [
        "ask",
        "createImage",
        "createEmbeddings",
        "generateVideo",
        "createImageAsync",
        "getTaskResult",
    ]


def test_docs_prints_or_writes_the_reference_page(capsys, tmp_path):
    status, out, _ = run_cli(capsys, "docs")
    assert status == 0 and out.startswith('---\ntitle: "ZhiPu AI"')
    target = tmp_path / "zhipu.md"
    status, _, err = run_cli(capsys, "docs", "--output", str(target))
    assert status == 0 and target.read_text() == out and "wrote" in err


def test_schema_of_inputs_and_output(capsys):
    status, out, _ = run_cli(capsys, "schema", "ask")
    schema = json.loads(out)
    assert schema["properties"]["temperature"] == {
        "type": "number",
        "title": "Temperature",
        "description": schema["properties"]["temperature"]["description"],
        "minimum": 0,
        "maximum": 1,
    }
    assert schema["required"] == ["model"]
    status, out, _ = run_cli(capsys, "schema", "createImage", "--output-schema")
    assert json.loads(out)["properties"]["data"]["items"]["required"] == ["url"]
    status, _, err = run_cli(capsys, "schema", "zhipu.paint")
    assert status == 1 and "zhipu has no action 'paint'" in err
    status, _, err = run_cli(capsys, "schema", "paint")
    assert status == 1 and "no component offers an action 'paint'" in err


def test_run_takes_inputs_from_every_source(capsys, echo_default_host, tmp_path):
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("text: from file\ntimes: 3\n")
    status, out, _ = run_cli(
        capsys,
        "run",
        "echo.shout",
        "--input-file",
        str(inputs),
        "--input",
        '{"text": "ab"}',
        "-i",
        "loud=true",
        "-c",
        f"apiKey={KEY}",
    )
    assert status == 0 and json.loads(out) == {"text": "ABABAB", "length": 6}


def test_run_reads_the_key_from_the_variable_the_component_declares(capsys, echo_default_host, monkeypatch):
    from connectors import echo

    monkeypatch.setenv("ECHO_API_KEY", KEY)
    status, out, _ = run_cli(capsys, "run", "echo/v1/shout", "-i", "text=hi")
    assert status == 0 and json.loads(out)["text"] == "hi"
    assert echo.calls[-1]["connection"]["apiKey"].reveal() == KEY


def test_another_connector_s_variable_is_never_read(capsys, echo_default_host, monkeypatch):
    monkeypatch.delenv("ECHO_API_KEY", raising=False)
    monkeypatch.setenv("ZHIPUAI_API_KEY", KEY)
    status, _, err = run_cli(capsys, "run", "echo.shout", "-i", "text=hi")
    assert status == 1 and "apiKey: API key is required" in err and KEY not in err


def test_shorthand_options_set_only_properties_the_component_declares(capsys, echo_default_host):
    status, out, err = run_cli(capsys, "run", "echo.shout", "-i", "text=hi", "--token", KEY)
    assert status == 1 and out == "" and KEY not in err
    assert "--token: echo declares no connection property 'token' (its properties: apiKey, region)" in err
    status, _, err = run_cli(capsys, "run", "echo.shout", "-i", "text=hi", "-c", f"zhipu.token={KEY}")
    assert status == 1 and "names zhipu, but the action belongs to echo" in err and KEY not in err


def test_a_connection_value_is_typed_by_its_property(capsys, echo_default_host):
    from connectors import echo

    status, _, _ = run_cli(capsys, "run", "echo.shout", "-i", "text=hi", "-c", "apiKey=123.456")
    assert status == 0 and echo.calls[-1]["connection"]["apiKey"].reveal() == "123.456"  # text, not a number


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--input", "{not json"],
            "--input: not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2",
        ),
        (["--input", "[1, 2]"], "--input: must be a JSON object, not list"),
        (["-i", "novalue"], "-i: 'novalue' is not KEY=VALUE"),
        (["-i", "times=9", "-i", "text=x"], "times: Times: 9 is greater than the maximum of 5"),
        (["-i", "text=x", "-i", "colour=red"], "colour: unknown key 'colour'"),
        (["--input-file", "/nonexistent/inputs.json"], "--input-file: cannot read /nonexistent/inputs.json"),
    ],
)
def test_run_rejects_bad_input_with_one_clear_message(capsys, echo_default_host, argv, message):
    status, out, err = run_cli(capsys, "run", "echo.shout", "-c", f"apiKey={KEY}", *argv)
    assert status == 1 and out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_the_token_never_appears_in_errors(capsys, echo_default_host):
    status, _, err = run_cli(capsys, "run", "echo.broken", "-i", "mode=crash", "-c", f"apiKey={KEY}")
    assert status == 1 and KEY not in err and "********" in err


def test_a_missing_token_is_named(capsys, echo_default_host, monkeypatch):
    monkeypatch.delenv("ECHO_API_KEY", raising=False)
    status, _, err = run_cli(capsys, "run", "echo.shout", "-i", "text=x")
    assert status == 1 and "apiKey: API key is required" in err


def test_unknown_actions_are_clear(capsys, echo_default_host):
    status, _, err = run_cli(capsys, "run", "echo.whisper", "-c", f"apiKey={KEY}")
    assert status == 1 and "echo has no action 'whisper'" in err


@pytest.mark.parametrize(
    "command",
    [
        "validate",
        "describe",
        "docs",
        "schema",
        "run",
        "connection",
        "emulator",
        "form",
        "serve",
        "workflow",
        "batch",
        "demo",
    ],
)
def test_every_command_has_help(command):
    listed = subprocess.run([sys.executable, "-m", "zhipu_connector.cli", "--help"], capture_output=True, text=True)
    assert command in listed.stdout
    result = subprocess.run(
        [sys.executable, "-m", "zhipu_connector.cli", command, "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "usage: zhipu-connector" in result.stdout


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["schema"])
    assert caught.value.code == 2
    assert cli.main([]) == 2
