"""The `workflow` and `batch` commands (imported only when one of them is chosen)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import threading
from typing import IO, Any

from zhipu_connector.cli import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    add_connection_arguments,
    add_input_arguments,
    check_output_file,
    collect_inputs,
    configure_logging,
    connection_values,
    connections_by_component,
    print_json,
    read_input_text,
    report_error,
)
from zhipu_connector.definition.locations import location, parts_of
from zhipu_connector.definition.plain_json import JsonSyntaxError, JsonValueError, read_json
from zhipu_connector.host.errors import ConnectionValidationError, ConnectorError, InputValidationError, Problem
from zhipu_connector.host.host import default_host
from zhipu_connector.host.secrets import scrub, scrub_value


def show_core_log() -> None:
    """The core logger action's messages are meant to be seen: show them from INFO up."""
    from zhipu_connector.core.logger import LOGGER_NAME

    configure_logging()
    logging.getLogger(LOGGER_NAME).setLevel(logging.INFO)


# ---------------------------------------------------------------- workflow


def workflow_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="workflow_command", metavar="SUBCOMMAND", required=True)
    check = commands.add_parser(
        "check",
        help="check a workflow file without running it",
        description="Check a workflow file without running anything: exit 0, or 1 with every problem.",
    )
    check.add_argument("file", help="workflow file (.yaml, .yml or .json)")
    run = commands.add_parser(
        "run",
        help="run a workflow file's tasks in order",
        description="Run a workflow's tasks in order; each task is shown on stderr as it runs, the results are printed as JSON.",
    )
    run.add_argument("file", help="workflow file (.yaml, .yml or .json)")
    add_input_arguments(run)
    run.add_argument("--output", metavar="FILE", help="write the results JSON to FILE instead of stdout")
    add_connection_arguments(run, several_components=True)
    run.add_argument(
        "--connections",
        metavar="FILE",
        help="connection values per component, as a JSON or YAML object: {component: {key: value}}",
    )


def workflow_command(args: argparse.Namespace) -> int:
    from zhipu_connector.workflow.checks import check_workflow, template_notes
    from zhipu_connector.workflow.errors import WorkflowError
    from zhipu_connector.workflow.model import load_workflow

    workflow = load_workflow(args.file)
    host = default_host()
    if args.workflow_command == "check":
        problems = check_workflow(host, workflow)
        if problems:
            raise WorkflowError(problems, subject=workflow.source)
        for note in template_notes(host, workflow):
            print(f"note: {note}", file=sys.stderr)
        print(f"ok: {workflow.title}: {len(workflow.tasks)} task(s), {len(workflow.inputs)} input(s)")
        return 0
    show_core_log()
    if args.output:
        check_output_file(args.output, "--output")  # before any task runs, and is billed
    inputs = workflow_inputs(args, workflow)
    connections = workflow_connections(args, host, workflow)
    return _run_and_report(host, workflow, inputs, connections, args.output)


def _run_and_report(
    host: Any, workflow: Any, inputs: dict[str, Any], connections: dict[str, Any], output: str | None
) -> int:
    from zhipu_connector.workflow.errors import WorkflowRunError
    from zhipu_connector.workflow.runner import run_workflow

    try:
        result = run_workflow(host, workflow, inputs, connections, on_event=TaskPrinter(sys.stderr))
    except WorkflowRunError as error:
        _write_result({"tasks": error.outputs, "error": error.to_dict()}, output)
        report_error(error)
        return EXIT_FAILED
    _write_result(result.to_dict(), output)
    return 0


def _write_result(value: Any, output: str | None) -> None:
    """The results to `output`, or stdout; if `output` fails now, on stdout all the same.

    The tasks have run and been paid for, so their results are never lost to a write error:
    they are printed, and one error line says what happened.
    """
    value = scrub_value(value)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as file:
                print_json(value, stream=file)
        except OSError as error:
            print_json(value)
            raise ConnectorError(
                f"could not write the results to {output} ({error.strerror or error}); they are printed above"
            ) from None
        print(f"results written to {output}", file=sys.stderr)
    else:
        print_json(value)


