"""The start-up cache: identical input gives the stored result, anything else is rebuilt."""

from __future__ import annotations

import pytest

from zhipu_connector import cache
from zhipu_connector.definition.loader import parse_component
from zhipu_connector.host.errors import DefinitionError

GOOD = "name: demo\ntitle: Demo\nversion: 1\nactions:\n  act:\n    title: Act\n    properties: {}\n    output: {type: STRING}\n"


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIPU_CONNECTOR_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ZHIPU_CONNECTOR_NO_CACHE", raising=False)
    return tmp_path


def test_a_result_is_built_once_and_then_read(cache_folder):
    builds = []
    for _ in range(3):
        assert cache.cached("test", b"material", lambda: builds.append(1) or {"value": 42}) == {"value": 42}
    assert len(builds) == 1
    cache.cached("test", b"other material", lambda: builds.append(1) or 0)
    assert len(builds) == 2


def test_a_corrupt_entry_is_rebuilt(cache_folder):
    cache.cached("test", b"m", lambda: "first")
    (entry,) = cache_folder.glob("test-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert cache.cached("test", b"m", lambda: "rebuilt") == "rebuilt"


def test_an_unwritable_folder_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("ZHIPU_CONNECTOR_CACHE_DIR", str(blocker / "sub"))
    assert cache.cached("test", b"m", lambda: "built") == "built"


def test_the_cache_can_be_turned_off(cache_folder, monkeypatch):
    monkeypatch.setenv("ZHIPU_CONNECTOR_NO_CACHE", "1")
    cache.cached("test", b"m", lambda: "built")
    assert not list(cache_folder.iterdir())


def test_definitions_come_from_the_cache_only_when_identical(cache_folder):
    first = parse_component(GOOD)
    assert parse_component(GOOD) == first
    assert len(list(cache_folder.glob("component-*.pickle"))) == 1
    with pytest.raises(DefinitionError):  # a changed file is checked again, never served stale
        parse_component(GOOD.replace("version: 1", "version: 0"))
    assert len(list(cache_folder.glob("component-*.pickle"))) == 1  # failures are not stored


def test_transient_secrets_are_masked_but_bounded():
    from zhipu_connector.host import secrets

    tokens = [f"eyJhbGciOiJIUzI1NiJ9.transient-{i:04d}" for i in range(secrets._MAX_TRANSIENT + 10)]
    for token in tokens:
        secrets.register_secret(token, transient=True)
    assert secrets.scrub(tokens[-1]) == secrets.MASK
    assert secrets.scrub(tokens[0]) == tokens[0]  # the oldest have been let go
    assert len(secrets._transient) == secrets._MAX_TRANSIENT
