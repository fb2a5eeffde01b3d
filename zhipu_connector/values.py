"""How JSON-like values read to people: inside text, and when named in an error message.

Shared by everything that puts a value into text (workflow references inside strings, the
core text template), so both read a value the same way.
"""

from __future__ import annotations

import json
from typing import Any


def as_text(value: Any) -> str:
    """How a value reads inside text: strings as they are, null as nothing, the rest as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def kind_of(value: Any) -> str:
    """`a string`, `an array`, `null`…: what a value is, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
