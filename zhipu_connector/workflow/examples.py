"""Where the example workflows are: inside the wheel, or at the root of a source checkout.

`examples/workflows/` lives at the repository root, where people look for it; the wheel carries
a copy under `zhipu_connector/_data/examples/workflows/` (see `resources.py` for the same
arrangement of `connector.yaml` and `schemas/`).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_CANDIDATES = (_PACKAGE / "_data" / "examples" / "workflows", _PACKAGE.parent / "examples" / "workflows")
WORKFLOW_SUFFIXES = (".yaml", ".yml", ".json")


def examples_directory() -> Path:
    """The directory of the shipped example workflows."""
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("examples/workflows is missing from the installation")


def example_workflows() -> list[Path]:
    """Every example workflow file, in name order."""
    directory = examples_directory()
    return sorted(path for path in directory.iterdir() if path.suffix.lower() in WORKFLOW_SUFFIXES and path.is_file())
