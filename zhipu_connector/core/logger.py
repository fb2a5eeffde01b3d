"""`logger`: write a message to the log at a chosen level and pass it on.

Messages go to the `zhipu_connector.core.logger` logger, which the command line shows from
INFO up; the message is also the action's output, so a later step can reuse it.
"""

from __future__ import annotations

import logging
from typing import Any

from zhipu_connector.host.context import ActionContext

LOGGER_NAME = "zhipu_connector.core.logger"
LEVELS: dict[str, int] = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}

_log = logging.getLogger(LOGGER_NAME)


def log_message(inputs: dict[str, Any], connection: Any, context: ActionContext) -> str:
    """The `core.logger` handler; the level was checked against the options at dispatch."""
    message: str = inputs["message"]
    _log.log(LEVELS[inputs["level"]], "%s", message)
    return message
