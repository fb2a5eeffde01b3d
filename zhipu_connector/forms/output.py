"""What the page shows besides an action's raw result: the links its output schema declares.

A value whose output property has a URL control is something to look at (Create image's
`data[].url`), so the page shows it as an image with its link. Only http(s) URLs qualify: a
result is upstream data, and a `javascript:` URL must never become a link.
"""

from __future__ import annotations

from typing import Any

from zhipu_connector.definition.locations import location
from zhipu_connector.definition.models import Property

SAFE_SCHEMES = ("http://", "https://")


def media_links(prop: Property, value: Any, path: tuple[str | int, ...] = ()) -> list[dict[str, str]]:
    """`[{"path": "data[0].url", "url": ...}]` for every http(s) URL the output declares, in order."""
    if prop.control == "URL":
        if isinstance(value, str) and value.lower().startswith(SAFE_SCHEMES):
            return [{"path": location(path), "url": value}]
        return []
    links: list[dict[str, str]] = []
    if prop.type == "ARRAY" and prop.items is not None and isinstance(value, list):
        for position, item in enumerate(value):
            links += media_links(prop.items, item, (*path, position))
    elif prop.type == "OBJECT" and isinstance(value, dict):
        for child in prop.properties:
            if child.name in value:
                links += media_links(child, value[child.name], (*path, child.name))
    return links
