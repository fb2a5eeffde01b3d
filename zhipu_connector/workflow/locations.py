"""How a place in a workflow file is written in messages: the package's one notation.

Kept as the workflow package's name for it; the notation itself lives in
`definition/locations.py`, used by every message that points into a document.
"""

from __future__ import annotations

from zhipu_connector.definition.locations import location, parts_of

__all__ = ["location", "parts_of"]
