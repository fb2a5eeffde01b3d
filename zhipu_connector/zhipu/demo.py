"""`zhipu-connector demo`: every example workflow, end to end, against the embedded emulator.

The emulator (a Zhipu-compatible server written from the API reference) starts on a free
loopback port; each workflow in `examples/workflows/` runs with its inputs' default values,
through the same runner and the same Zhipu handlers as against the real API — only the
connection's base URL differs. Each step and its output are shown; files the workflows save
go to an output directory (an input named `outputDir` is pointed there).

The Zhipu plugin adds this command through the `register_commands` hook: the generic command
line and workflow runner know nothing of the emulator.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from zhipu_connector.cli import print_json, report_error
from zhipu_connector.host.environment import environment_values
from zhipu_connector.host.errors import ConnectorError
from zhipu_connector.host.files import using_files_root
from zhipu_connector.host.host import default_host
from zhipu_connector.workflow.cli import TaskPrinter, show_core_log
from zhipu_connector.workflow.examples import example_workflows
from zhipu_connector.workflow.model import Workflow, load_workflow

DEMO_KEY = "demo.emulator-only-key"
"""The key the demo's emulator accepts; it is not a real key and works nowhere else."""

OUTPUT_DIR_INPUT = "outputDir"
DEMO_TASK_SECONDS = 0.5
ZHIPU = "zhipu"


def demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output-dir", metavar="DIR", help="where the workflows save files (default: a new temporary directory)"
    )
    parser.add_argument(
        "--workflow",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this example (file name, with or without extension); repeatable",
    )


def demo_command(args: argparse.Namespace) -> int:
    show_core_log()
    return run_demo(output_dir=args.output_dir, only=args.workflow, stream=sys.stdout)


def run_demo(*, output_dir: str | Path | None = None, only: Sequence[str] = (), stream: IO[str]) -> int:
    """Run the examples; 0 when every workflow succeeded, 1 otherwise."""
    from zhipu_connector.emulator import EmulatorConfig, running_emulator

    paths = _chosen(example_workflows(), only)
    directory = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="zhipu-connector-demo-"))
    if directory.exists() and not directory.is_dir():
        raise ConnectorError(f"--output-dir {directory} is a file, not a directory; name a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConnectorError(f"cannot create --output-dir {directory}: {error.strerror or error}") from None
    host = default_host()
    failures = 0
    # Tasks (video, async image) finish within the first check, a second after they start.
    config = EmulatorConfig(api_keys=frozenset({DEMO_KEY}), task_seconds=DEMO_TASK_SECONDS)
    with running_emulator(config) as base_url, using_files_root(directory):
        print(f"Zhipu emulator listening at {base_url}; files go to {directory}", file=stream)
        for path in paths:
            failures += 0 if _run_one(host, path, base_url, directory, stream) else 1
    print(f"\n{len(paths) - failures} of {len(paths)} workflow(s) succeeded; files are in {directory}", file=stream)
    return 1 if failures else 0


def _chosen(paths: list[Path], only: Sequence[str]) -> list[Path]:
    if not only:
        return paths
    chosen = [path for path in paths if path.name in only or path.stem in only]
    missing = set(only) - {path.name for path in chosen} - {path.stem for path in chosen}
    if missing:
        known = ", ".join(path.stem for path in paths)
        raise ConnectorError(f"no example workflow named {', '.join(sorted(missing))} (examples: {known})")
    return chosen


def _run_one(host: Any, path: Path, base_url: str, directory: Path, stream: IO[str]) -> bool:
    from zhipu_connector.workflow.runner import run_workflow

    try:
        workflow = load_workflow(path)
        print(f"\n== {workflow.title} ({path.name})", file=stream)
        if workflow.description:
            print(f"   {workflow.description}", file=stream)
        inputs = _inputs(workflow, directory)
        for name, value in inputs.items():
            print(f"   input {name} = {value!r}", file=stream)
        connections = _connections(host, workflow, base_url)
        result = run_workflow(host, workflow, inputs, connections, on_event=TaskPrinter(stream, show_output=True))
    except ConnectorError as error:
        report_error(error)
        return False
    if result.outputs:
        print("   workflow outputs:", file=stream)
        print_json(result.outputs, stream=stream)
    return True


def _inputs(workflow: Workflow, directory: Path) -> dict[str, Any]:
    values = {item.name: item.default for item in workflow.inputs if item.has_default}
    if any(item.name == OUTPUT_DIR_INPUT for item in workflow.inputs):
        values[OUTPUT_DIR_INPUT] = str(directory)
    return values


def _connections(host: Any, workflow: Workflow, base_url: str) -> dict[str, Any]:
    """The emulator's URL and demo key for the Zhipu component; nothing for any other."""
    connections: dict[str, Any] = {}
    for task in workflow.tasks:
        task_type = task.task_type
        if task_type is None:
            continue
        try:
            component = host.component(task_type.component)
        except ConnectorError:
            continue  # reported by the checks when the workflow runs
        if component.connection is None:
            continue
        if component.name == ZHIPU:
            connections[ZHIPU] = {"token": DEMO_KEY, "baseUrl": base_url}
        else:  # another connector in an example gets only what it declares itself
            connections[component.name] = environment_values(component, os.environ)
    return connections
