"""Safe YAML reading that keeps what a person needs to fix the file.

PyYAML's safe loader quietly keeps the last of two duplicate keys and expands aliases
without limit (an "alias bomb" turns a few lines into an exponentially large tree). This
reader composes the node graph with the C loader when it is there, then builds plain Python
values itself: duplicate keys and aliases are errors, every value's line is remembered by its
dotted path, and dates stay text, so what comes out is exactly what JSON could hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

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
    """Parsed data plus the line (1-based) of each dotted path, for error messages."""

    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, location: str) -> int | None:
        """The line of `location` or of its nearest enclosing path that has one."""
        while True:
            if location in self.lines:
                return self.lines[location]
            if not location:
                return None
            location = location.rpartition(".")[0]


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

    def build(self, node: yaml.Node, path: str) -> Any:
        if id(node) in self._seen:  # the composer hands back the same node for an alias
            self.problems.append(Problem(path, f"line {node.start_mark.line + 1}: anchors and aliases are not allowed"))
            return None
        self._seen.add(id(node))
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [
                self.build(item, f"{path}.{index}" if path else str(index)) for index, item in enumerate(node.value)
            ]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(path, f"line {key_node.start_mark.line + 1}: merge keys (<<) are not allowed")
                )
                continue
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.problems.append(
                    Problem(path, f"line {key_node.start_mark.line + 1}: keys must be text, not {key!r}")
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
            result[key] = self.build(value_node, child)
        return result

    @staticmethod
    def _scalar(node: yaml.ScalarNode) -> Any:
        if node.tag in _TEXT_TAGS:
            return node.value
        constructor = _SCALAR_CONSTRUCTOR.yaml_constructors.get(node.tag)
        if constructor is None:
            return node.value
        return constructor(_SCALAR_CONSTRUCTOR, node)
