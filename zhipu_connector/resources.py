"""Where the shipped data files are: inside the wheel, or at the root of a source checkout.

`connector.yaml` and `schemas/` live at the repository root (they are the project's source of
truth, not Python package data), and the wheel carries copies under `zhipu_connector/_data/`.
An installed package finds the copies; an editable checkout finds the originals.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE / "_data", _PACKAGE.parent)


def data_path(relative: str) -> Path:
    """The path of a shipped data file such as `connector.yaml` or `schemas/x.json`."""
    for root in _CANDIDATES:
        candidate = root / relative
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{relative} is missing from the installation")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """One of the JSON Schemas under `schemas/`, parsed once per process."""
    import json  # imported here: `json` is not imported at start, and a start reads no schema

    return json.loads(data_path(f"schemas/{name}").read_text(encoding="utf-8"))
