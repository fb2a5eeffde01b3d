"""How a place in a workflow file is written in messages: `tasks[1].parameters.messages[0].content`."""

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


def from_dotted(dotted: str) -> list[str | int]:
    """Split a validator's dotted location (`messages.0.content`) into keys and positions."""
    if not dotted:
        return []
    return [int(part) if part.isdigit() else part for part in dotted.split(".")]


def yaml_path(parts: Iterable[str | int]) -> str:
    """The same place as the YAML reader's line table keys it (`tasks.1.parameters`)."""
    return ".".join(str(part) for part in parts)


def parts_of(text: str) -> list[str | int]:
    """The inverse of `location`: `tasks[1].parameters.x` → ["tasks", 1, "parameters", "x"]."""
    parts: list[str | int] = []
    for piece in _PIECE.finditer(text):
        key, index = piece.group(1), piece.group(2)
        parts.append(int(index) if index is not None else key)
    return parts


_PIECE = re.compile(r"([^.\[\]]+)|\[([0-9]+)\]")
