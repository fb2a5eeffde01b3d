"""Bulk runs as deferrable Airflow operators: a rows file through a provider's batch service, no worker held.

The host's plugins register bulk runners (`register_bulk_runners`; the Zhipu plugin offers
`batch-api`, Zhipu's Batch API at half price). `BulkRunOperator` runs one of them over a rows
file, or over a list of rows pulled from XCom: `execute` builds and submits the work, then the
task defers to `BulkRunTrigger`, which looks at the batches every `poll_interval` seconds in
the triggerer and collects those that ended, into the same `results.jsonl` lines a real-time
`batch` writes. The task wakes when every row has its line and pushes a summary to XCom.

Nothing here knows any provider: the operator finds its runner by name, and drives it in the
steps the runner offers (`steps`: start, submit, poll, close; see `workflow/bulk.py`). The run's
state lives in the state file beside the results, so a retried task, a killed worker or a
restarted triggerer re-attaches to the batches already submitted: no row is submitted, nor
billed, twice. One generated class per runner and action fixes the three names:
`ZhipuAskViaBatchApiOperator`, `ZhipuCreateEmbeddingsViaBatchApiOperator`, ...

The results path and a rows list's file are confined to the files root, like every file an
action writes; with several machines (Celery, Kubernetes) it must be storage that the workers
and the triggerer share.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from zhipu_connector.adapters.airflow import names
from zhipu_connector.adapters.airflow.connection_form import parse_text
from zhipu_connector.adapters.airflow.errors import airflow_error
from zhipu_connector.adapters.airflow.hooks import hook_for
from zhipu_connector.adapters.airflow.operators import PollFailedError, check_literal_inputs, is_literal
from zhipu_connector.adapters.airflow.triggers import DONE, failure
from zhipu_connector.host.connection import Connection
from zhipu_connector.host.errors import ConnectorError
from zhipu_connector.host.files import OutsideFilesRootError, confined_path
from zhipu_connector.host.host import Host, default_host
from zhipu_connector.workflow.batch import BatchError, count_rows
from zhipu_connector.workflow.bulk import BulkRun, BulkRunner, bulk_runners, find_bulk_runner, state_path, work_dir

DEFAULT_POLL_INTERVAL = 60.0
ROWS_SUFFIX = ".rows.jsonl"


class BulkSteps(Protocol):
    """A bulk run an engine drives itself; each step may run in another process (the state file carries it)."""

    def start(self) -> bool: ...

    def submit(self) -> None: ...

    def poll(self) -> bool: ...

    def close(self) -> None: ...


def steps_class(runner: BulkRunner) -> Any:
    """The class that drives `runner` in steps (its target's `steps`), or None if it runs only in one go."""
    return getattr(runner.load(), "steps", None)


def bulk_steps(
    host: Host,
    runner: BulkRunner,
    action: str,
    rows_path: Path,
    out_path: Path,
    connection: Connection | None,
    report: Any,
) -> BulkSteps:
    """One stepped run of `runner` over `rows_path` into `out_path`, re-attaching to the state beside it."""
    run = BulkRun(state_path(out_path), work_dir(out_path), connection=connection, report=report)
    cls = steps_class(runner)
    if cls is None:
        raise BatchError(f"the bulk runner {runner.name!r} cannot be driven in steps, so it cannot be deferred")
    steps: BulkSteps = cls(host, runner.component, action, rows_path, out_path, run)
    return steps


def step_once(
    host: Host, runner: BulkRunner, action: str, rows: Path, out: Path, connection: Connection | None, report: Any
) -> bool:
    """Re-attach, send whatever is not sent yet, look at every batch once; True when every row has its line."""
    steps = bulk_steps(host, runner, action, rows, out, connection, report)
    try:
        if not steps.start():
            return True
        steps.submit()
        return steps.poll()
    finally:
        steps.close()


def summary_of(rows_path: Path, out_path: Path) -> dict[str, Any]:
    """What the task pushes to XCom: the results file and how its rows ended."""
    succeeded = failed = 0
    if out_path.exists():
        with out_path.open("rb") as results:
            for line in results:
                if line.strip():
                    record = json.loads(line)
                    if "output" in record:
                        succeeded += 1
                    else:
                        failed += 1
    return {
        "results": str(out_path),
        "rows": count_rows(rows_path),
        "succeeded": succeeded,
        "failed": failed,
    }


class BulkRunOperator(BaseOperator):
    """Runs `component.action` over many rows through the bulk runner `via`, deferred while it works.

    :param rows: a rows file (JSONL, one action's inputs a line), or the rows themselves as a list
        (for example `ti.xcom_pull(...)`), kept in `<output_path>.rows.jsonl`
    :param output_path: the results file (`results.jsonl` lines: every row once, its output or error);
        its state file and work folder lie beside it while the run is in progress
    :param conn_id: the component's connection (default `<component>_default`)
    :param deferrable: wait in the triggerer (default); False waits in the worker
    :param poll_interval: seconds between two looks at the batches
    :param poll_timeout: how long the task may wait for the batches (seconds or a timedelta)
    :param fail_on_row_errors: fail the task (without retries) when a row ended in an error;
        by default the task succeeds and the summary counts them
    """

    template_fields: Sequence[str] = ("rows", "output_path")
    template_fields_renderers = {"rows": "json"}
    ui_color = "#e6f4ea"
    component_name: ClassVar[str | None] = None
    action_name: ClassVar[str | None] = None
    via_name: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        rows: str | Sequence[Mapping[str, Any]] | Any,
        output_path: str,
        component: str | None = None,
        action: str | None = None,
        via: str | None = None,
        conn_id: str | None = None,
        deferrable: bool = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        poll_timeout: timedelta | float | None = None,
        fail_on_row_errors: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.component = component or self.component_name
        self.action = action or self.action_name
        self.via = via or self.via_name
        if not (self.component and self.action and self.via):
            raise TypeError(f"task {self.task_id!r}: component, action and via are required")
        try:
            find_bulk_runner(default_host(), self.via, self.component, self.action)
        except BatchError as error:
            raise TypeError(f"task {self.task_id!r}: {error}") from None
        if poll_interval <= 0:
            raise TypeError(f"task {self.task_id!r}: poll_interval must be a positive number of seconds")
        if isinstance(rows, (list, tuple)) and is_literal(rows):  # rows written in the DAG file: checked now
            bound = default_host().action(self.component, self.action)
            for number, row in enumerate(rows, start=1):
                if not isinstance(row, Mapping):
                    raise TypeError(f"task {self.task_id!r}: rows: row {number} is not an object of inputs")
                check_literal_inputs(self.task_id, bound, row, item=f"row {number}")
        self.rows = rows
        self.output_path = output_path
        self.conn_id = conn_id if conn_id is not None else hook_for(self.component).default_conn_name
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.fail_on_row_errors = fail_on_row_errors

    def _runner(self) -> BulkRunner:
        return find_bulk_runner(default_host(), str(self.via), str(self.component), str(self.action))

    def _paths(self) -> tuple[Path, Path]:
        """The rows file and the results file, both inside the files root."""
        out = confined_path(str(self.output_path))
        rows: Any = self.rows
        if isinstance(rows, str) and rows.lstrip().startswith("["):
            rows = parse_text(rows)  # a list rendered by Jinja as text
        if isinstance(rows, str):
            return confined_path(rows), out
        if not isinstance(rows, Sequence) or not all(isinstance(row, Mapping) for row in rows):
            raise BatchError(f"task {self.task_id!r}: rows must be a rows file's path or a list of objects")
        return write_rows(out.with_name(out.name + ROWS_SUFFIX), rows), out

    def execute(self, context: Any) -> Any:
        host = default_host()
        runner = self._runner()
        hook = hook_for(str(self.component))(conn_id=self.conn_id)
        try:
            try:
                rows, out = self._paths()
            except OutsideFilesRootError as error:
                raise BatchError(str(error)) from None
            out.parent.mkdir(parents=True, exist_ok=True)
            connection = hook.get_conn()
            if not self.deferrable:
                from zhipu_connector.workflow.bulk import run_bulk

                run_bulk(
                    host, runner.name, runner.component, str(self.action), rows, out,
                    connection=connection, report=self.log.info, options={"poll_seconds": self.poll_interval},
                )  # fmt: skip
                return self._finished(rows, out)
            done = step_once(host, runner, str(self.action), rows, out, connection, self.log.info)
        except ConnectorError as error:
            raise airflow_error(error, task=self.task_id) from error
        if done:
            return self._finished(rows, out)
        timeout = self.poll_timeout
        if isinstance(timeout, (int, float)):
            timeout = timedelta(seconds=timeout)
        self.log.info("%s via %s: submitted; waiting in the triggerer", self.task_id, runner.name)
        trigger = BulkRunTrigger(
            component=runner.component,
            action=str(self.action),
            via=runner.name,
            rows_path=str(rows),
            out_path=str(out),
            conn_id=self.conn_id,
            poll_interval=self.poll_interval,
        )
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timeout)

    def execute_complete(self, context: Any, event: Mapping[str, Any]) -> Any:
        """Back from the triggerer: the summary to XCom, or the failure in Airflow's terms."""
        if event.get("status") == DONE:
            self.log.info("%s: every row has its line after %s poll(s)", self.task_id, event.get("polls"))
            return self._finished(Path(event["rows_path"]), Path(event["out_path"]))
        message = f"{self.task_id}: {event.get('error')}: {event.get('message')}"
        if event.get("retryable"):
            raise PollFailedError(message)
        raise AirflowFailException(f"{message} (final: not retried)")

    def _finished(self, rows: Path, out: Path) -> dict[str, Any]:
        summary = {"component": self.component, "action": self.action, "via": self.via, **summary_of(rows, out)}
        self.log.info("%s: %d succeeded, %d failed, in %s", self.task_id, summary["succeeded"], summary["failed"], out)
        if self.fail_on_row_errors and summary["failed"]:
            raise AirflowFailException(
                f"{self.task_id}: {summary['failed']} row(s) ended in an error, see {out} "
                "(re-run them in real time with `batch --retry-errors`; final: not retried)"
            )
        return summary


