"""The word-count connector: a definition file and one handler, registered through the front door."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from zhipu_connector import hookimpl

DEFINITION = Path(__file__).with_name("wordcount.yaml")


def count(inputs: dict[str, Any], connection: Any, context: Any) -> dict[str, Any]:
    """`inputs` has passed the action's schema and has its defaults: `top` is always there."""
    words = re.findall(r"\w+", inputs["text"].lower())
    frequent = [word for word, _ in Counter(words).most_common(inputs["top"])]
    return {"words": len(words), "characters": len(inputs["text"]), "top": frequent}


@hookimpl
def register_connectors(register: Any) -> None:
    register(DEFINITION, {"count": count})
