"""Options served only with some connections (`availableWith`), checked before a handler runs.

A model id that one platform serves and another does not is an option whose `availableWith`
names the connection property (`baseUrl`) and the values it is served with. A call that picks
such an option with a connection whose value is another *declared* option of that property is
refused here, before anything is sent. A value the property does not declare (a custom URL, such
as an emulator's or a proxy's) is not judged: nothing is known of what it serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zhipu_connector.definition.models import Action, Component, Property
from zhipu_connector.host.errors import Problem

# input key -> option value -> connection property -> values it is served with
_Rules = dict[str, dict[Any, dict[str, tuple[Any, ...]]]]


def _same(value: Any) -> Any:
    """Connection values compared as written, a URL's trailing `/` aside."""
    return value.rstrip("/") if isinstance(value, str) else value


class Availability:
    """The `availableWith` rules of one action, with the connection properties' declared options."""

    __slots__ = ("_rules", "_declared")

    def __init__(self, component: Component, action: Action) -> None:
        self._rules: _Rules = {}
        for prop in action.properties:
            restricted = {o.value: dict(o.available_with) for o in prop.options or () if o.available_with}
            if restricted:
                self._rules[prop.name] = restricted
        self._declared: dict[str, dict[Any, str]] = {}
        for auth in component.connection.authorizations if component.connection else ():
            for prop in auth.properties:
                self._declared[prop.name] = _labels(prop)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def problems(self, values: Mapping[str, Any], connection: Mapping[str, Any] | None) -> list[Problem]:
        """One problem per input whose chosen option the connection's platform does not serve."""
        if connection is None:
            return []
        problems = []
        for key, restricted in self._rules.items():
            value = values.get(key)
            rule = restricted.get(value) if isinstance(value, (str, int, float, bool)) else None
            if rule is None:
                continue
            for setting, allowed in rule.items():
                chosen = connection.get(setting)
                declared = self._declared.get(setting, {})
                if _same(chosen) not in declared or _same(chosen) in {_same(a) for a in allowed}:
                    continue
                served = ", ".join(declared.get(_same(a), str(a)) for a in allowed)
                problems.append(
                    Problem(
                        key,
                        f"{value!r} is not served with {setting} {declared[_same(chosen)]}; "
                        f"it is served with: {served}. Choose another {key}, or change the connection's {setting}",
                    )
                )
        return problems


def _labels(prop: Property) -> dict[Any, str]:
    return {_same(option.value): option.label for option in prop.options or ()}
