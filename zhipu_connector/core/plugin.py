"""Registers the `core` component through the same hook every connector uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zhipu_connector.host.hookspecs import hookimpl

DEFINITION = Path(__file__).with_name("core.yaml")
# Named, not imported: each handler module is imported when its action first runs.
HANDLERS = {
    "logger": "zhipu_connector.core.logger:log_message",
    "textTemplate": "zhipu_connector.core.template:text_template",
    "download": "zhipu_connector.core.download:download",
    "rankBySimilarity": "zhipu_connector.core.similarity:rank_by_similarity",
}


@hookimpl
def register_connectors(register: Any) -> None:
    register(DEFINITION, HANDLERS)
