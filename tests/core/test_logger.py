"""core.logger: logs at the chosen level and passes the message on."""

from __future__ import annotations

import logging

import pytest

from zhipu_connector.core.logger import LOGGER_NAME
from zhipu_connector.host.errors import InputValidationError


@pytest.fixture(scope="module")
def core_host():
    from zhipu_connector.host.host import Host

    return Host(default_plugins=["zhipu_connector.core.plugin"], entry_points=False)


@pytest.fixture
def captured(caplog):
    logger = logging.getLogger("zhipu_connector")
    propagate = logger.propagate
    logger.propagate = True  # the command line turns propagation off; caplog listens at the root
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    yield caplog
    logger.propagate = propagate


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING", "ERROR"])
def test_logs_the_message_at_the_level_and_returns_it(core_host, captured, level):
    assert core_host.run_action("core", "logger", {"message": "hello there", "level": level}) == "hello there"
    records = [r for r in captured.records if r.name == LOGGER_NAME]
    assert [(r.levelname, r.getMessage()) for r in records] == [(level, "hello there")]


def test_the_level_defaults_to_info(core_host, captured):
    core_host.run_action("core", "logger", {"message": "m"})
    assert [r.levelname for r in captured.records if r.name == LOGGER_NAME] == ["INFO"]


def test_an_unknown_level_is_refused_before_anything_is_logged(core_host, captured):
    with pytest.raises(InputValidationError, match="'LOUD' is not one of"):
        core_host.run_action("core", "logger", {"message": "m", "level": "LOUD"})
    assert not [r for r in captured.records if r.name == LOGGER_NAME]


def test_core_is_a_built_in_plugin_without_a_connection():
    from zhipu_connector.definition.loader import load_component
    from zhipu_connector.host.plugins import DEFAULT_PLUGINS

    assert "zhipu_connector.core.plugin" in DEFAULT_PLUGINS
    component = load_component(__import__("zhipu_connector.core.plugin", fromlist=["DEFINITION"]).DEFINITION)
    assert (component.name, component.version, component.connection) == ("core", 1, None)
    assert component.action_names == ("logger", "textTemplate", "download", "rankBySimilarity")
