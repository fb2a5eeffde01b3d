"""Hostile bodies refused with a 400 rather than a crash: deep nesting and lone surrogates.

`json.loads` accepts `"\\ud800"` (a lone UTF-16 surrogate, valid JSON but not Unicode text that
can be encoded) and nesting deep enough to exhaust the recursion of whatever reads it next.
Both are found here, with the place they occur, before validation sees the body. The walk runs
only when the raw bytes could hold either problem, so ordinary requests pay two byte counts.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import bad_field

MAX_DEPTH = 64
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def check_structure(body: Any, raw: bytes) -> None:
    """Raise 400 / 1214 naming the first place nested deeper than `MAX_DEPTH` or holding a lone surrogate."""
    may_nest = raw.count(b"[") + raw.count(b"{") > MAX_DEPTH
    if not may_nest and not _SURROGATE_ESCAPE.search(raw):
        return
    pending: list[tuple[Any, str, int]] = [(body, "body", 0)]
    while pending:
        value, where, depth = pending.pop()
        if isinstance(value, str):
            _check_text(where, value)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth >= MAX_DEPTH:
            raise bad_field(f"{where}: nested deeper than {MAX_DEPTH} levels of arrays and objects")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(f"{where} (a key)", key)
                pending.append((item, key if where == "body" else f"{where}.{key}", depth + 1))
        else:
            pending.extend((item, f"{where}[{index}]", depth + 1) for index, item in enumerate(value))


def _check_text(where: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        raise bad_field(
            f"{where}: holds a lone UTF-16 surrogate (\\u{code:04x} at character {error.start}), "
            "which is not valid Unicode text"
        ) from None
