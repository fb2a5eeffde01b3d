"""`${...}` references in task parameters: their grammar, and resolving them to values.

A parameter string that is exactly one reference (`${image_1.data[0].url}`) takes the value
it names, with that value's type; a string with references inside (`"Draw ${ask_1}"`) is
text, each reference inserted as text (strings as they are, null as nothing, anything else
as JSON). `$${` writes a literal `${`.

A reference is a root name followed by `.key`, `[index]` or `['key']` steps. The root is a task
(`${ask_1}`), a workflow input (`${inputs.topic}`), or, as ByteChef writes it, an input by its
bare name (`${topic}`). The grammar is parsed by hand; nothing is ever evaluated.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from zhipu_connector.placeholders import escape_placeholders
from zhipu_connector.values import as_text, kind_of
from zhipu_connector.workflow.errors import ReferenceResolutionError

Step = str | int

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"\.([A-Za-z0-9_-]+)")
_INDEX = re.compile(r"\[([0-9]+)\]")
_QUOTED_KEY = re.compile(r"""\[(?:'([^'\]]*)'|"([^"\]]*)")\]""")
_SPACES = re.compile(r"\s*")


class ReferenceSyntaxError(ValueError):
    """A `${` that does not start a well-formed reference; the message says what to write."""


@dataclass(frozen=True)
class Reference:
    """One `${...}`: where its value comes from and the path into it."""

    text: str
    root: str
    steps: tuple[Step, ...] = ()
    explicit_input: bool = False

    @property
    def path(self) -> str:
        """The reference without `${}` and `inputs.`: `image_1.data[0].url`."""
        return self.root + steps_text(self.steps)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Interpolation:
    """A string with references inside: literal pieces and references, in order."""

    parts: tuple[str | Reference, ...]

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(part for part in self.parts if isinstance(part, Reference))


def steps_text(steps: tuple[Step, ...]) -> str:
    text = ""
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        elif _KEY.fullmatch(f".{step}"):
            text += f".{step}"
        else:
            text += f"[{json.dumps(step)}]"
    return text


def parse_string(text: str) -> str | Reference | Interpolation:
    """A parameter string as plain text, one whole reference, or text with references."""
    if "${" not in text:
        return text
    if text.startswith("=") and "${" in text:
        raise ReferenceSyntaxError(
            "expressions (a value starting with '=') are not supported; write the references alone, e.g. ${ask_1}"
        )
    parts: list[str | Reference] = []
    literal = ""
    position = 0
    while position < len(text):
        if text.startswith("$${", position):
            literal += "${"
            position += 3
        elif text.startswith("${", position):
            end = text.find("}", position + 2)
            if end < 0:
                raise ReferenceSyntaxError(
                    f"{text[position : position + 40]!r}: '${{' is not closed by '}}' (write $${{ for a literal ${{)"
                )
            if literal:
                parts.append(literal)
                literal = ""
            parts.append(parse_reference(text[position : end + 1]))
            position = end + 1
        else:
            literal += text[position]
            position += 1
    if literal:
        parts.append(literal)
    if len(parts) == 1 and isinstance(parts[0], Reference):
        return parts[0]
    if not any(isinstance(part, Reference) for part in parts):
        return "".join(parts)  # type: ignore[arg-type]
    return Interpolation(tuple(parts))


def parse_reference(text: str) -> Reference:
    """Parse `${root.key[0]['other key']}`."""
    inner = text[2:-1]
    position = _SPACES.match(inner).end()  # type: ignore[union-attr]
    name = _NAME.match(inner, position)
    if name is None:
        raise ReferenceSyntaxError(f"{text}: a reference starts with a task or input name (letters, digits, _)")
    root = name.group(0)
    position = name.end()
    steps: list[Step] = []
    while position < len(inner):
        if inner[position:].strip() == "":
            break
        for pattern in (_KEY, _INDEX, _QUOTED_KEY):
            match = pattern.match(inner, position)
            if match:
                break
        else:
            raise ReferenceSyntaxError(f"{text}: cannot read {inner[position:]!r}; use .key, [index] or ['key']")
        if pattern is _INDEX:
            steps.append(int(match.group(1)))
        elif pattern is _KEY:
            steps.append(match.group(1))
        else:
            steps.append(match.group(1) if match.group(1) is not None else match.group(2))
        position = match.end()
    if root == "inputs":
        if not steps or not isinstance(steps[0], str):
            raise ReferenceSyntaxError(f"{text}: name the input, as in ${{inputs.topic}}")
        return Reference(text, str(steps[0]), tuple(steps[1:]), explicit_input=True)
    return Reference(text, root, tuple(steps))


# ---------------------------------------------------------------- compiled parameter trees