def workflow_inputs(args: argparse.Namespace, workflow: Any) -> dict[str, Any]:
    """`--input-file`, `--input`, then `-i name=value`; a value is text for a text input, else JSON."""
    pairs, args.pairs = args.pairs, []
    inputs = collect_inputs(args)
    args.pairs = pairs
    declared = {item.name: item for item in workflow.inputs}
    problems: list[Problem] = []
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            problems.append(Problem("-i", f"{pair!r} is not NAME=VALUE"))
            continue
        item = declared.get(name)
        if item is not None and item.json_type == "string":
            inputs[name] = raw
            continue
        try:
            inputs[name] = read_json(raw)
        except JsonValueError as error:
            if not isinstance(error, JsonSyntaxError):
                problems += [
                    Problem(location(["inputs", name, *parts_of(p.location)]), p.message) for p in error.problems
                ]
            elif item is None:
                inputs[name] = raw  # reported as an unknown input by the checks
            else:
                problems.append(
                    Problem(f"inputs.{name}", f"{item.title} must be {item.type.upper()} written as JSON, not {raw!r}")
                )
    if problems:
        raise InputValidationError(problems)
    return inputs


def workflow_connections(args: argparse.Namespace, host: Any, workflow: Any) -> dict[str, Any]:
    """Connection values for each component the workflow uses that needs one.

    Each component gets the environment variables its own definition names, then its entry in
    `--connections FILE`, then the `-c` options meant for it (`-c zhipu.token=...`).
    """
    from_file: dict[str, Any] = {}
    if args.connections:
        from zhipu_connector.definition.yaml_source import YamlError, read_yaml

        try:
            from_file = read_yaml(read_input_text(args.connections, "--connections")).data or {}
        except YamlError as error:
            raise ConnectionValidationError(
                [Problem("--connections", f"cannot read {args.connections}: {error}")]
            ) from None
        if not isinstance(from_file, dict) or not all(isinstance(v, dict) for v in from_file.values()):
            raise ConnectionValidationError(
                [Problem("--connections", "must be an object of objects: {component: {key: value}}")]
            )
    components: dict[str, Any] = {}
    for task in workflow.tasks:
        task_type = task.task_type
        if task_type is None or task_type.component in components:
            continue
        try:
            components[task_type.component] = host.component(task_type.component)
        except ConnectorError:
            continue  # reported by the checks
    return connections_by_component(args, [c for c in components.values() if c.connection is not None], given=from_file)


