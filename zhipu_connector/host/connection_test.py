"""Running a component's connection test: does this connection work, and if not, why not.

A definition declares `connection.connectionTest` (what the test does, its time limit); the
component's plugin registers the check itself, `check(connection, context) -> dict | None`,
which raises a `ConnectorError` that says precisely what is wrong. Everything a caller meets
comes back as one `ConnectionTestResult`, never as an exception, so a form's button, a command
and an engine's "Test connection" (Airflow's `test_connection`) all read it the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zhipu_connector.errors import ConnectorError
from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.registry import ActionHandler
from zhipu_connector.host.secrets import scrub, scrub_value

ACTION_NAME = "connectionTest"
"""What the context of a connection test names as its action, in logs."""


@dataclass(frozen=True)
class ConnectionTestResult:
    """The outcome of a connection test: `ok`, a message for a person, and the details.

    `error` is the failure's `to_dict()` (its type, and for API errors the HTTP status and the
    provider's code) when `ok` is false; `details` is what a passing check reported. Secrets
    are masked in all of it.
    """

    ok: bool
    message: str
    error: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "message": self.message, "error": self.error, "details": self.details}


def passed(component: str, details: Any) -> ConnectionTestResult:
    shown = scrub_value(dict(details)) if isinstance(details, Mapping) else {}
    summary = shown.pop("message", None) if isinstance(shown.get("message"), str) else None
    return ConnectionTestResult(True, summary or f"the {component} connection works", details=shown)


def failed(error: ConnectorError) -> ConnectionTestResult:
    return ConnectionTestResult(False, scrub(str(error)), error=scrub_value(error.to_dict()))


def crashed(component: str, error: BaseException) -> ConnectionTestResult:
    """A check that raised something other than a `ConnectorError`: a bug, said as such."""
    message = f"the {component} connection test failed unexpectedly: {type(error).__name__}: {error}"
    return ConnectionTestResult(False, scrub(message), error={"type": "HandlerCrashedError", "message": scrub(message)})


def context_for(component: str) -> ActionContext:
    return ActionContext(component, ACTION_NAME)


def run_check(check: ActionHandler, connection: Connection, context: ActionContext, timeout: float) -> Any:
    """Call the check from sync code; an async-only check runs on its own loop, bounded by `timeout`."""
    if check.run is not None:
        return check.run(connection, context)
    import asyncio

    async def bounded() -> Any:
        return await asyncio.wait_for(check.arun(connection, context), timeout)  # type: ignore[misc]

    return asyncio.run(bounded())


async def arun_check(check: ActionHandler, connection: Connection, context: ActionContext, timeout: float) -> Any:
    """Call the check from async code, bounded by `timeout`; a sync-only check runs in a worker thread."""
    import asyncio

    if check.arun is not None:
        return await asyncio.wait_for(check.arun(connection, context), timeout)
    return await asyncio.wait_for(asyncio.to_thread(check.run, connection, context), timeout)  # type: ignore[arg-type]


def timed_out(component: str, timeout: float) -> ConnectionTestResult:
    message = f"the {component} connection test did not finish within {timeout:g} s"
    return ConnectionTestResult(False, message, error={"type": "TimeoutError", "message": message})
