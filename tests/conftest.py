"""Shared fixtures: the shipped definition, and a host with only the test connector."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


@pytest.fixture(scope="session")
def connector_yaml() -> Path:
    return ROOT / "connector.yaml"


@pytest.fixture(scope="session")
def zhipu_component(connector_yaml):
    from zhipu_connector.definition.loader import load_component

    return load_component(connector_yaml)


@pytest.fixture(scope="session")
def echo_host():
    """A host with the echo test connector and nothing else: proof the host is generic."""
    from connectors import echo

    from zhipu_connector.host.host import Host

    return Host(default_plugins=[], entry_points=False, extra_plugins=[echo])


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Tests never read or write the user's start-up cache."""
    import os

    os.environ["ZHIPU_CONNECTOR_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(autouse=True)
def restore_package_logger():
    """Commands run in-process configure the package's logger; give each test a clean one."""
    import logging

    logger = logging.getLogger("zhipu_connector")
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers
    logger.propagate = propagate