def compile_value(value: Any, path: tuple[Step, ...] = ()) -> tuple[Any, list[tuple[tuple[Step, ...], str]]]:
    """`value` with every referencing string replaced by its `Reference`/`Interpolation`.

    Returns the compiled tree and the syntax problems found, each with its path.
    """
    problems: list[tuple[tuple[Step, ...], str]] = []

    def walk(node: Any, where: tuple[Step, ...]) -> Any:
        if isinstance(node, str):
            try:
                return parse_string(node)
            except ReferenceSyntaxError as error:
                problems.append((where, str(error)))
                return node
        if isinstance(node, dict):
            return {key: walk(item, (*where, key)) for key, item in node.items()}
        if isinstance(node, list):
            return [walk(item, (*where, index)) for index, item in enumerate(node)]
        return node

    return walk(value, path), problems


def references_in(
    compiled: Any, path: tuple[Step, ...] = ()
) -> Iterator[tuple[tuple[Step, ...], Reference | Interpolation]]:
    """Every reference or interpolation in a compiled tree, with its path."""
    if isinstance(compiled, (Reference, Interpolation)):
        yield path, compiled
    elif isinstance(compiled, dict):
        for key, item in compiled.items():
            yield from references_in(item, (*path, key))
    elif isinstance(compiled, list):
        for index, item in enumerate(compiled):
            yield from references_in(item, (*path, index))


# ---------------------------------------------------------------- resolution


class _Absent:
    """The value of an optional input that was not given: the parameter is left out."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


@dataclass
class Scope:
    """What references can see: the workflow's inputs and the outputs of the tasks run so far."""

    inputs: Mapping[str, Any]
    input_names: frozenset[str]
    outputs: Mapping[str, Any]

    def root_value(self, reference: Reference) -> Any:
        if reference.explicit_input or reference.root in self.input_names:
            if reference.root in self.inputs:
                return self.inputs[reference.root]
            if reference.root in self.input_names:
                return ABSENT
            raise ReferenceResolutionError(f"{reference}: there is no input {reference.root!r}")
        if reference.root in self.outputs:
            return self.outputs[reference.root]
        raise ReferenceResolutionError(f"{reference}: task {reference.root!r} has not run")


def lookup(scope: Scope, reference: Reference) -> Any:
    """The value `reference` names; `ReferenceResolutionError` says where the path breaks."""
    current = scope.root_value(reference)
    if current is ABSENT:
        if reference.steps:
            raise ReferenceResolutionError(f"{reference}: input {reference.root!r} was not given")
        return ABSENT
    walked = reference.root
    for step in reference.steps:
        if isinstance(step, int):
            if not isinstance(current, list):
                raise ReferenceResolutionError(f"{reference}: {walked} is {kind_of(current)}, not an array")
            if step >= len(current):
                raise ReferenceResolutionError(f"{reference}: {walked} has {len(current)} item(s), no index {step}")
            current = current[step]
        else:
            if not isinstance(current, Mapping):
                raise ReferenceResolutionError(
                    f"{reference}: {walked} is {kind_of(current)}, not an object with key {step!r}"
                )
            if step not in current:
                known = ", ".join(map(str, current)) or "none"
                raise ReferenceResolutionError(f"{reference}: {walked} has no key {step!r} (keys: {known})")
            current = current[step]
        walked += steps_text((step,))
    return current


def resolve_parameters(
    compiled: dict[str, Any], scope: Scope, templates: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A task's parameters resolved; the text references insert into a template stays literal.

    `templates` names the action's properties declared `template: true`. What a reference puts
    into one of them is escaped by the placeholder grammar, so a model's answer that contains
    `{secret}` is shown as written, never filled in from the template's values.
    """
    resolved = {
        key: resolve(item, scope, literal=escape_placeholders if key in templates else None)
        for key, item in compiled.items()
    }
    return {key: item for key, item in resolved.items() if item is not ABSENT}


def resolve(compiled: Any, scope: Scope, *, literal: Callable[[str], str] | None = None) -> Any:
    """The plain value of a compiled tree; an absent optional input leaves its key or item out.

    `literal`, when given, is applied to each string a reference inserts (see `resolve_parameters`).
    """
    if isinstance(compiled, Reference):
        value = lookup(scope, compiled)
        if literal is not None and isinstance(value, str):
            return literal(value)
        return value if value is ABSENT else copy.deepcopy(value)
    if isinstance(compiled, Interpolation):
        pieces = []
        for part in compiled.parts:
            if isinstance(part, Reference):
                value = lookup(scope, part)
                text = "" if value is ABSENT else as_text(value)
                pieces.append(literal(text) if literal is not None else text)
            else:
                pieces.append(part)
        return "".join(pieces)
    if isinstance(compiled, dict):
        resolved = {key: resolve(item, scope) for key, item in compiled.items()}
        return {key: item for key, item in resolved.items() if item is not ABSENT}
    if isinstance(compiled, list):
        return [item for item in (resolve(element, scope) for element in compiled) if item is not ABSENT]
    return compiled
