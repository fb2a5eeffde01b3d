"""Fixtures for the tests in a real Airflow: one home per session, migrated once, and the emulator.

They need Airflow, which lives in its own virtual environment (`make airflow-venv`); in the
project's main environment every test module here skips
itself, saying so, and `make test` runs them in Airflow's.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator

import pytest
from airflow_support import BATCH_SECONDS, TEST_PLUGINS, TOKEN, Airflow, ApiServer, base_environment

# The waiter test connector is "installed" for in-process tests too, as it is for Airflow's commands;
# only in Airflow's environment, so that the rest of the suite never sees it.
if importlib.util.find_spec("airflow") is not None and str(TEST_PLUGINS) not in sys.path:
    sys.path.insert(0, str(TEST_PLUGINS))


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    """The emulator on a loopback port, accepting only the test token; a batch takes a second there."""
    from zhipu_connector.emulator.config import EmulatorConfig
    from zhipu_connector.emulator.server import running_emulator

    with running_emulator(EmulatorConfig(api_keys=frozenset({TOKEN}), batch_seconds=BATCH_SECONDS)) as url:
        yield url


@pytest.fixture(scope="session")
def airflow_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, emulator_url: str
) -> Iterator[Airflow]:
    """An Airflow home on SQLite with its database migrated and the Zhipu account's pool made.

    One home for the whole session: every `dags test`, the connection tests, the benchmark and
    the API server of the browser tests use it, so `db migrate` runs once. The API server is
    started here, in the background, when a browser test is collected (see `ApiServer`).
    """
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "files").mkdir()
    instance = Airflow(home, base_environment(home, emulator_url))
    migrated = instance.run("db", "migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    if _browser_tests_will_run(request.session):
        instance.api_server = ApiServer(instance)
    pool = instance.run("pools", "set", "zhipu_default", "2", "Requests in flight for the zhipu_default account")
    assert pool.returncode == 0, pool.stdout + pool.stderr
    try:
        yield instance
    finally:
        if instance.api_server is not None:
            instance.api_server.stop()


def _browser_tests_will_run(session: pytest.Session) -> bool:
    """Whether a collected test needs the UI, and Chromium is there to open it."""
    if not any("ui" in getattr(item, "fixturenames", ()) for item in session.items):
        return False
    from browser.browser_support import CHROMIUM

    return os.access(CHROMIUM, os.X_OK)
