"""The workflow's errors: a file that cannot run, a reference without a value, a task that failed."""

from __future__ import annotations

from typing import Any

from zhipu_connector.host.errors import ConnectorError, ProblemsError
from zhipu_connector.host.secrets import scrub, scrub_value


class WorkflowError(ProblemsError):
    """A workflow that must not start: every problem in the file, its inputs and connections.

    Raised before any task runs, so nothing has been sent anywhere.
    """

    headline = "invalid workflow"


class ReferenceResolutionError(ConnectorError):
    """A reference whose value is not there when the task is about to run (a missing array item, say)."""


class WorkflowRunError(ConnectorError):
    """A task that failed: names the task and the reason, and keeps the outputs of the tasks before it."""

    def __init__(
        self, *, task: str, index: int, task_type: str, cause: ConnectorError, outputs: dict[str, Any]
    ) -> None:
        self.task = task
        self.index = index
        self.task_type = task_type
        self.cause = cause
        self.outputs = outputs
        done = ", ".join(outputs) or "none"
        super().__init__(
            f"task {task} (tasks[{index}], {task_type}) failed: {cause}\n  tasks completed before it: {done}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "message": scrub(str(self)),
            "task": self.task,
            "index": self.index,
            "taskType": self.task_type,
            "cause": scrub_value(self.cause.to_dict()),
        }
