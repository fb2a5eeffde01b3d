"""The memo test connector: display conditions at every level, and a handler that records its calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zhipu_connector.host.hookspecs import hookimpl

DEFINITION = Path(__file__).with_name("memo.yaml")
calls: list[dict[str, Any]] = []


def compose(inputs: dict[str, Any], connection: Any, context: Any) -> dict[str, Any]:
    calls.append({"inputs": inputs, "connection": connection})
    if inputs["format"] == "SIMPLE":
        text = f"{inputs['title']}\n{inputs['body']}"
    else:
        text = "\n".join([inputs["title"], *(section["heading"] for section in inputs["sections"])])
    return {"text": text, "pictures": [{"url": f"{connection['endpoint']}/pictures/1.png"}]}


@hookimpl
def register_connectors(register: Any) -> None:
    register(DEFINITION, {"compose": compose})


def memo_host() -> Any:
    """A host with the memo connector alone."""
    import sys

    from zhipu_connector.host.host import Host

    return Host(default_plugins=[], entry_points=False, extra_plugins=[sys.modules[__name__]])
