"""The worked example of docs/plugins.md, `examples/connectors/wordcount`, registered and run as a user would."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from zhipu_connector import Host, arun_action, cli, run_action
from zhipu_connector.host import host as host_module

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "connectors" / "wordcount"
TEXT = "the cat and the hat and the bat"


@pytest.fixture(scope="module")
def wordcount():
    sys.path.insert(0, str(EXAMPLE))
    try:
        import wordcount_connector

        yield wordcount_connector
    finally:
        sys.path.remove(str(EXAMPLE))


@pytest.fixture
def host(wordcount, monkeypatch):
    host = Host(default_plugins=["zhipu_connector.core.plugin"], entry_points=False, extra_plugins=[wordcount])
    monkeypatch.setattr(host_module, "_default", host)
    return host


def test_the_host_runs_it_with_defaults_applied(host):
    assert host.run_action("wordcount", "count", {"text": TEXT}) == {
        "words": 8,
        "characters": 31,
        "top": ["the", "and", "cat"],
    }


def test_the_front_door_runs_it_sync_and_async(host):
    import asyncio

    assert run_action("wordcount", "count", {"text": TEXT, "top": 1})["top"] == ["the"]
    assert asyncio.run(arun_action("wordcount", "count", {"text": TEXT, "top": 0}))["top"] == []


def test_the_command_line_runs_it_by_its_bare_name(host, capsys):
    assert cli.main(["run", "count", "-i", f"text={TEXT}", "-i", "top=2"]) == 0
    assert json.loads(capsys.readouterr().out) == {"words": 8, "characters": 31, "top": ["the", "and"]}


def test_its_definition_is_checked_like_any_other(host, capsys):
    assert cli.main(["run", "wordcount.count", "-i", f"text={TEXT}", "-i", "top=99"]) == 1
    assert "top: Top words: 99 is greater than the maximum of 20" in capsys.readouterr().err
    assert cli.main(["validate", str(EXAMPLE / "wordcount_connector" / "wordcount.yaml")]) == 0
