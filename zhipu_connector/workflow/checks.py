"""Everything checked before a workflow's first task runs, all reported at once.

`check_workflow` looks at the file against the host's registry: each task's type names a
registered component, version and action; its parameters are those the action's input schema
knows, with every required one present (a reference counts as present) and every literal of
the declared type; each reference names an input or an earlier task, follows a path the
upstream output schema has, and brings a value whose type can fit where it is used.

`plan_workflow` adds what a run needs — the inputs given and the connections — and returns a
`Plan`, or raises `WorkflowError` with every problem. Nothing is sent when it raises.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from zhipu_connector.host.connection import Connection
from zhipu_connector.host.errors import ConnectionValidationError, Problem, UnknownActionError
from zhipu_connector.host.host import Host
from zhipu_connector.host.registry import BoundAction
from zhipu_connector.workflow.errors import WorkflowError
from zhipu_connector.workflow.locations import location, parts_of
from zhipu_connector.workflow.model import TaskType, Workflow, WorkflowInput, WorkflowOutput, WorkflowTask
from zhipu_connector.workflow.references import (
    Interpolation,
    Reference,
    Scope,
    Step,
    compile_value,
    references_in,
)
from zhipu_connector.workflow.schema_walk import PathProblem, can_meet, json_types, schema_at, type_name

_PLACEHOLDER = "\x00reference\x00"
"""Stands in for a referenced value while the literal parts of the parameters are validated."""


@dataclass
class PlannedTask:
    """A task ready to run: its action bound, its parameters compiled (references parsed)."""

    task: WorkflowTask
    task_type: TaskType
    bound: BoundAction
    parameters: dict[str, Any]

    @cached_property
    def templates(self) -> frozenset[str]:
        """The action's properties declared `template: true`: references insert text literally there."""
        return frozenset(prop.name for prop in self.bound.action.properties if prop.template)


@dataclass
class Plan:
    """A workflow that passed every check, with its inputs and connections."""

    workflow: Workflow
    tasks: list[PlannedTask]
    outputs: list[tuple[WorkflowOutput, Any]]
    inputs: dict[str, Any] = field(default_factory=dict)
    connections: dict[str, Connection | None] = field(default_factory=dict)

    def scope(self, outputs: Mapping[str, Any]) -> Scope:
        return Scope(self.inputs, frozenset(i.name for i in self.workflow.inputs), outputs)


def check_workflow(host: Host, workflow: Workflow) -> list[Problem]:
    """Every problem of the workflow itself (not of the inputs or connections a run is given)."""
    return _Analysis(host, workflow).run()[2]


def template_notes(host: Host, workflow: Workflow) -> list[Problem]:
    """A note for each reference into a template property: its text goes in literally.

    Not a problem — the workflow runs — but a user who wrote `template: "Hi ${ask_1}"` may
    expect the answer's own `{placeholders}` to be filled; they are not, by design.
    """
    tasks, _, _ = _Analysis(host, workflow).run()
    notes = []
    for planned in tasks:
        for key in sorted(planned.templates & planned.parameters.keys()):
            for path, found in references_in(planned.parameters[key], (key,)):
                shown = ", ".join(str(reference) for reference in _references_of(found))
                notes.append(
                    Problem(
                        location(["tasks", planned.task.index, "parameters", *path]),
                        f"{shown} is inserted into a template as literal text: placeholders in it are not "
                        "filled in; to fill one from it, pass it in the template's values instead",
                    )
                )
    return notes


def _references_of(found: Reference | Interpolation) -> tuple[Reference, ...]:
    return (found,) if isinstance(found, Reference) else found.references


def plan_workflow(
    host: Host,
    workflow: Workflow,
    inputs: Mapping[str, Any] | None = None,
    connections: Mapping[str, Connection | Mapping[str, Any] | None] | None = None,
) -> Plan:
    """Check the workflow, its inputs and its connections; a `Plan` or `WorkflowError`."""
    tasks, outputs, problems = _Analysis(host, workflow).run()
    bound_inputs, input_problems = bind_inputs(workflow, inputs or {})
    problems += input_problems
    ready, connection_problems = _connections(host, tasks, connections or {})
    problems += connection_problems
    if problems:
        raise WorkflowError(problems, subject=workflow.source)
    return Plan(workflow, tasks, outputs, bound_inputs, ready)


# ---------------------------------------------------------------- the file


