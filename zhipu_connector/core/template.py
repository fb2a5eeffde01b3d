"""`textTemplate`: fill in `${name}` or `{name}` placeholders, by a fixed grammar and nothing else.

A template is data a user typed; it must never run code. So there is no `eval`, no
`str.format` (which reaches attributes and indexes of Python objects) and no template engine:
one regular expression finds placeholders, and a placeholder's path only walks JSON objects
by key and arrays by index.

Two spellings exist because inside a workflow file `${...}` is resolved by the workflow before
the action runs; `{name}` is left for the template. `$${name}` and `{{name}}` stand for the
placeholder text itself. Any other brace is ordinary text, so JSON in a template stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import InputValidationError, Problem
from zhipu_connector.placeholders import PLACEHOLDER
from zhipu_connector.values import as_text, kind_of

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[([0-9]+)\]")


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """`template` with every placeholder replaced; every unresolvable one reported at once."""
    problems: list[Problem] = []

    def replace(match: re.Match[str]) -> str:
        if match.group("dollar_literal") is not None:
            return "${" + match.group("dollar_literal") + "}"
        if match.group("brace_literal") is not None:
            return "{" + match.group("brace_literal") + "}"
        path = match.group("dollar") or match.group("brace")
        found, value, why = lookup(values, path)
        if not found:
            problems.append(Problem("template", f"placeholder {match.group(0)}: {why}"))
            return ""
        return as_text(value)

    text = PLACEHOLDER.sub(replace, template)
    if problems:
        raise InputValidationError(problems, subject="core.textTemplate")
    return text


def lookup(values: Mapping[str, Any], path: str) -> tuple[bool, Any, str]:
    """Walk `path` (`name.key[0]`) through `values`: (found, value, why not found)."""
    head = _NAME.match(path)
    if head is None:
        return False, None, f"{path!r} does not start with a name"
    name = head.group(0)
    if name not in values:
        known = ", ".join(sorted(values)) or "none"
        return False, None, f"no value named {name!r} (values: {known})"
    current: Any = values[name]
    walked = name
    for step in _STEP.finditer(path, head.end()):
        key, index = step.group(1), step.group(2)
        if key is not None:
            if not isinstance(current, Mapping):
                return False, None, f"{walked} is {kind_of(current)}, not an object with key {key!r}"
            if key not in current:
                return False, None, f"{walked} has no key {key!r}"
            current = current[key]
        else:
            position = int(index)
            if not isinstance(current, list):
                return False, None, f"{walked} is {kind_of(current)}, not an array"
            if position >= len(current):
                return False, None, f"{walked} has {len(current)} item(s), no index {position}"
            current = current[position]
        walked += step.group(0)
    return True, current, ""


def text_template(inputs: dict[str, Any], connection: Any, context: ActionContext) -> str:
    """The `core.textTemplate` handler."""
    return render_template(inputs["template"], inputs.get("values") or {})
