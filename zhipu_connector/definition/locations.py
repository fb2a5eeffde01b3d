"""The one way a place in a JSON value is written for people: `tasks[1].parameters.messages[0].content`.

Every message that points into a document uses it: definition problems, input and
connection validation, workflow checks, the YAML reader's line table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def location(parts: Iterable[str | int]) -> str:
    """Join keys with dots and write array positions as `[n]`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def parts_of(text: str) -> list[str | int]:
    """The inverse of `location`: `tasks[1].parameters.x` → ["tasks", 1, "parameters", "x"]."""
    parts: list[str | int] = []
    for piece in re.finditer(_PIECE, text):
        key, index = piece.group(1), piece.group(2)
        parts.append(int(index) if index is not None else key)
    return parts


def parent(text: str) -> str:
    """The enclosing place: `messages[0].content` → `messages[0]` → `messages` → ``."""
    return location(parts_of(text)[:-1])


_PIECE = r"([^.\[\]]+)|\[([0-9]+)\]"  # compiled by `re` on first use: not every start needs it
