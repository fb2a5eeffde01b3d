"""Bulk runners: a batch's rows run by a provider's own batch service instead of one call per row.

`zhipu-connector batch ACTION --via NAME` hands the rows file to the runner a plugin registered
under NAME through the `register_bulk_runners` hook (the Zhipu plugin offers `batch-api`). This
module knows nothing of any provider: it finds the runner, gives it a `BulkRun` (connection,
progress, a stop event, where to keep its state) and returns its `BatchSummary`. A runner writes
the same result lines as a real-time batch, every row exactly once, so `--retry-errors` without
`--via` re-runs its failed rows in real time.

A bulk run in progress keeps its state beside the results (`RESULTS.batch-state.json`, and a
work directory `RESULTS.batch-files/`). While that file exists the rows it submitted have no
result line yet, so a real-time run on the same results would run (and bill) them a second
time: `refuse_if_bulk_pending` stops it.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhipu_connector.host.connection import Connection
from zhipu_connector.host.host import Host
from zhipu_connector.workflow.batch import BatchError, BatchProgress, BatchSummary

STATE_SUFFIX = ".batch-state.json"
WORK_SUFFIX = ".batch-files"


@dataclass(frozen=True)
class BulkRunner:
    """One registration: `name` runs `actions` of `component` through `target` ("module:function")."""

    name: str
    component: str
    actions: frozenset[str]
    target: str
    summary: str

    def load(self) -> Callable[..., BatchSummary]:
        module, _, function = self.target.partition(":")
        return getattr(importlib.import_module(module), function)


@dataclass
class BulkRun:
    """What a runner gets besides the action and the two paths."""

    state_path: Path
    work_dir: Path
    connection: Connection | None = None
    progress: BatchProgress | None = None
    retry_errors: bool = False
    cancel: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    report: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr, flush=True))
    options: Mapping[str, Any] = field(default_factory=dict)


def state_path(out_path: str | Path) -> Path:
    """Where a bulk run on `out_path` keeps its state: `RESULTS.batch-state.json`."""
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + STATE_SUFFIX)


def work_dir(out_path: str | Path) -> Path:
    """A bulk run's work directory beside `out_path`: `RESULTS.batch-files/`."""
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + WORK_SUFFIX)


def bulk_runners(host: Host) -> list[BulkRunner]:
    """Every bulk runner the host's plugins register."""
    found: list[BulkRunner] = []

    def register(name: str, component: str, actions: Iterable[str], target: str, summary: str = "") -> None:
        found.append(BulkRunner(name, component, frozenset(actions), target, summary))

    host.plugins.hook.register_bulk_runners(register=register)
    return found


def find_bulk_runner(host: Host, name: str, component: str, action: str) -> BulkRunner:
    """The runner `name` for `component.action`, or a `BatchError` saying which exist."""
    runners = bulk_runners(host)
    for runner in runners:
        if runner.name == name and runner.component == component and action in runner.actions:
            return runner
    offered = sorted(
        {
            f"{r.name} ({r.summary})" if r.summary else r.name
            for r in runners
            if r.component == component and action in r.actions
        }
    )
    known = "; ".join(offered) if offered else "none (only real time, without --via)"
    raise BatchError(f"--via {name}: no such way to run {component}.{action}; it can run via: {known}")


def refuse_if_bulk_pending(out_path: str | Path) -> None:
    """Refuse a real-time run while a bulk run on the same results is unfinished (its rows would run twice)."""
    pending = state_path(out_path)
    if pending.exists():
        raise BatchError(
            f"a bulk run on {out_path} is in progress ({pending}): its submitted rows have no result line yet, "
            "so running them now would run and bill them twice. Finish it with the same --via command, "
            "or stop it with --via NAME --cancel"
        )


def run_bulk(
    host: Host,
    via: str,
    component: str,
    action: str,
    rows_path: str | Path,
    out_path: str | Path,
    *,
    connection: Connection | Mapping[str, Any] | None = None,
    progress: BatchProgress | None = None,
    retry_errors: bool = False,
    cancel: bool = False,
    stop: threading.Event | None = None,
    report: Callable[[str], None] | None = None,
    options: Mapping[str, Any] | None = None,
) -> BatchSummary:
    """Run `component.action` over `rows_path` into `out_path` through the bulk runner `via`.

    Call it again after any interruption (a `kill -9` included) to re-attach to the work in
    progress; `cancel=True` stops it, reporting the rows that did not run as errors.
    `stop.set()` stops waiting, leaving the work running for the next call.
    """
    runner = find_bulk_runner(host, via, component, action)
    bound = host.action(component, action)
    if not isinstance(connection, Connection) and bound.connections.required:
        connection = host.connection(component, connection or {})
    run = BulkRun(
        state_path=state_path(out_path),
        work_dir=work_dir(out_path),
        connection=connection if isinstance(connection, Connection) else None,
        progress=progress,
        retry_errors=retry_errors,
        cancel=cancel,
        stop=stop or threading.Event(),
        options=dict(options or {}),
    )
    if report is not None:
        run.report = report
    return runner.load()(host, component, action, Path(rows_path), Path(out_path), run=run)
