"""The `tools` a chat request may carry: function, retrieval, web_search and (mainland) mcp.

Checked as the API reference describes them: at most 128 tools; a function's name matches
`^[a-zA-Z0-9_-]{1,64}$` and its `parameters` is a JSON Schema object; `web_search` names a
search engine of the emulated platform and keeps its options in their documented ranges.
The web-search options are returned as a `WebSearch` so the reply can honour them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import bad_field
from .models import INTERNATIONAL, MAINLAND

MAX_TOOLS = 128
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
TOOL_TYPES = {
    MAINLAND: ("function", "retrieval", "web_search", "mcp"),
    INTERNATIONAL: ("function", "retrieval", "web_search"),
}
# Engine names differ per platform; these are the ones the emulator knows.
SEARCH_ENGINES = {
    MAINLAND: ("search_std", "search_pro", "search_pro_sogou", "search_pro_quark"),
    INTERNATIONAL: ("search_pro_jina",),
}
RECENCY = ("oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit")
CONTENT_SIZES = ("medium", "high")
RESULT_SEQUENCES = ("before", "after")
MAX_SEARCH_COUNT = 50
DEFAULT_SEARCH_COUNT = 10
_WEB_SEARCH_STRINGS = ("search_engine", "search_query", "search_domain_filter", "search_prompt")
_WEB_SEARCH_BOOLS = ("enable", "search_result", "require_search")
_WEB_SEARCH_CHOICES = {
    "search_recency_filter": RECENCY,
    "content_size": CONTENT_SIZES,
    "result_sequence": RESULT_SEQUENCES,
}
WEB_SEARCH_FIELDS = frozenset(_WEB_SEARCH_STRINGS + _WEB_SEARCH_BOOLS + ("count",) + tuple(_WEB_SEARCH_CHOICES))


@dataclass(frozen=True, slots=True)
class WebSearch:
    """The options of an enabled `web_search` tool, as the reply uses them."""

    engine: str
    query: str | None = None
    count: int = DEFAULT_SEARCH_COUNT
    domain: str | None = None
    recency: str = "noLimit"
    content_size: str = "medium"
    results_first: bool = True
    return_results: bool = True


def check_tools(body: dict[str, Any], platform: str) -> tuple[list[dict[str, Any]], WebSearch | None]:
    """The function tools (in order) and the enabled web search, or 400 / 1214 naming the tool."""
    if "tools" not in body:
        return [], None
    tools = body["tools"]
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise bad_field(f"tools: must be an array of at most {MAX_TOOLS} tools")
    functions: list[dict[str, Any]] = []
    web_search: WebSearch | None = None
    kinds = TOOL_TYPES[platform]
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "mcp" and kind not in kinds:
            raise bad_field(f"{where}.type: mcp tools are served on the mainland platform only")
        if kind not in kinds:
            raise bad_field(f"{where}.type: must be one of {', '.join(kinds)}")
        assert isinstance(tool, dict)
        if not isinstance(tool.get(kind), dict):
            raise bad_field(f"{where}.{kind}: required, an object describing the {kind} tool")
        if kind == "function":
            functions.append(tool)
            _check_function(where, tool["function"])
        elif kind == "web_search":
            search = _check_web_search(f"{where}.web_search", tool["web_search"], platform)
            web_search = search if search is not None else web_search
        elif kind == "retrieval":
            _required_text(f"{where}.retrieval", tool["retrieval"], "knowledge_id")
        else:
            _required_text(f"{where}.mcp", tool["mcp"], "server_label")
    return functions, web_search


def _check_function(where: str, function: dict[str, Any]) -> None:
    name = function.get("name")
    if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
        shown = repr(name)[:80] if isinstance(name, str) else type(name).__name__
        raise bad_field(f"{where}.function.name: must match ^[a-zA-Z0-9_-]{{1,64}}$, got {shown}")
    if "description" in function and not isinstance(function["description"], str):
        raise bad_field(f"{where}.function.description: must be a string")
    if "parameters" in function and not isinstance(function["parameters"], dict):
        raise bad_field(f"{where}.function.parameters: must be a JSON Schema object")


def _required_text(where: str, options: dict[str, Any], name: str) -> None:
    value = options.get(name)
    if not isinstance(value, str) or not value:
        raise bad_field(f"{where}.{name}: required, a non-empty string")


def _check_web_search(where: str, options: dict[str, Any], platform: str) -> WebSearch | None:
    unknown = sorted(set(options) - WEB_SEARCH_FIELDS)
    if unknown:
        raise bad_field(f"{where}.{unknown[0]}: unknown option; known: {', '.join(sorted(WEB_SEARCH_FIELDS))}"[:400])
    for name in _WEB_SEARCH_STRINGS:
        if name in options and not (isinstance(options[name], str) and options[name]):
            raise bad_field(f"{where}.{name}: must be a non-empty string")
    for name in _WEB_SEARCH_BOOLS:
        if name in options and not isinstance(options[name], bool):
            raise bad_field(f"{where}.{name}: must be a boolean (true or false)")
    for name, choices in _WEB_SEARCH_CHOICES.items():
        if name in options and options[name] not in choices:
            raise bad_field(f"{where}.{name}: must be one of {', '.join(choices)}")
    engines = SEARCH_ENGINES[platform]
    engine = options.get("search_engine")
    if engine is None:
        raise bad_field(f"{where}.search_engine: required; on the {platform} platform one of {', '.join(engines)}")
    if engine not in engines:
        raise bad_field(
            f"{where}.search_engine: {engine[:64]!r} is not a search engine of the {platform} platform; "
            f"use one of {', '.join(engines)}"
        )
    count = options.get("count", DEFAULT_SEARCH_COUNT)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SEARCH_COUNT:
        raise bad_field(f"{where}.count: must be an integer in [1, {MAX_SEARCH_COUNT}]")
    if options.get("enable", True) is False:
        return None
    return WebSearch(
        engine=engine,
        query=options.get("search_query"),
        count=count,
        domain=options.get("search_domain_filter"),
        recency=options.get("search_recency_filter", "noLimit"),
        content_size=options.get("content_size", "medium"),
        results_first=options.get("result_sequence", "before") == "before",
        return_results=options.get("search_result", True),
    )
