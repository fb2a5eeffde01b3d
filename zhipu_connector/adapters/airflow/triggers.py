"""Deferral: a trigger that polls an action through the host until its answer says "done".

Video generation, async image tasks and batches answer "still working" for minutes. An
operator given `deferrable=True` and `poll_while` hands the wait to this trigger and frees its
worker slot; the trigger runs in Airflow's triggerer, on the action's async handler, calling
the same action with the same inputs every `poll_interval` seconds until no field named in
`poll_while` holds one of its "still working" values, then wakes the task with the answer.
Nothing here knows which actions are long: any action whose answer reports progress can be
waited on, so an action added to a definition later is deferrable with no edit here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from zhipu_connector.adapters.airflow import names
from zhipu_connector.adapters.airflow.errors import is_transient
from zhipu_connector.adapters.airflow.hooks import hook_for
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import ConnectorError
from zhipu_connector.host.secrets import scrub

DONE = "done"
FAILED = "failed"


def field_value(output: Any, path: str) -> Any:
    """The value at `path` in an action's output: a key (`status`), or a dotted path into nested objects."""
    value: Any = output
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def matches(output: Any, fields: Mapping[str, Sequence[Any]]) -> bool:
    """Whether some field named in `fields` holds one of the values listed for it."""
    return any(field_value(output, path) in values for path, values in fields.items())


def still_working(output: Any, poll_while: Mapping[str, Sequence[Any]]) -> bool:
    """Whether `output` says the work goes on: some field of `poll_while` holds one of its values."""
    return matches(output, poll_while)


class ActionPollTrigger(BaseTrigger):
    """Polls `component.action` with `inputs` until its output stops matching `poll_while`.

    Fires one event: `{"status": "done", "output": ...}` with the last answer, or
    `{"status": "failed", "error": ..., "message": ..., "retryable": ...}` when a call failed
    (the message scrubbed of secrets; `retryable` is the error's own verdict).
    """

    def __init__(
        self,
        *,
        component: str,
        action: str,
        inputs: Mapping[str, Any],
        conn_id: str,
        poll_while: Mapping[str, Sequence[Any]],
        poll_interval: float,
    ) -> None:
        super().__init__()
        self.component = component
        self.action = action
        self.inputs = dict(inputs)
        self.conn_id = conn_id
        self.poll_while = {key: list(values) for key, values in poll_while.items()}
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{names.TRIGGERS_MODULE}.{type(self).__name__}",
            {
                "component": self.component,
                "action": self.action,
                "inputs": self.inputs,
                "conn_id": self.conn_id,
                "poll_while": self.poll_while,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = hook_for(self.component)(conn_id=self.conn_id)
        polls = 0
        while True:
            polls += 1
            context = ActionContext(self.component, self.action)
            try:
                output = await hook.arun(self.action, self.inputs, context=context)
            except ConnectorError as error:
                yield TriggerEvent(failure(error, polls))
                return
            if not still_working(output, self.poll_while):
                yield TriggerEvent({"status": DONE, "output": output, "polls": polls})
                return
            self.log.info("%s.%s: still working after %d poll(s)", self.component, self.action, polls)
            await asyncio.sleep(self.poll_interval)


def failure(error: ConnectorError, polls: int) -> dict[str, Any]:
    """A failed call as a trigger event's payload: JSON only, no secret."""
    return {
        "status": FAILED,
        "error": type(error).__name__,
        "message": scrub(str(error)),
        "retryable": is_transient(error),
        "polls": polls,
    }
