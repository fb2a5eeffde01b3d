"""Small component definitions for tests: one API-key authorization around what a test varies."""

from __future__ import annotations

from typing import Any


def api_key_definition(
    name: str, *, title: str, connection_properties: dict[str, Any], actions: dict[str, Any]
) -> dict[str, Any]:
    """A definition (as the YAML would read) whose one authorization, `key`, has these properties."""
    return {
        "name": name,
        "title": title,
        "version": 1,
        "connection": {
            "version": 1,
            "authorizations": {"key": {"title": "Key", "type": "API_KEY", "properties": connection_properties}},
        },
        "actions": actions,
    }
