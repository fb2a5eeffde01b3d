"""Registers the `core` component through the same hook every connector uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zhipu_connector.core.download import download
from zhipu_connector.core.logger import log_message
from zhipu_connector.core.template import text_template
from zhipu_connector.host.hookspecs import hookimpl

DEFINITION = Path(__file__).with_name("core.yaml")


@hookimpl
def register_connectors(register: Any) -> None:
    register(DEFINITION, {"logger": log_message, "textTemplate": text_template, "download": download})
