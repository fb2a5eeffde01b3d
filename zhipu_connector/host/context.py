"""What a handler gets besides its inputs: a logger, a request id, cancellation, partial output."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from zhipu_connector.host.errors import ActionCancelledError

if TYPE_CHECKING:
    import logging


def new_request_id() -> str:
    """A fresh id (32 hex chars): unique per call, within every provider's 6–64 char rule."""
    return os.urandom(16).hex()


def _action_logger() -> "logging.Logger":
    import logging  # imported on the first call that needs a logger, not at start-up

    return logging.getLogger("zhipu_connector.action")


@dataclass(slots=True)
class ActionContext:
    """Per-call services for a handler.

    `on_partial`, when set, asks the handler to stream: it is called with each piece of text
    as it arrives, and the handler still returns the complete result at the end.
    `warnings` collects what the user must hear about a result that is still returned
    (a reply cut short by the token limit, say); the CLI and the runner show them.
    """

    component: str
    action: str
    request_id: str = field(default_factory=new_request_id)
    logger: "logging.Logger" = field(default_factory=_action_logger)
    cancel_event: threading.Event | None = None
    on_partial: Callable[[str], None] | None = None
    warnings: list[str] = field(default_factory=list)

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