class _Analysis:
    """One pass over a workflow; collects planned tasks and problems (with YAML lines)."""

    def __init__(self, host: Host, workflow: Workflow) -> None:
        self.host = host
        self.workflow = workflow
        self.problems: list[Problem] = []
        self.inputs = {item.name: item for item in workflow.inputs}
        self.task_index = {task.name: task.index for task in reversed(workflow.tasks)}
        self.bound: dict[str, BoundAction] = {}

    def report(self, parts: list[Step], message: str) -> None:
        line = self.workflow.line_of(list(parts))
        suffix = f" (line {line})" if line else ""
        self.problems.append(Problem(location(parts), message + suffix))

    def run(self) -> tuple[list[PlannedTask], list[tuple[WorkflowOutput, Any]], list[Problem]]:
        self._check_names()
        self._check_input_defaults()
        planned = [p for p in (self._check_task(task) for task in self.workflow.tasks) if p is not None]
        outputs = [(output, self._check_output(output)) for output in self.workflow.outputs]
        return planned, outputs, self.problems

    def _check_names(self) -> None:
        seen_inputs: set[str] = set()
        for index, item in enumerate(self.workflow.inputs):
            if item.name in seen_inputs:
                self.report(["inputs", index, "name"], f"input {item.name!r} is declared twice")
            seen_inputs.add(item.name)
        seen_tasks: set[str] = set()
        for task in self.workflow.tasks:
            where: list[Step] = ["tasks", task.index, "name"]
            if task.name in seen_tasks:
                self.report(where, f"task name {task.name!r} is used twice; references need unique names")
            elif task.name in self.inputs:
                self.report(
                    where, f"task name {task.name!r} is also an input's name, so ${{{task.name}}} would be ambiguous"
                )
            seen_tasks.add(task.name)

    def _check_input_defaults(self) -> None:
        for index, item in enumerate(self.workflow.inputs):
            if item.has_default:
                why = input_value_problem(item, item.default)
                if why:
                    self.report(["inputs", index, "defaultValue"], why)

    def _check_task(self, task: WorkflowTask) -> PlannedTask | None:
        base: list[Step] = ["tasks", task.index]
        bound = self._bind(task, [*base, "type"])
        parameters = {key: value for key, value in task.parameters.items() if value is not None}
        compiled, syntax = compile_value(parameters)
        for path, message in syntax:
            self.report([*base, "parameters", *path], message)
        references = list(references_in(compiled))
        sources = {path: self._check_node(node, task.index, [*base, "parameters", *path]) for path, node in references}
        if bound is None:
            return None
        self._check_literals(bound, compiled, [path for path, _ in references], [*base, "parameters"])
        for path, node in references:
            self._check_fit(bound, path, node, sources[path], [*base, "parameters", *path])
        task_type = task.task_type
        assert task_type is not None  # _bind returned a bound action
        return PlannedTask(task, task_type, bound, compiled)

    def _bind(self, task: WorkflowTask, where: list[Step]) -> BoundAction | None:
        task_type = task.task_type
        if task_type is None:
            self.report(where, f"{task.type!r} is not of the form component/vVERSION/action (e.g. zhipu/v1/ask)")
            return None
        try:
            component = self.host.component(task_type.component)
        except UnknownActionError as error:
            self.report(where, str(error))
            return None
        if component.version != task_type.version:
            self.report(
                where, f"{component.name} is registered at version {component.version}, not {task_type.version}"
            )
            return None
        try:
            bound = self.host.action(task_type.component, task_type.action)
        except UnknownActionError as error:
            self.report(where, str(error))
            return None
        self.bound[task.name] = bound
        return bound

    def _check_output(self, output: WorkflowOutput) -> Any:
        base: list[Step] = ["outputs", output.index, "value"]
        compiled, syntax = compile_value(output.value)
        for path, message in syntax:
            self.report([*base, *path], message)
        for path, node in references_in(compiled):
            self._check_node(node, len(self.workflow.tasks), [*base, *path])
        return compiled

    # ------------------------------------------------------------ references

    def _check_node(self, node: Reference | Interpolation, position: int, where: list[Step]) -> frozenset[str] | None:
        """Check each reference of a node; the whole value's JSON types (None: unknown or broken)."""
        if isinstance(node, Interpolation):
            for reference in node.references:
                self._source_types(reference, position, where)
            return frozenset({"string"})
        return self._source_types(node, position, where)

    def _source_types(self, reference: Reference, position: int, where: list[Step]) -> frozenset[str] | None:
        schema = self._source_schema(reference, position, where)
        if schema is None:
            return None
        try:
            return json_types(schema_at(schema, reference.steps, reference.root))
        except PathProblem as problem:
            self.report(where, f"{reference}: {problem}")
            return None

    def _source_schema(self, reference: Reference, position: int, where: list[Step]) -> dict[str, Any] | None:
        root = reference.root
        if reference.explicit_input or (root in self.inputs and root not in self.task_index):
            if root in self.inputs:
                return {"type": self.inputs[root].json_type}
            known = ", ".join(self.inputs) or "none"
            self.report(where, f"{reference}: there is no input {root!r} (inputs: {known})")
            return None
        if root in self.task_index:
            index = self.task_index[root]
            if index == position:
                self.report(where, f"{reference}: a task cannot use its own output")
                return None
            if index > position:
                self.report(
                    where,
                    f"{reference}: task {root!r} runs later (tasks[{index}]); only earlier tasks' outputs can be used",
                )
                return None
            bound = self.bound.get(root)
            if bound is None:
                return None
            # an action whose output depends on its inputs: judged by the task's literal parameters
            return bound.output_for(self.workflow.tasks[index].parameters)[0]
        if root in self.workflow.trigger_names:
            self.report(
                where,
                f"{reference}: {root!r} is a trigger; triggers are not run here (a workflow starts when it is run), so it has no output",
            )
            return None
        earlier = ", ".join(task.name for task in self.workflow.tasks[:position]) or "none"
        inputs = ", ".join(self.inputs) or "none"
        self.report(
            where, f"{reference}: no task or input is named {root!r} (earlier tasks: {earlier}; inputs: {inputs})"
        )
        return None

    # ------------------------------------------------------------ parameters

    def _check_literals(
        self, bound: BoundAction, compiled: dict[str, Any], reference_paths: list[tuple[Step, ...]], base: list[Step]
    ) -> None:
        """Validate everything but the references against the input schema."""
        values = _with_placeholders(compiled)
        if bound.inputs.is_valid(values):
            return
        covered = {location(path) for path in reference_paths}
        for problem in bound.inputs.problems(values):
            if any(
                problem.location == place or problem.location.startswith((place + ".", place + "["))
                for place in covered
            ):
                continue  # the referenced value is checked by type below, and again when the task runs
            parts = parts_of(problem.location)
            message = problem.message.replace(repr(_PLACEHOLDER), "a reference")
            self.report([*base, *parts], message)

    def _check_fit(
        self,
        bound: BoundAction,
        path: tuple[Step, ...],
        node: Reference | Interpolation,
        source: frozenset[str] | None,
        where: list[Step],
    ) -> None:
        target = _parameter_schema(bound.input_schema, path)
        if target is None:
            return  # an unknown parameter, already reported
        wanted = json_types(target)
        if can_meet(source, wanted):
            return
        label = target.get("title") or str(path[-1])
        what = (
            f"{node} is {_a(type_name(source))}"
            if isinstance(node, Reference)
            else f"text with references is {_a('STRING')}"
        )
        self.report(where, f"{what}, but {label} takes {_a(type_name(wanted))}")


