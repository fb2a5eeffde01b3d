"""Running a workflow: its tasks in order, each through the host's ordinary dispatch.

A task's parameters are resolved against the inputs and the outputs so far, the action runs
through `Host.run_action` (or `arun_action`) exactly as a single action would, and its output is
kept under the task's name. A failing task stops the run with `WorkflowRunError`, which names
the task and the reason and carries the outputs of the tasks before it.

Callers watch progress through `on_event`, called with a `TaskEvent` as each task starts,
finishes, is retried or fails; the command line prints them, the demo shows outputs too.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import ActionFailedError, ConnectorError, HandlerCrashedError
from zhipu_connector.host.host import Host
from zhipu_connector.workflow.checks import Plan, PlannedTask, plan_workflow
from zhipu_connector.workflow.errors import ReferenceResolutionError, WorkflowRunError
from zhipu_connector.workflow.locations import location
from zhipu_connector.workflow.model import Workflow, WorkflowTask
from zhipu_connector.workflow.references import resolve, resolve_parameters

EventKind = Literal["start", "finish", "retry", "fail"]


@dataclass(frozen=True)
class TaskEvent:
    """Something that happened to one task; `index` counts from 0 among `total` tasks."""

    kind: EventKind
    task: WorkflowTask
    index: int
    total: int
    parameters: Mapping[str, Any] | None = None
    output: Any = None
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    error: ConnectorError | None = None
    attempt: int = 1


@dataclass
class WorkflowResult:
    """What a finished run produced: each task's output by name, and the workflow's outputs."""

    tasks: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"tasks": self.tasks}
        if self.outputs:
            result["outputs"] = self.outputs
        if self.warnings:
            result["warnings"] = self.warnings
        return result


EventHandler = Callable[[TaskEvent], None]
ConnectionValues = Mapping[str, Connection | Mapping[str, Any] | None]


def default_retry_delay(attempt: int) -> float:
    """Seconds before retry `attempt` (1, 2, …): 1, 2, 4 … capped at 30."""
    return float(min(2 ** (attempt - 1), 30))


def run_workflow(
    host: Host,
    workflow: Workflow,
    inputs: Mapping[str, Any] | None = None,
    connections: ConnectionValues | None = None,
    *,
    on_event: EventHandler | None = None,
    cancel_event: threading.Event | None = None,
    retry_delay: Callable[[int], float] = default_retry_delay,
) -> WorkflowResult:
    """Check, then run every task in order; `WorkflowError` before, `WorkflowRunError` during."""
    plan = plan_workflow(host, workflow, inputs, connections)
    run = _Run(plan, on_event)
    for planned in plan.tasks:
        attempt = 1
        parameters = run.parameters(planned)
        while True:
            run.started(planned, parameters, attempt)
            context = run.context(planned, cancel_event)
            began = time.perf_counter()
            try:
                output = host.run_action(
                    planned.task_type.component,
                    planned.task_type.action,
                    parameters,
                    plan.connections.get(planned.task_type.component),
                    context=context,
                )
            except ConnectorError as error:
                if run.should_retry(planned, error, attempt):
                    delay = retry_delay(attempt)
                    run.retrying(planned, error, attempt, delay)
                    if cancel_event is None:
                        time.sleep(delay)
                    elif cancel_event.wait(delay):
                        raise run.failed(planned, error) from error
                    attempt += 1
                    continue
                raise run.failed(planned, error) from error
            run.finished(planned, output, context, time.perf_counter() - began)
            break
    return run.result()


async def arun_workflow(
    host: Host,
    workflow: Workflow,
    inputs: Mapping[str, Any] | None = None,
    connections: ConnectionValues | None = None,
    *,
    on_event: EventHandler | None = None,
    cancel_event: threading.Event | None = None,
    retry_delay: Callable[[int], float] = default_retry_delay,
) -> WorkflowResult:
    """`run_workflow` for async callers: each task through `Host.arun_action`."""
    plan = plan_workflow(host, workflow, inputs, connections)
    run = _Run(plan, on_event)
    for planned in plan.tasks:
        attempt = 1
        parameters = run.parameters(planned)
        while True:
            run.started(planned, parameters, attempt)
            context = run.context(planned, cancel_event)
            began = time.perf_counter()
            try:
                output = await host.arun_action(
                    planned.task_type.component,
                    planned.task_type.action,
                    parameters,
                    plan.connections.get(planned.task_type.component),
                    context=context,
                )
            except ConnectorError as error:
                if run.should_retry(planned, error, attempt):
                    delay = retry_delay(attempt)
                    run.retrying(planned, error, attempt, delay)
                    await asyncio.sleep(delay)
                    if cancel_event is not None and cancel_event.is_set():
                        raise run.failed(planned, error) from error
                    attempt += 1
                    continue
                raise run.failed(planned, error) from error
            run.finished(planned, output, context, time.perf_counter() - began)
            break
    return run.result()


class _Run:
    """The state one run shares between its sync and async loops."""

    def __init__(self, plan: Plan, on_event: EventHandler | None) -> None:
        self.plan = plan
        self.on_event = on_event
        self.outputs: dict[str, Any] = {}
        self.warnings: dict[str, list[str]] = {}
        self.total = len(plan.tasks)

    def emit(self, event: TaskEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def parameters(self, planned: PlannedTask) -> dict[str, Any]:
        """The task's parameters with every reference replaced by its value."""
        try:
            return resolve_parameters(planned.parameters, self.plan.scope(self.outputs), planned.templates)
        except ReferenceResolutionError as error:
            where = location(["tasks", planned.task.index, "parameters"])
            raise self.failed(planned, ReferenceResolutionError(f"{where}: {error}")) from None

    def context(self, planned: PlannedTask, cancel_event: threading.Event | None) -> ActionContext:
        return ActionContext(planned.task_type.component, planned.task_type.action, cancel_event=cancel_event)

    def started(self, planned: PlannedTask, parameters: dict[str, Any], attempt: int) -> None:
        self.emit(
            TaskEvent("start", planned.task, planned.task.index, self.total, parameters=parameters, attempt=attempt)
        )

    def should_retry(self, planned: PlannedTask, error: ConnectorError, attempt: int) -> bool:
        """Upstream failures are retried up to `maxRetries`; bad inputs and crashes are not."""
        retriable = isinstance(error, ActionFailedError) and not isinstance(error, HandlerCrashedError)
        return retriable and attempt <= planned.task.max_retries

    def retrying(self, planned: PlannedTask, error: ConnectorError, attempt: int, delay: float) -> None:
        self.emit(
            TaskEvent(
                "retry", planned.task, planned.task.index, self.total, error=error, attempt=attempt, seconds=delay
            )
        )

    def failed(self, planned: PlannedTask, error: ConnectorError) -> WorkflowRunError:
        """Report the failure; the error for the caller to raise."""
        self.emit(TaskEvent("fail", planned.task, planned.task.index, self.total, error=error))
        return WorkflowRunError(
            task=planned.task.name,
            index=planned.task.index,
            task_type=planned.task.type,
            cause=error,
            outputs=dict(self.outputs),
        )

    def finished(self, planned: PlannedTask, output: Any, context: ActionContext, seconds: float) -> None:
        self.outputs[planned.task.name] = output
        if context.warnings:
            self.warnings[planned.task.name] = list(context.warnings)
        self.emit(
            TaskEvent(
                "finish",
                planned.task,
                planned.task.index,
                self.total,
                output=output,
                warnings=tuple(context.warnings),
                seconds=seconds,
            )
        )

    def result(self) -> WorkflowResult:
        scope = self.plan.scope(self.outputs)
        declared: dict[str, Any] = {}
        for output, compiled in self.plan.outputs:
            try:
                declared[output.name] = resolve(compiled, scope)
            except ReferenceResolutionError as error:
                raise ReferenceResolutionError(f"{location(['outputs', output.index, 'value'])}: {error}") from None
        return WorkflowResult(dict(self.outputs), declared, dict(self.warnings))
