"""Connection values, checked against the connection's property table, secrets masked."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from zhipu_connector.definition.models import Authorization, Component
from zhipu_connector.host.errors import ConnectionValidationError, Problem
from zhipu_connector.host.secrets import MASK, Secret
from zhipu_connector.host.validation import CompiledSchema


class Connection(Mapping[str, Any]):
    """What a handler gets as its connection: defaults applied, secret values as `Secret`.

    Immutable and hashable (by its values), so a plugin can key a connection pool on it.
    Its repr and str show secret values masked.
    """

    __slots__ = ("authorization", "_values", "_key")

    def __init__(self, authorization: str, values: Mapping[str, Any]) -> None:
        self.authorization = authorization
        self._values = dict(values)
        self._key = (authorization, tuple(sorted((k, _hashable(v)) for k, v in self._values.items())))

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Connection) and other._key == self._key

    def __repr__(self) -> str:
        shown = {k: (MASK if isinstance(v, Secret) else v) for k, v in self._values.items()}
        return f"Connection({self.authorization!r}, {shown!r})"

    __str__ = __repr__


class ConnectionFactory:
    """Builds `Connection`s for one component: validation compiled once, secrets known by name."""

    def __init__(self, component: Component) -> None:
        self.component = component
        self._auths: dict[str, tuple[Authorization, CompiledSchema]] = {}
        if component.connection:
            schemas = component.derived_schemas()["connections"]
            for auth in component.connection.authorizations:
                self._auths[auth.name] = (auth, CompiledSchema(schemas[auth.name]))

    @property
    def required(self) -> bool:
        return bool(self._auths)

    def build(self, values: Mapping[str, Any] | None, authorization: str | None = None) -> Connection | None:
        """Check `values` and return the connection; `None` for a component without one."""
        if not self._auths:
            return None
        name = authorization or next(iter(self._auths))
        if name not in self._auths:
            known = ", ".join(self._auths)
            raise ConnectionValidationError(
                [Problem("authorization", f"unknown authorization {name!r} (known: {known})")],
                subject=self.component.name,
            )
        auth, schema = self._auths[name]
        if values is not None and not isinstance(values, Mapping):
            raise ConnectionValidationError(
                [Problem("", f"the connection must be an object, not {type(values).__name__}")],
                subject=self.component.name,
            )
        plain = {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in (values or {}).items()}
        if not schema.is_valid(plain):  # the describer never quotes a secret's value (`writeOnly`)
            raise ConnectionValidationError(schema.problems(plain), subject=self.component.name)
        result: dict[str, Any] = {}
        for prop in auth.properties:
            value = plain.get(prop.name, prop.default_value)
            if value is None or prop.hidden:
                continue
            result[prop.name] = Secret(value) if prop.secret else value
        return Connection(name, result)


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value