def _with_placeholders(compiled: Any) -> Any:
    if isinstance(compiled, (Reference, Interpolation)):
        return _PLACEHOLDER
    if isinstance(compiled, dict):
        return {key: _with_placeholders(item) for key, item in compiled.items()}
    if isinstance(compiled, list):
        return [_with_placeholders(item) for item in compiled]
    return compiled


def _parameter_schema(schema: dict[str, Any], path: tuple[Step, ...]) -> dict[str, Any] | None:
    """The input schema of the value at `path`, or None where the schema knows no such place."""
    current: Any = schema
    for step in path:
        if not isinstance(current, dict):
            return None
        if isinstance(step, int):
            current = current.get("items")
        else:
            current = current.get("properties", {}).get(step)
        if current is None:
            return None
    return current if isinstance(current, dict) else None


def _a(name: str) -> str:
    return f"an {name}" if name[:1] in "AEIOU" else f"a {name}"


# ---------------------------------------------------------------- inputs and connections


def bind_inputs(workflow: Workflow, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The inputs a run uses (given values, else defaults), and every problem with them."""
    problems: list[Problem] = []
    declared = {item.name: item for item in workflow.inputs}
    for name in given:
        if name not in declared:
            known = ", ".join(declared) or "none"
            problems.append(Problem(f"inputs.{name}", f"the workflow has no input {name!r} (inputs: {known})"))
    values: dict[str, Any] = {}
    for item in workflow.inputs:
        if item.name in given and given[item.name] is not None:
            why = input_value_problem(item, given[item.name])
            if why:
                problems.append(Problem(f"inputs.{item.name}", why))
            values[item.name] = given[item.name]
        elif item.has_default:
            values[item.name] = item.default
        elif item.required:
            problems.append(Problem(f"inputs.{item.name}", f"{item.title} is required"))
    return values, problems


def input_value_problem(item: WorkflowInput, value: Any) -> str | None:
    """Why `value` cannot be this input's value, or None."""
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if not checks[item.json_type](value):
        return f"{item.title} must be {_a(item.type.upper())}, not {value!r}"
    parsers = {
        "date": datetime.date.fromisoformat,
        "date_time": datetime.datetime.fromisoformat,
        "time": datetime.time.fromisoformat,
    }
    if item.type in parsers:
        try:
            parsers[item.type](value)
        except ValueError:
            return f"{item.title} must be an ISO 8601 {item.type.replace('_', '-')}, not {value!r}"
    return None


def _connections(
    host: Host,
    tasks: list[PlannedTask],
    given: Mapping[str, Connection | Mapping[str, Any] | None],
) -> tuple[dict[str, Connection | None], list[Problem]]:
    """Each used component's connection, checked once for the whole run."""
    problems: list[Problem] = []
    ready: dict[str, Connection | None] = {}
    for planned in tasks:
        name = planned.task_type.component
        if name in ready or not planned.bound.connections.required:
            ready.setdefault(name, None)
            continue
        values = given.get(name)
        if isinstance(values, Connection):
            ready[name] = values
            continue
        try:
            ready[name] = host.connection(name, values or {})
        except ConnectionValidationError as error:
            for problem in error.problems:
                where = f"connections.{name}.{problem.location}" if problem.location else f"connections.{name}"
                problems.append(Problem(where, problem.message))
            ready[name] = None
    return ready, problems
