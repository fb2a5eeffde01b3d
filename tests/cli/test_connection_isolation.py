"""The Zhipu key, exported as the README says, never reaches another connector.

A workflow (or a form page) holds two components: zhipu, whose definition names
`ZHIPUAI_API_KEY` and `ZHIPUAI_BASE_URL`, and the echo test connector, which names
`ECHO_API_KEY`. With the Zhipu variables set, every command gives zhipu its key and echo
nothing of it: not in its connection, not in what it prints.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from connectors import echo

from zhipu_connector import Host, cli
from zhipu_connector.host import host as host_module
from zhipu_connector.host.secrets import Secret

ZHIPU_KEY = "zhipu77.zhipuSecretThatStaysHome"
ECHO_KEY = "echo42.echoOwnSecretValue"
TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent

WORKFLOW = """
label: Ask, then shout
tasks:
  - {name: ask_1, type: zhipu/v1/ask, parameters: {format: SIMPLE, model: glm-4-flash, userPrompt: Hello}}
  - {name: shout_1, type: echo/v1/shout, parameters: {text: "${ask_1}"}}
"""


@pytest.fixture(scope="module")
def emulator():
    from zhipu_connector.emulator import EmulatorConfig, running_emulator

    with running_emulator(EmulatorConfig(api_keys=frozenset({ZHIPU_KEY}))) as base_url:
        yield base_url


@pytest.fixture
def zhipu_environment(emulator, monkeypatch):
    monkeypatch.setenv("ZHIPUAI_API_KEY", ZHIPU_KEY)
    monkeypatch.setenv("ZHIPUAI_BASE_URL", emulator)
    monkeypatch.delenv("ECHO_API_KEY", raising=False)
    host = Host(default_plugins=["zhipu_connector.zhipu.plugin"], entry_points=False, extra_plugins=[echo])
    monkeypatch.setattr(host_module, "_default", host)
    echo.calls.clear()
    return emulator


def revealed(connection) -> dict:
    return {key: value.reveal() if isinstance(value, Secret) else value for key, value in connection.items()}


def assert_echo_saw_no_zhipu_key(expected_key: str | None = ECHO_KEY) -> None:
    assert echo.calls, "echo ran"
    for call in echo.calls:
        values = revealed(call["connection"])
        assert ZHIPU_KEY not in json.dumps(values) and "zhipuSecretThatStaysHome" not in json.dumps(values)
        assert values["apiKey"] == expected_key


def run_cli(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_run(zhipu_environment, capsys):
    status, out, _ = run_cli(
        capsys, "run", "zhipu.ask", "-i", "format=SIMPLE", "-i", "model=glm-4-flash", "-i", "userPrompt=Hi"
    )
    assert status == 0 and json.loads(out), "zhipu got its key and base URL from the variables it declares"
    status, _, err = run_cli(capsys, "run", "echo.shout", "-i", "text=hi")
    assert status == 1 and "apiKey: API key is required" in err and ZHIPU_KEY not in err
    status, out, _ = run_cli(capsys, "run", "echo.shout", "-i", "text=hi", "-c", f"apiKey={ECHO_KEY}")
    assert status == 0 and ZHIPU_KEY not in out
    assert_echo_saw_no_zhipu_key()


def test_workflow_run(zhipu_environment, capsys, tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text(WORKFLOW)
    status, _, err = run_cli(capsys, "workflow", "run", str(path))
    assert status == 1 and "connections.echo.apiKey: API key is required" in err and ZHIPU_KEY not in err
    assert not echo.calls, "nothing ran"
    status, out, err = run_cli(capsys, "workflow", "run", str(path), "-c", f"echo.apiKey={ECHO_KEY}")
    assert status == 0, err
    assert json.loads(out)["tasks"]["shout_1"]["length"] > 0
    assert ZHIPU_KEY not in out + err
    assert_echo_saw_no_zhipu_key()


def test_a_bare_key_goes_only_to_the_component_that_declares_it(zhipu_environment, capsys, tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text(WORKFLOW)
    status, _, err = run_cli(capsys, "workflow", "run", str(path), "-c", f"apiKey={ECHO_KEY}")
    assert status == 0, err
    assert_echo_saw_no_zhipu_key()


def test_batch(zhipu_environment, capsys, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"text": "one"}\n{"text": "two"}\n')
    out = tmp_path / "out.jsonl"
    status, _, err = run_cli(capsys, "batch", "echo.shout", "--rows", str(rows), "--out", str(out), "--no-progress")
    assert status == 1 and "apiKey: API key is required" in err and not echo.calls
    status, _, err = run_cli(
        capsys,
        "batch",
        "echo.shout",
        "--rows",
        str(rows),
        "--out",
        str(out),
        "--no-progress",
        "-c",
        f"apiKey={ECHO_KEY}",
    )
    assert status == 0, err
    assert len(echo.calls) == 2 and ZHIPU_KEY not in out.read_text() + err
    assert_echo_saw_no_zhipu_key()


# ---------------------------------------------------------------- serve, the real command

SERVE = (
    "import sys; sys.path.insert(0, {tests!r})\n"
    "import zhipu_connector.host.plugins as plugins\n"
    "plugins.DEFAULT_PLUGINS = ('zhipu_connector.zhipu.plugin', 'connectors.echo')\n"
    "from zhipu_connector.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _serve(tmp_path: Path, env: dict, *extra: str):
    log = tmp_path / "serve.log"
    sink = log.open("w")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE.format(tests=str(TESTS)), "serve", "--port", "0", *extra],
        stdout=sink,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1", "ZHIPU_CONNECTOR_LOAD_PLUGINS": ""},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"Forms at (http://127\.0\.0\.1:\d+)/", log.read_text())
        if match:
            return server, match.group(1), log
        if server.poll() is not None:
            break
        time.sleep(0.05)
    server.kill()
    raise AssertionError(f"serve did not start:\n{log.read_text()}")


def _stop(server) -> None:
    server.send_signal(signal.SIGINT)
    server.wait(timeout=20)


@pytest.mark.slow
@pytest.mark.parametrize("extra", [(), ("--emulator",)], ids=["environment", "emulator"])
def test_serve(emulator, tmp_path, extra):
    env = {key: value for key, value in os.environ.items() if key != "ECHO_API_KEY"}
    env.update(ZHIPUAI_API_KEY=ZHIPU_KEY, ZHIPUAI_BASE_URL=emulator)
    server, url, log = _serve(tmp_path, env, *extra)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            forms = {c["name"]: c for c in client.get("/api/forms").json()["components"]}
            echo_defaults = forms["echo"]["connection"]["schema"]["properties"]["apiKey"]
            assert "default" not in echo_defaults, "echo's key field is not preset"
            page = client.get("/").text
            simple = {"format": "SIMPLE", "model": "glm-4-flash", "userPrompt": "Hello there"}
            answered = client.post("/api/run/zhipu/ask", json={"inputs": simple, "connection": {}})
            assert answered.status_code == 200, answered.text
            refused = client.post("/api/run/echo/shout", json={"inputs": {"text": "hi"}, "connection": {}})
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["problems"] == [{"location": "apiKey", "message": "API key is required"}]
            for text in (page, json.dumps(forms), refused.text, answered.text):
                assert ZHIPU_KEY not in text
    finally:
        _stop(server)
    assert ZHIPU_KEY not in log.read_text()
