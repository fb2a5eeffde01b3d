"""Safe YAML reading that keeps what a person needs to fix the file.

PyYAML's safe loader quietly keeps the last of two duplicate keys and expands aliases
without limit (an "alias bomb" turns a few lines into an exponentially large tree). This
reader composes the node graph with the C loader when it is there, then builds plain Python
values itself: duplicate keys and aliases are errors, every value's line is remembered by its
location (`actions.ask.properties.messages`, `tasks[1].parameters`), and dates stay text, so
what comes out is exactly what JSON could hold: `.nan`, `.inf`, integers past
`MAX_INTEGER_DIGITS` digits and nesting past `MAX_DEPTH` levels are errors too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from zhipu_connector.definition.locations import parent
from zhipu_connector.definition.plain_json import MAX_DEPTH, MAX_INTEGER_DIGITS
from zhipu_connector.definition.sources import MAX_BYTES, SourceError
from zhipu_connector.errors import Problem

try:  # the C composer is several times faster; pure Python is the fallback
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

_SCALAR_CONSTRUCTOR = yaml.SafeLoader("")  # only its scalar constructors are used
_TEXT_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}


@dataclass
class YamlDocument:
    """Parsed data plus the line (1-based) of each location, for error messages."""

    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, location: str) -> int | None:
        """The line of `location` or of its nearest enclosing path that has one."""
        while True:
            if location in self.lines:
                return self.lines[location]
            if not location:
                return None
            location = parent(location)


class YamlError(SourceError):
    """The text could not be read as YAML; carries one `Problem` per finding."""


def read_yaml(text: str | bytes, *, max_bytes: int = MAX_BYTES) -> YamlDocument:
    """Parse one YAML document safely; raise `YamlError` listing every structural problem."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > max_bytes:
        raise YamlError([Problem("", f"the file is {size} bytes, over the limit of {max_bytes} bytes")])
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise YamlError([Problem("", f"malformed YAML at {where}: {error.problem}")]) from None
    except yaml.YAMLError as error:
        raise YamlError([Problem("", f"malformed YAML: {error}")]) from None
    builder = _Builder()
    data = builder.build(root, "") if root is not None else None
    if builder.problems:
        raise YamlError(builder.problems)
    return YamlDocument(data, builder.lines)


class _Builder:
    """Turns a composed node graph into JSON-like values, recording lines and problems."""

    def __init__(self) -> None:
        self.lines: dict[str, int] = {}
        self.problems: list[Problem] = []
        self._seen: set[int] = set()

    def build(self, node: yaml.Node, path: str, depth: int = 0) -> Any:
        if id(node) in self._seen:  # the composer hands back the same node for an alias
            self.problems.append(Problem(path, f"line {node.start_mark.line + 1}: anchors and aliases are not allowed"))
            return None
        self._seen.add(id(node))
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and depth >= MAX_DEPTH:
            self.problems.append(
                Problem(path, f"line {node.start_mark.line + 1}: nested deeper than {MAX_DEPTH} levels")
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(node.value)]
        return self._value(node, path)

    def _mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(path, f"line {key_node.start_mark.line + 1}: merge keys (<<) are not allowed")
                )
                continue
            try:
                key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            except ValueError:  # an integer too long to read is not text either
                key = None
            if not isinstance(key, str):
                self.problems.append(
                    Problem(
                        path, f"line {key_node.start_mark.line + 1}: keys must be text, not {key_node.value[:40]!r}"
                    )
                )
                continue
            child = f"{path}.{key}" if path else key
            if key in result:
                first = self.lines.get(child)
                self.problems.append(
                    Problem(
                        child, f"duplicate key {key!r} at line {key_node.start_mark.line + 1} (first at line {first})"
                    )
                )
                continue
            self.lines[child] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, child, depth + 1)
        return result

    def _value(self, node: yaml.ScalarNode, path: str) -> Any:
        """A scalar value; one JSON cannot hold is a problem at its place."""
        line = node.start_mark.line + 1
        try:
            value = self._scalar(node)
        except ValueError:  # Python refuses to read an integer of more than 4300 digits
            self.problems.append(Problem(path, f"line {line}: an integer of more than {MAX_INTEGER_DIGITS} digits"))
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problems.append(Problem(path, f"line {line}: {node.value} is not a finite number (JSON has none)"))
            return None
        return value

    @staticmethod
    def _scalar(node: yaml.ScalarNode) -> Any:
        if node.tag in _TEXT_TAGS:
            return node.value
        constructor = _SCALAR_CONSTRUCTOR.yaml_constructors.get(node.tag)
        if constructor is None:
            return node.value
        return constructor(_SCALAR_CONSTRUCTOR, node)
