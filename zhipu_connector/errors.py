"""One error hierarchy for everything the package raises on purpose.

Every error a user can meet is a `ConnectorError`: the command line, the form server and the
workflow runner catch that one class and print its message, never a traceback. Errors that
come with several findings (a broken definition, bad inputs) carry all of them as `Problem`s,
so a user fixes everything in one pass.

This is the bottom layer: it imports nothing of the package, so the definition models, the
host, the workflow runner, the emulator and every plugin can all depend on it.
`zhipu_connector.host.errors` re-exports every name for code written before it moved here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple


class Problem(NamedTuple):
    """One finding: where it is (a dotted path, `""` for the whole) and what rule it breaks."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ConnectorError(Exception):
    """Base of every error raised on purpose; `str(error)` is a complete user-facing message."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, used by the CLI's and the form server's error output."""
        return {"type": type(self).__name__, "message": str(self)}


class ProblemsError(ConnectorError):
    """An error made of several findings, all reported at once."""

    headline = "invalid"

    def __init__(self, problems: Iterable[Problem], *, subject: str = "") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.subject = subject
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.subject}: {self.headline}" if self.subject else self.headline
        count = len(self.problems)
        lines = [f"{head} ({count} problem{'s' if count != 1 else ''})"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "problems": [{"location": p.location, "message": p.message} for p in self.problems],
        }


class DefinitionError(ProblemsError):
    """A component definition file that cannot be used: bad YAML, schema or cross-field rules."""

    headline = "invalid component definition"


class PluginError(ConnectorError):
    """A plugin that cannot be loaded: a missing handler, a handler without an action, a bad hook."""


class UnknownActionError(ConnectorError):
    """A component or action name that no loaded plugin provides."""


class InputValidationError(ProblemsError):
    """Action inputs that break the property table; nothing was sent."""

    headline = "invalid inputs"


class ConnectionValidationError(ProblemsError):
    """Connection values that break the connection's property table; nothing was sent."""

    headline = "invalid connection"


class OutputValidationError(ProblemsError):
    """A handler result that does not match the action's output schema."""

    headline = "output does not match the output schema"


class ActionCancelledError(ConnectorError):
    """The caller cancelled the action before it finished."""


class ActionFailedError(ConnectorError):
    """An action that ran but failed upstream; connectors subclass it for their API's errors.

    It carries what a user needs to act on the failure or to quote it to the provider's
    support: the HTTP status, the provider's own error code, its message and the request id.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        super().__init__(self._render())

    def _render(self) -> str:
        details = [
            f"HTTP {self.status}" if self.status is not None else None,
            f"code {self.code}" if self.code else None,
            f"request id {self.request_id}" if self.request_id else None,
        ]
        shown = ", ".join(d for d in details if d)
        return f"{self.message} ({shown})" if shown else self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "status": self.status,
            "code": self.code,
            "requestId": self.request_id,
        }


class HandlerCrashedError(ActionFailedError):
    """A handler raised something that is not a `ConnectorError`: a bug, reported, not hidden."""