def write_rows(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """The rows as a rows file; an identical file is left as it is, so a retried task re-attaches to its run."""
    text = "".join(json.dumps(dict(row), ensure_ascii=False) + "\n" for row in rows).encode()
    if not (path.is_file() and path.read_bytes() == text):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
    return path


class BulkRunTrigger(BaseTrigger):
    """Looks at a bulk run's batches every `poll_interval` seconds, collecting those that end.

    Each look re-attaches through the state file in a worker thread (the triggerer's event
    loop keeps serving other triggers) and fires `{"status": "done", ...}` once every row has
    its line, or `{"status": "failed", ...}` when a call failed (see `triggers.failure`).
    """

    def __init__(
        self,
        *,
        component: str,
        action: str,
        via: str,
        rows_path: str,
        out_path: str,
        conn_id: str,
        poll_interval: float,
    ) -> None:
        super().__init__()
        self.component, self.action, self.via = component, action, via
        self.rows_path, self.out_path = rows_path, out_path
        self.conn_id = conn_id
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{names.BULK_MODULE}.{type(self).__name__}",
            {
                "component": self.component,
                "action": self.action,
                "via": self.via,
                "rows_path": self.rows_path,
                "out_path": self.out_path,
                "conn_id": self.conn_id,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        host = default_host()
        polls = 0
        try:
            connection = await hook_for(self.component)(conn_id=self.conn_id).aget_conn()
            runner = find_bulk_runner(host, self.via, self.component, self.action)
        except ConnectorError as error:
            yield TriggerEvent(failure(error, polls))
            return
        rows, out = Path(self.rows_path), Path(self.out_path)
        while True:
            polls += 1
            try:
                done = await asyncio.to_thread(
                    step_once, host, runner, self.action, rows, out, connection, self.log.info
                )
            except ConnectorError as error:
                yield TriggerEvent(failure(error, polls))
                return
            if done:
                yield TriggerEvent(
                    {"status": DONE, "polls": polls, "rows_path": self.rows_path, "out_path": self.out_path}
                )
                return
            self.log.info("%s via %s: still running after %d look(s)", self.action, self.via, polls)
            await asyncio.sleep(self.poll_interval)


def bulk_operator_class(runner: BulkRunner, action: str) -> type[BulkRunOperator]:
    """The generated operator of one runner and action: the three names fixed, the rest as `BulkRunOperator`."""
    host = default_host()
    component = host.component(runner.component)
    title = host.action(runner.component, action).action.title
    name = names.bulk_operator_class_name(component, action, runner.name)
    return type(
        name,
        (BulkRunOperator,),
        {
            "__module__": names.BULK_MODULE,
            "__doc__": f"{component.title}: {title}, over many rows via {runner.name}"
            + (f" ({runner.summary})" if runner.summary else "")
            + ".\n\n"
            + (BulkRunOperator.__doc__ or "").split("\n", 2)[-1],
            "component_name": runner.component,
            "action_name": action,
            "via_name": runner.name,
        },
    )


def _generate() -> dict[str, type[BulkRunOperator]]:
    generated: dict[str, type[BulkRunOperator]] = {}
    for runner in bulk_runners(default_host()):
        for action in sorted(runner.actions):
            cls = bulk_operator_class(runner, action)
            generated[cls.__name__] = cls
    return generated


BULK_OPERATORS: dict[str, type[BulkRunOperator]] = _generate()
"""Every generated bulk operator by name; each is also a module attribute (`bulk.ZhipuAskViaBatchApiOperator`)."""
globals().update(BULK_OPERATORS)


def __getattr__(name: str) -> Any:  # for type checkers: generated names are Any
    raise AttributeError(f"module {__name__!r} has no attribute {name!r} (generated: {', '.join(BULK_OPERATORS)})")
