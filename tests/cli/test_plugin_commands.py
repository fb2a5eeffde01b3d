"""Commands a plugin adds through `register_commands`, and the Zhipu plugin's own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from connectors import hello_command

from zhipu_connector import cli
from zhipu_connector.host import host as host_module
from zhipu_connector.host.host import Host


@pytest.fixture
def host_with(monkeypatch):
    def make(*plugins):
        host = Host(default_plugins=["zhipu_connector.zhipu.plugin"], entry_points=False, extra_plugins=plugins)
        monkeypatch.setattr(host_module, "_default", host)
        return host

    return make


def test_a_plugin_command_runs_and_is_listed(host_with, capsys):
    host_with(hello_command)
    assert cli.main(["say-hello", "--name", "Ada"]) == 0
    assert capsys.readouterr().out == "hello, Ada\n"
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    listed = capsys.readouterr().out
    assert "say-hello" in listed and "greet someone" in listed and "emulator" in listed and "demo" in listed


def test_a_plugin_cannot_take_a_built_in_name(host_with, capsys):
    host_with(hello_command.TakesRun())
    assert cli.main(["say-hello"]) == 1
    assert "a plugin registers the command 'run', which is already taken" in capsys.readouterr().err


def test_built_in_commands_never_ask_the_plugins(host_with, capsys):
    host_with(hello_command.TakesRun())  # would fail the listing, were it asked
    assert cli.main(["validate"]) == 0


def test_docs_and_validate_import_neither_the_emulator_nor_the_plugins_commands():
    code = (
        "import sys, io, contextlib\n"
        "from zhipu_connector.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['docs']); main(['validate'])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('zhipu_connector.emulator', 'zhipu_connector.zhipu.demo'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.replace("'", '"')) == []


def test_the_zhipu_plugin_brings_emulator_and_demo():
    from zhipu_connector.cli import plugin_commands

    commands = plugin_commands()
    assert commands["emulator"][0] == "zhipu_connector.emulator.cli"
    assert commands["demo"][0] == "zhipu_connector.zhipu.demo"
