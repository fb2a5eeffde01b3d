"""Workflow files: reading YAML or JSON, checking the shape, and the typed model of what was read.

The shape is ByteChef's (`label`, `description`, `inputs`, `tasks` with `name`, `type`,
`parameters`), so a workflow written there runs here. `schemas/workflow.schema.json` states it;
this module reports every breach at once, located like `tasks[1].type`, with the YAML line.
Whether the tasks make sense together (known actions, parameters, references) is `checks.py`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from zhipu_connector.definition.plain_json import JsonValueError, read_json
from zhipu_connector.definition.schema_errors import describe, validator_class
from zhipu_connector.definition.sources import SourceError, read_source
from zhipu_connector.definition.yaml_source import MAX_BYTES, YamlDocument, YamlError, read_yaml
from zhipu_connector.host.errors import Problem
from zhipu_connector.resources import load_schema
from zhipu_connector.workflow.errors import WorkflowError
from zhipu_connector.workflow.locations import location

SCHEMA_NAME = "workflow.schema.json"

INPUT_JSON_TYPES: dict[str, str] = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
    "date": "string",
    "date_time": "string",
    "time": "string",
}
"""A workflow input's declared type → the JSON type its value must have."""


@dataclass(frozen=True)
class WorkflowInput:
    name: str
    type: str = "string"
    label: str | None = None
    description: str | None = None
    required: bool = False
    default: Any = None
    has_default: bool = False

    @property
    def json_type(self) -> str:
        return INPUT_JSON_TYPES[self.type]

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class TaskType:
    """`zhipu/v1/ask` taken apart."""

    component: str
    version: int
    action: str

    def __str__(self) -> str:
        return f"{self.component}/v{self.version}/{self.action}"


@dataclass(frozen=True)
class WorkflowTask:
    index: int
    name: str
    type: str
    parameters: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    description: str | None = None
    max_retries: int = 0

    @property
    def task_type(self) -> TaskType | None:
        """The parsed type, or None when it is not `component/vN/action`."""
        parts = self.type.split("/")
        if len(parts) != 3 or not parts[1].startswith("v") or not parts[1][1:].isdigit():
            return None
        return TaskType(parts[0], int(parts[1][1:]), parts[2])


@dataclass(frozen=True)
class WorkflowOutput:
    index: int
    name: str
    value: Any


@dataclass(frozen=True)
class Workflow:
    tasks: tuple[WorkflowTask, ...]
    inputs: tuple[WorkflowInput, ...] = ()
    outputs: tuple[WorkflowOutput, ...] = ()
    trigger_names: tuple[str, ...] = ()
    label: str | None = None
    description: str | None = None
    source: str = "workflow"
    lines: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def title(self) -> str:
        return self.label or self.source

    def task(self, name: str) -> WorkflowTask:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)

    def line_of(self, parts: list[str | int]) -> int | None:
        """The line of a place in the file (or of the nearest enclosing place); None for JSON."""
        document = YamlDocument(None, dict(self.lines))
        return document.line_of(location(parts))


def load_workflow(path: str | Path) -> Workflow:
    """Read and shape-check the workflow at `path`; `WorkflowError` lists every problem."""
    path = Path(path)
    try:
        raw = read_source(path, max_bytes=MAX_BYTES)
    except SourceError as error:
        raise WorkflowError(error.problems, subject=str(path)) from None
    return parse_workflow(raw, subject=str(path), json_format=path.suffix.lower() == ".json")


def parse_workflow(text: str | bytes, *, subject: str = "workflow", json_format: bool = False) -> Workflow:
    """`load_workflow` for text in memory; JSON is read strictly (duplicate keys are errors)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise WorkflowError(
                [Problem("", f"the file is not UTF-8 text (byte {error.start})")], subject=subject
            ) from None
    document = _read_json(text, subject) if json_format else _read_yaml(text, subject)
    problems = [_with_line(problem, document) for problem in schema_problems(document.data)]
    if problems:
        raise WorkflowError(problems, subject=subject)
    return _build(document, subject)


def _read_yaml(text: str, subject: str) -> YamlDocument:
    try:
        return read_yaml(text)
    except YamlError as error:
        raise WorkflowError(error.problems, subject=subject) from None


def _read_json(text: str, subject: str) -> YamlDocument:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    try:
        data = read_json(text, object_pairs_hook=pairs)
    except JsonValueError as error:
        raise WorkflowError(error.problems, subject=subject) from None
    if duplicates:
        raise WorkflowError([Problem("", f"duplicate key {key!r}") for key in duplicates], subject=subject)
    return YamlDocument(data)


@lru_cache(maxsize=1)
def _validator() -> Any:
    return validator_class()(load_schema(SCHEMA_NAME))


def schema_problems(data: Any) -> list[Problem]:
    """Every breach of `workflow.schema.json`, worded for people, in file order."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [_describe(error) for error in errors]


def _describe(error: Any) -> Problem:
    """The workflow format's own cases; every other error is worded by the one describer."""
    parts = list(error.absolute_path)
    where = location(parts)
    field_name = parts[-1] if parts else ""
    if field_name == "type" and error.validator == "pattern":
        return Problem(where, f"{error.instance!r} is not of the form component/vVERSION/action (e.g. zhipu/v1/ask)")
    if field_name == "name" and error.validator in ("pattern", "not"):
        if error.validator == "not":
            return Problem(where, "'inputs' is reserved for ${inputs.NAME} references")
        return Problem(
            where, f"{error.instance!r} is not a valid name: use letters, digits and _, not starting with a digit"
        )
    if field_name == "clusterElements":
        return Problem(where, "cluster elements are not supported; leave it empty")
    return describe(error, load_schema(SCHEMA_NAME))


def _with_line(problem: Problem, document: YamlDocument) -> Problem:
    if not document.lines:
        return problem
    line = document.line_of(problem.location)
    return Problem(problem.location, f"{problem.message} (line {line})") if line else problem


def _build(document: YamlDocument, subject: str) -> Workflow:
    data: dict[str, Any] = document.data
    inputs = tuple(
        WorkflowInput(
            name=item["name"],
            type=str(item.get("type", "string")).lower(),
            label=item.get("label"),
            description=item.get("description"),
            required=bool(item.get("required", False)),
            default=item.get("defaultValue"),
            has_default="defaultValue" in item and item["defaultValue"] is not None,
        )
        for item in data.get("inputs", [])
    )
    tasks = tuple(
        WorkflowTask(
            index=index,
            name=item["name"],
            type=item["type"],
            parameters=dict(item.get("parameters", {})),
            label=item.get("label"),
            description=item.get("description"),
            max_retries=int(item.get("maxRetries", 0)),
        )
        for index, item in enumerate(data["tasks"])
    )
    outputs = tuple(
        WorkflowOutput(index, item["name"], item["value"]) for index, item in enumerate(data.get("outputs", []))
    )
    return Workflow(
        tasks=tasks,
        inputs=inputs,
        outputs=outputs,
        trigger_names=tuple(item["name"] for item in data.get("triggers", [])),
        label=data.get("label"),
        description=data.get("description"),
        source=subject,
        lines=dict(document.lines),
    )
