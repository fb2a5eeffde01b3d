"""What a handler gets besides its inputs: a logger, a request id, cancellation, partial output."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from zhipu_connector.host.errors import ActionCancelledError

if TYPE_CHECKING:
    import logging


def new_request_id() -> str:
    """A fresh id (32 hex chars): unique per call, within every provider's 6–64 char rule."""
    return os.urandom(16).hex()


def _action_logger() -> logging.Logger:
    import logging  # imported on the first call that needs a logger, not at start-up

    return logging.getLogger("zhipu_connector.action")


class ActionContext:
    """Per-call services for a handler.

    `on_partial`, when set, asks the handler to stream: it is called with each piece of text
    as it arrives, and the handler still returns the complete result at the end.
    `on_reasoning`, when set too, gets the pieces of a model's reasoning as they arrive, apart
    from the answer's text (a caller that sets only `on_partial` never sees reasoning mixed in).
    `warnings` collects what the user must hear about a result that is still returned
    (a reply cut short by the token limit, say); the CLI and the runner show them.
    """

    __slots__ = (
        "component",
        "action",
        "request_id",
        "_logger",
        "cancel_event",
        "on_partial",
        "on_reasoning",
        "warnings",
    )

    def __init__(
        self,
        component: str,
        action: str,
        *,
        request_id: str | None = None,
        logger: logging.Logger | None = None,
        cancel_event: threading.Event | None = None,
        on_partial: Callable[[str], None] | None = None,
        on_reasoning: Callable[[str], None] | None = None,
    ) -> None:
        self.component = component
        self.action = action
        self.request_id = request_id or new_request_id()
        self._logger = logger
        self.cancel_event = cancel_event
        self.on_partial = on_partial
        self.on_reasoning = on_reasoning
        self.warnings: list[str] = []

    def __repr__(self) -> str:
        return f"ActionContext({self.component!r}, {self.action!r}, request_id={self.request_id!r})"

    @property
    def logger(self) -> logging.Logger:
        """The action's logger, looked up on first use: most calls never log."""
        if self._logger is None:
            self._logger = _action_logger()
        return self._logger

    @property
    def cancelled(self) -> bool:
        return self.cancel_event is not None and self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise `ActionCancelledError` if the caller has cancelled; handlers call it between steps."""
        if self.cancelled:
            raise ActionCancelledError(f"{self.component}.{self.action} was cancelled")

    def warn(self, message: str) -> None:
        """Record and log something the user must know about a result that is still returned."""
        self.warnings.append(message)
        self.logger.warning("%s.%s: %s", self.component, self.action, message)
