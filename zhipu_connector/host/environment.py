"""Connection values from the environment, only where a definition names the variable.

A connection property may say `environment: ZHIPUAI_API_KEY`; a command line (or any other
host) then fills that property from that variable, and from nothing else. A component that
names no variable gets nothing from the environment, so a key exported for one connector never
reaches another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zhipu_connector.definition.models import Authorization, Component, Property

TEXT_TYPES = frozenset({"STRING", "DATE", "DATE_TIME", "TIME"})


def authorization_of(component: Component, name: str | None = None) -> Authorization | None:
    """The named authorization of `component`'s connection, else its first; None without a connection."""
    if component.connection is None:
        return None
    for auth in component.connection.authorizations:
        if name is None or auth.name == name:
            return auth
    return None


def environment_values(
    component: Component, environ: Mapping[str, str], authorization: str | None = None
) -> dict[str, Any]:
    """The values of `component`'s connection properties whose declared variable is set (and not empty)."""
    auth = authorization_of(component, authorization)
    values: dict[str, Any] = {}
    for prop in auth.properties if auth else ():
        if prop.environment and environ.get(prop.environment):
            values[prop.name] = typed_text(prop, environ[prop.environment])
    return values


def typed_text(prop: Property, raw: str) -> Any:
    """A value written as text (a variable, `-c key=value`) for `prop`: text for text types, else JSON when it parses."""
    if prop.type in TEXT_TYPES:
        return raw
    import json  # imported here: `json` is not imported at start

    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw  # reported by the connection's validation, naming the property