class TaskPrinter:
    """Shows each task on a stream as it starts, finishes, is retried or fails."""

    def __init__(self, stream: IO[str], *, show_output: bool = False, width: int = 400) -> None:
        self.stream = stream
        self.show_output = show_output
        self.width = width

    def __call__(self, event: Any) -> None:
        task = event.task
        if event.kind == "start":
            title = f" — {task.label}" if task.label else ""
            again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
            self._print(f"[{event.index + 1}/{event.total}] {task.name} {task.type}{title}{again}")
        elif event.kind == "finish":
            self._print(f"      done in {event.seconds:.2f} s")
            for warning in event.warnings:
                self._print(f"      warning: {warning}")
            if self.show_output:
                self._print(f"      output: {self._preview(event.output)}")
        elif event.kind == "retry":
            self._print(f"      failed, retrying in {event.seconds:g} s: {_first_line(event.error)}")
        elif event.kind == "fail":
            self._print(f"      failed: {_first_line(event.error)}")

    def _preview(self, value: Any) -> str:
        text = scrub(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        text = " ".join(text.split())
        return text if len(text) <= self.width else text[: self.width - 1] + "…"

    def _print(self, text: str) -> None:
        print(scrub(text), file=self.stream, flush=True)


def _first_line(error: Any) -> str:
    return str(error).splitlines()[0] if error is not None else ""


# ---------------------------------------------------------------- batch


def batch_arguments(parser: argparse.ArgumentParser) -> None:
    from zhipu_connector.workflow.batch import DEFAULT_CONCURRENCY

    parser.add_argument("action", help="action key: ask, createImage, or COMPONENT.ACTION (e.g. core.download)")
    parser.add_argument("--rows", required=True, metavar="FILE.jsonl", help="one JSON object of inputs per line")
    parser.add_argument(
        "--out",
        required=True,
        metavar="RESULTS.jsonl",
        help="results, one line per row; rows already there are skipped",
    )
    parser.add_argument(
        "--concurrency",
        default=DEFAULT_CONCURRENCY,
        metavar="auto|N",
        help=f"rows in flight at once; auto finds the account's limit (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument("--retry-errors", action="store_true", help="run again the rows whose result is an error")
    parser.add_argument(
        "--via",
        metavar="NAME",
        help="run the rows through a provider's batch service instead of one call each (Zhipu: batch-api)",
    )
    parser.add_argument("--cancel", action="store_true", help="with --via: cancel the run in progress on --out")
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="with --via: seconds between two looks at the running batches (default 30)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
    add_connection_arguments(parser)


def batch_command(args: argparse.Namespace) -> int:
    from zhipu_connector.workflow.batch import BatchError, BatchStop, run_batch
    from zhipu_connector.workflow.bulk import refuse_if_bulk_pending
    from zhipu_connector.workflow.progress import make_progress

    configure_logging()
    host = default_host()
    component, action = host.resolve_action(args.action)
    bound = host.action(component, action)
    connection = (
        host.connection(component, connection_values(args, bound.component)) if bound.connections.required else None
    )
    progress = None if args.no_progress else make_progress(sys.stderr)
    if args.via:
        return _bulk_command(args, host, component, action, connection, progress)
    if args.cancel:
        raise BatchError("--cancel cancels a run through a batch service: give its --via NAME too")
    refuse_if_bulk_pending(args.out)

    async def main() -> Any:
        stop = BatchStop()
        summary = await run_batch(
            host,
            component,
            action,
            args.rows,
            args.out,
            concurrency=args.concurrency,
            connection=connection,
            progress=progress,
            retry_errors=args.retry_errors,
            stop=stop,
            handle_signals=True,
        )
        return summary, stop

    summary, stop = asyncio.run(main())
    print(summary.describe(args.out), file=sys.stderr)
    if summary.interrupted:
        print(
            f"stopped: rows in flight were {'cancelled' if stop.cancelling.is_set() else 'finished'}; run the same command again to do the rest",
            file=sys.stderr,
        )
        number = stop.signal_number or signal.SIGINT
        return EXIT_INTERRUPTED if number == signal.SIGINT else 128 + int(number)
    return EXIT_FAILED if summary.failed else 0


def _bulk_command(
    args: argparse.Namespace, host: Any, component: str, action: str, connection: Any, progress: Any
) -> int:
    """`batch --via NAME`: the rows through a plugin's bulk runner; Ctrl-C and SIGTERM stop the waiting."""
    from zhipu_connector.workflow.bulk import run_bulk

    stop = threading.Event()
    caught: list[int] = []

    def on_signal(number: int, frame: Any) -> None:
        caught.append(number)
        stop.set()

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        summary = run_bulk(
            host,
            args.via,
            component,
            action,
            args.rows,
            args.out,
            connection=connection,
            progress=progress,
            retry_errors=args.retry_errors,
            cancel=args.cancel,
            stop=stop,
            options={"poll_seconds": args.poll_seconds},
        )
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    print(summary.describe(args.out), file=sys.stderr)
    if summary.interrupted:
        first = caught[0] if caught else int(signal.SIGINT)
        return EXIT_INTERRUPTED if first == signal.SIGINT else 128 + first
    return EXIT_FAILED if summary.failed else 0
