"""A host with the core component, the echo connector and the flaky test connector."""

from __future__ import annotations

import pytest
from connectors import echo


@pytest.fixture(scope="session")
def workflow_host():
    from workflow import flaky  # tests/workflow/flaky

    from zhipu_connector.host.host import Host

    return Host(default_plugins=["zhipu_connector.core.plugin"], entry_points=False, extra_plugins=[echo, flaky])


@pytest.fixture(autouse=True)
def _own_logging_setup():
    """The commands set up logging on a stream of the moment; leave no handler on a closed one."""
    import logging

    logger, core = logging.getLogger("zhipu_connector"), logging.getLogger("zhipu_connector.core.logger")
    saved = (list(logger.handlers), logger.propagate, logger.level, core.level)
    logger.handlers.clear()
    yield
    logger.handlers[:] = saved[0]
    logger.propagate, logger.level = saved[1], saved[2]
    core.setLevel(saved[3])


@pytest.fixture(autouse=True)
def _fresh_test_connectors():
    from workflow import flaky

    flaky.reset()
    echo.calls.clear()
    yield
