"""`zhipu-connector form` and `serve` on the command line."""

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

from zhipu_connector.cli import main
from zhipu_connector.forms.rjsf import render_rjsf
from zhipu_connector.forms.tree import action_form, connection_form

ROOT = Path(__file__).resolve().parents[2]
ECHO = ROOT / "tests" / "connectors" / "echo" / "echo.yaml"


def test_form_prints_schema_ui_schema_and_tree(capsys, zhipu_component):
    assert main(["form", "ask"]) == 0
    printed = json.loads(capsys.readouterr().out)
    form = action_form(zhipu_component, "ask")
    assert printed == {**render_rjsf(form), "tree": form.to_json()}


def test_form_accepts_component_qualified_names_and_other_definitions(capsys, echo_host):
    assert main(["form", "zhipu.createImage"]) == 0
    assert json.loads(capsys.readouterr().out)["tree"]["name"] == "createImage"
    assert main(["form", "shout", "--definition", str(ECHO)]) == 0
    assert json.loads(capsys.readouterr().out)["tree"]["component"] == "echo"


def test_form_prints_the_connection_form(capsys, zhipu_component):
    assert main(["form", "--connection"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["tree"] == connection_form(zhipu_component).to_json()
    assert printed["uiSchema"]["token"]["ui:widget"] == "password"


def test_form_as_html_is_a_self_contained_page(capsys):
    assert main(["form", "ask", "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!doctype html>")
    assert "<style>" in page and "<script>" in page and "evaluateCondition" in page
    assert not re.search(r'(src|href)="(https?:)?//', page), "no asset fetched from elsewhere"
    assert 'data-name="ask"' in page and 'data-kind="action"' in page
    assert 'class="zc-run"' not in page, "a printed page runs nothing"


def test_form_html_of_the_connection_has_no_secret_value(capsys):
    assert main(["form", "--connection", "--format", "html"]) == 0
    page = capsys.readouterr().out
    token = re.search(r'<input[^>]*name="token"[^>]*>', page).group(0)
    assert 'type="password"' in token and "value=" not in token


@pytest.mark.parametrize(
    "argv, status, message",
    [
        (["form"], 2, "name an action, or pass --connection (not both)"),
        (["form", "ask", "--connection"], 2, "name an action, or pass --connection (not both)"),
        (["form", "ask", "--authorization", "x"], 2, "--authorization goes with --connection"),
        (
            ["form", "zhipu.nope"],
            1,
            "zhipu has no action 'nope' (known: ask, createImage, createEmbeddings, generateVideo, createImageAsync, getTaskResult)",
        ),
        (
            ["form", "--connection", "--authorization", "oauth"],
            1,
            "zhipu has no authorization 'oauth' (known: bearer_token)",
        ),
        (
            ["serve", "--host", "0.0.0.0"],
            1,
            "refusing to listen on 0.0.0.0, which other machines can reach: pass --allow-remote",
        ),
        (["serve", "--host", "192.168.1.20", "--port", "0"], 1, "refusing to listen on 192.168.1.20"),
        (["serve", "--port", "70000"], 1, "--port 70000 is not a port number"),
    ],
)
def test_bad_command_lines_say_what_is_wrong(capsys, argv, status, message):
    assert main(argv) == status
    assert message in capsys.readouterr().err


def test_the_forms_package_is_imported_only_by_form_and_serve():
    code = (
        "import sys, io, contextlib\n"
        "from zhipu_connector.cli import main\n"
        "from zhipu_connector.host.host import default_host\n"
        "default_host()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['schema', 'ask']); main(['describe'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('zhipu_connector.forms')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_serve_with_the_emulator_runs_ask_and_keeps_a_typed_token_out_of_its_log(tmp_path):
    """The real command: loopback, the emulator's demo key as the default, a typed token never logged."""
    typed = "typed5c1.TOKENthatMustNotLeak77"
    script = [sys.executable, "-c", "import sys; from zhipu_connector.cli import main; sys.exit(main(sys.argv[1:]))"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("ZHIPUAI_API_KEY", None)
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*script, "serve", "--port", "0", "--emulator"], stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT, env=env
        )
    try:
        url = _wait_for_url(log, server)
        with httpx.Client(base_url=url, timeout=30) as client:
            page = client.get("/").text
            assert "set on the server" in page
            simple = {"format": "SIMPLE", "model": "glm-4-flash", "userPrompt": "Hello there"}
            answered = client.post("/api/run/zhipu/ask", json={"inputs": simple, "connection": {}})
            assert answered.status_code == 200, answered.text
            assert isinstance(answered.json()["output"], str) and answered.json()["output"]
            refused = client.post("/api/run/zhipu/ask", json={"inputs": simple, "connection": {"token": typed}})
            assert refused.status_code == 502, "the emulator accepts its demo key only"
            assert typed not in refused.text
            forms = client.get("/api/forms").text
            assert typed not in forms and typed not in client.get("/").text
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
    text = log.read_text()
    assert "POST /api/run/zhipu/ask" in text, "requests are logged"
    assert typed not in text
    assert re.search(r"demo[0-9a-f]{8}\.", text) is None, "the demo key is not printed either"


def _wait_for_url(log: Path, server: subprocess.Popen) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"Forms at (http://127\.0\.0\.1:\d+)/", log.read_text())
        if match:
            return match.group(1)
        if server.poll() is not None:
            raise AssertionError(f"serve exited early:\n{log.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"serve did not start:\n{log.read_text()}")
