"""The start-up cache: identical input gives the stored result, anything else is rebuilt."""

from __future__ import annotations

import json
import os
import pickle
import stat
import sys
from pathlib import Path

import pytest

from zhipu_connector import cache
from zhipu_connector.definition.loader import parse_component
from zhipu_connector.host.errors import DefinitionError
from zhipu_connector.resources import data_path

ROOT = Path(__file__).resolve().parents[1]

GOOD = "name: demo\ntitle: Demo\nversion: 1\nactions:\n  act:\n    title: Act\n    properties: {}\n    output: {type: STRING}\n"


def plain(value):
    """A `load` for tests: the data itself, checked to be JSON."""
    return cache.json_data(value)


def same(value):
    return value


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("ZHIPU_CONNECTOR_CACHE_DIR", str(folder))
    monkeypatch.delenv("ZHIPU_CONNECTOR_NO_CACHE", raising=False)
    return folder


def test_a_result_is_built_once_and_then_read(cache_folder):
    builds = []
    for _ in range(3):
        value = cache.cached("test", b"material", lambda: builds.append(1) or {"value": 42}, dump=same, load=plain)
        assert value == {"value": 42}
    assert len(builds) == 1
    cache.cached("test", b"other material", lambda: builds.append(1) or 0, dump=same, load=plain)
    assert len(builds) == 2


def test_entries_are_json_in_a_private_folder(cache_folder):
    cache.cached("test", b"m", lambda: {"a": [1, 2.5, None]}, dump=same, load=plain)
    (entry,) = cache_folder.glob("test-*.json")
    assert json.loads(entry.read_text())["data"] == {"a": [1, 2.5, None]}
    assert stat.S_IMODE(cache_folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "content", [b"not json", b'{"kind": "test"}', b"[" * 100_000, b'{"kind": "test", "data": NaN}']
)
def test_a_corrupt_entry_is_rebuilt(cache_folder, content):
    cache.cached("test", b"m", lambda: "first", dump=same, load=plain)
    (entry,) = cache_folder.glob("test-*.json")
    entry.write_bytes(content)
    assert cache.cached("test", b"m", lambda: "rebuilt", dump=same, load=plain) == "rebuilt"
    assert json.loads(entry.read_text())["data"] == "rebuilt"  # and stored again, whole


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = "/nonexistent"


def test_a_planted_entry_is_never_executed(cache_folder, tmp_path, monkeypatch):
    """A pickle planted under an entry's name (the old format, which ran code) is just rebuilt."""
    marker = tmp_path / "executed"
    monkeypatch.setattr(sys.modules[__name__], "MARKER", str(marker))
    key = cache.entry_key("test", b"m")
    cache_folder.mkdir(mode=0o700)
    for suffix in (".json", ".pickle"):
        (cache_folder / f"test-{key}{suffix}").write_bytes(pickle.dumps(_Payload()))
    assert cache.cached("test", b"m", lambda: "built", dump=same, load=plain) == "built"
    assert not marker.exists()


def test_a_well_formed_entry_of_the_wrong_shape_costs_a_rebuild(cache_folder):
    """A JSON entry naming this key but holding a component of the wrong shape is refused on load."""
    first = parse_component(GOOD)
    (entry,) = cache_folder.glob("component-*.json")
    stored = json.loads(entry.read_text())
    stored["data"]["component"]["actions"][0]["properties"] = [{"type": "NOT A TYPE"}]
    entry.write_text(json.dumps(stored))
    assert parse_component(GOOD) == first
    assert json.loads(entry.read_text())["data"]["component"]["actions"][0].get("properties", []) == []


@pytest.mark.parametrize(
    "schemas",
    [
        {"actions": {"act": "x"}, "connections": {}},
        {"actions": {"act": {"input": [], "output": {}}}, "connections": {}},
        {"actions": {}, "connections": {}},
        {"actions": {"act": {"input": {}, "output": {}}}, "connections": {"other": {}}},
        [],
    ],
)
def test_a_stored_entry_with_schemas_of_the_wrong_shape_is_rebuilt(cache_folder, schemas):
    first = parse_component(GOOD)
    (entry,) = cache_folder.glob("component-*.json")
    stored = json.loads(entry.read_text())
    stored["data"]["schemas"] = schemas
    entry.write_text(json.dumps(stored))
    again = parse_component(GOOD)
    assert again == first and again.derived_schemas() == first.derived_schemas()


def test_the_interpreter_is_part_of_the_key(cache_folder, monkeypatch):
    before = cache.entry_key("test", b"m")
    monkeypatch.setattr(cache, "_stamp", None)
    monkeypatch.setattr(sys.implementation, "cache_tag", "cpython-312", raising=False)
    assert cache.entry_key("test", b"m") != before


def test_a_folder_others_may_write_to_is_not_used(cache_folder):
    cache_folder.mkdir()
    cache_folder.chmod(0o777)
    builds = []
    for _ in range(2):
        cache.cached("test", b"m", lambda: builds.append(1) or "built", dump=same, load=plain)
    assert len(builds) == 2
    assert not list(cache_folder.iterdir())


def test_an_unwritable_folder_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("ZHIPU_CONNECTOR_CACHE_DIR", str(blocker / "sub"))
    assert cache.cached("test", b"m", lambda: "built", dump=same, load=plain) == "built"


def test_the_cache_can_be_turned_off(cache_folder, monkeypatch):
    monkeypatch.setenv("ZHIPU_CONNECTOR_NO_CACHE", "1")
    cache.cached("test", b"m", lambda: "built", dump=same, load=plain)
    assert not cache_folder.exists()


def test_definitions_come_from_the_cache_only_when_identical(cache_folder):
    first = parse_component(GOOD)
    assert parse_component(GOOD) == first
    assert len(list(cache_folder.glob("component-*.json"))) == 1
    with pytest.raises(DefinitionError):  # a changed file is checked again, never served stale
        parse_component(GOOD.replace("version: 1", "version: 0"))
    assert len(list(cache_folder.glob("component-*.json"))) == 1  # failures are not stored


@pytest.mark.parametrize("name", ["connector.yaml", "zhipu_connector/core/core.yaml"])
def test_a_stored_definition_reads_back_as_the_checked_one(cache_folder, monkeypatch, name):
    text = data_path(name).read_bytes() if name == "connector.yaml" else (ROOT / name).read_bytes()
    stored = parse_component(text)
    from_cache = parse_component(text)
    monkeypatch.setenv("ZHIPU_CONNECTOR_NO_CACHE", "1")
    fresh = parse_component(text)
    assert from_cache == fresh == stored
    assert from_cache.derived_schemas() == fresh.derived_schemas()


def test_transient_secrets_are_masked_but_bounded():
    from zhipu_connector.host import secrets

    bound = secrets._MAX_TRANSIENT * 3  # each token keeps a few spellings (escaped forms, its secret half)
    tokens = [f"k{i:04d}id.transient-secret-{i:04d}" for i in range(bound + 10)]
    for token in tokens:
        secrets.register_secret(token, transient=True)
    assert secrets.scrub(tokens[-1]) == secrets.MASK
    assert secrets.scrub(tokens[0]) == tokens[0]  # the oldest have been let go
    assert len(secrets._transient) <= bound
