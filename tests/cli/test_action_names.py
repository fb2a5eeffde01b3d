"""A bare action name means the one component that offers it, and nothing when several do."""

from __future__ import annotations

import json
import types

import pytest
from connectors import echo

from zhipu_connector import cli
from zhipu_connector.definition.loader import load_component
from zhipu_connector.host import host as host_module
from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.host import Host

KEY = "abc123.topsecretvalue"


def parrot_plugin():
    """A second connector offering `shout` too: echo's definition under another name."""
    module = types.ModuleType("parrot_plugin")
    parrot = load_component(echo.DEFINITION).model_copy(update={"name": "parrot", "title": "Parrot"})

    @hookimpl
    def register_connectors(register):
        register(parrot, {"shout": echo.shout, "broken": echo.broken}, connection_test=echo.CONNECTION_TEST)

    module.register_connectors = register_connectors
    return module


@pytest.fixture
def two_shouters(monkeypatch):
    host = Host(
        default_plugins=["zhipu_connector.zhipu.plugin"], entry_points=False, extra_plugins=[echo, parrot_plugin()]
    )
    monkeypatch.setattr(host_module, "_default", host)
    return host


@pytest.fixture
def one_shouter(monkeypatch):
    host = Host(default_plugins=["zhipu_connector.zhipu.plugin"], entry_points=False, extra_plugins=[echo])
    monkeypatch.setattr(host_module, "_default", host)
    return host


AMBIGUOUS = "'shout' is an action of echo, parrot: write COMPONENT.shout, e.g. echo.shout"


def run_cli(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "shout", "-i", "text=hi", "-c", f"apiKey={KEY}"],
        ["schema", "shout"],
        ["form", "shout"],
        ["batch", "shout", "--rows", "rows.jsonl", "--out", "out.jsonl", "--no-progress"],
    ],
)
def test_a_name_two_components_offer_is_refused_everywhere(capsys, two_shouters, argv):
    status, out, err = run_cli(capsys, *argv)
    assert status == 1 and out == ""
    assert err == f"error: {AMBIGUOUS}\n"


def test_the_component_prefix_chooses(capsys, two_shouters):
    status, out, _ = run_cli(capsys, "run", "parrot.shout", "-i", "text=hi", "-c", f"apiKey={KEY}")
    assert status == 0 and json.loads(out) == {"text": "hi", "length": 2}
    status, out, _ = run_cli(capsys, "schema", "parrot/v1/shout")
    assert status == 0 and "text" in json.loads(out)["properties"]


def test_a_name_one_component_offers_is_that_component(capsys, one_shouter):
    status, out, _ = run_cli(capsys, "run", "shout", "-i", "text=hi", "-c", f"apiKey={KEY}")
    assert status == 0 and json.loads(out)["text"] == "hi"
    status, out, _ = run_cli(capsys, "form", "shout")
    assert status == 0 and "text" in json.loads(out)["schema"]["properties"]
    status, out, _ = run_cli(capsys, "schema", "ask")  # Zhipu's action is found the same way
    assert status == 0 and "model" in json.loads(out)["properties"]


def test_an_unknown_name_lists_the_actions(capsys, one_shouter):
    status, _, err = run_cli(capsys, "run", "whisper")
    assert status == 1
    assert (
        "no component offers an action 'whisper' (actions: echo.broken, echo.shout, zhipu.ask, zhipu.createEmbeddings, zhipu.createImage, "
        "zhipu.createImageAsync, zhipu.generateVideo, zhipu.getTaskResult)" in err
    )


def test_the_host_resolves_names_for_any_caller(two_shouters):
    assert two_shouters.resolve_action("ask") == ("zhipu", "ask")
    assert two_shouters.resolve_action("echo.shout") == ("echo", "shout")
    with pytest.raises(Exception, match="write COMPONENT.shout"):
        two_shouters.resolve_action("shout")
