"""A Zhipu AI connector for low-code workflow engines.

`connector.yaml` declares the component; the generic host in `zhipu_connector.host` loads it,
derives schemas and forms from it and dispatches each action to its handler.

The front door for plugin authors and callers::

    from zhipu_connector import hookimpl, ActionHandler, Host, run_action, arun_action

Each name is imported on first use (a module `__getattr__`), so `import zhipu_connector` stays
as cheap as it was: the command line imports this package at every start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_FRONT_DOOR: dict[str, str] = {
    "hookimpl": "zhipu_connector.host.hookspecs",
    "ActionHandler": "zhipu_connector.host.registry",
    "Host": "zhipu_connector.host.host",
    "run_action": "zhipu_connector.host.host",
    "arun_action": "zhipu_connector.host.host",
    "ConnectionTestResult": "zhipu_connector.host.connection_test",
}

__all__ = [
    "ActionHandler",
    "ConnectionTestResult",
    "Host",
    "__version__",
    "arun_action",
    "hookimpl",
    "run_action",
]

if TYPE_CHECKING:
    from zhipu_connector.host.connection_test import ConnectionTestResult
    from zhipu_connector.host.hookspecs import hookimpl
    from zhipu_connector.host.host import Host, arun_action, run_action
    from zhipu_connector.host.registry import ActionHandler


def __getattr__(name: str) -> Any:
    module = _FRONT_DOOR.get(name)
    if module is None:
        raise AttributeError(f"module 'zhipu_connector' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
