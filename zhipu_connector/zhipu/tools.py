"""Tools for Ask: function tools and the built-in web search, as the API's `tools` list.

The definition already holds each function's name to `^[a-zA-Z0-9_-]{1,64}$` and the list to
128 items; what it cannot say is checked here before anything is sent: two functions of one
name, and `parameters` that are not a JSON Schema object. Tool calls read back from a reply,
and written in an assistant message, share one shape: `{id, type, name, arguments}`, with the
arguments as the JSON text the model wrote (plus `parsedArguments`, when that text is a JSON
object), so a workflow can pass a call from one Ask's output to the next Ask's messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from zhipu_connector.host.errors import Problem

MAX_TOOLS = 128

# web-search input → the `web_search` object's field
_WEB_SEARCH_SETTINGS: tuple[tuple[str, str], ...] = (
    ("searchEngine", "search_engine"),
    ("searchCount", "count"),
    ("searchRecency", "search_recency_filter"),
    ("searchDomainFilter", "search_domain_filter"),
    ("searchContentSize", "content_size"),
)


def api_tools(inputs: Mapping[str, Any], problems: list[Problem]) -> list[dict[str, Any]]:
    """The `tools` list: each function, then web search when it is turned on."""
    functions = inputs.get("tools") or []
    tools = [function_tool(tool, f"tools[{index}]", problems) for index, tool in enumerate(functions)]
    seen: dict[str, int] = {}
    for index, tool in enumerate(functions):
        name = tool.get("name")
        if name in seen:
            problems.append(Problem(f"tools[{index}].name", f"{name!r} is already the name of tools[{seen[name]}]"))
        seen.setdefault(name, index)
    if inputs.get("webSearch"):
        tools.append(web_search_tool(inputs))
    if len(tools) > MAX_TOOLS:
        problems.append(Problem("tools", f"at most {MAX_TOOLS} tools are accepted, web search included"))
    return tools


def function_tool(tool: Mapping[str, Any], where: str, problems: list[Problem]) -> dict[str, Any]:
    parameters = tool.get("parameters")
    problem = parameters_problem(parameters)
    if problem:
        problems.append(Problem(f"{where}.parameters", problem))
    return {
        "type": "function",
        "function": {"name": tool["name"], "description": tool["description"], "parameters": parameters},
    }


def parameters_problem(parameters: Any) -> str | None:
    """Why `parameters` is not a usable JSON Schema of a function's arguments, or None."""
    import jsonschema

    if not isinstance(parameters, dict):
        return "Parameters must be a JSON Schema object"
    if parameters.get("type", "object") != "object":
        return 'Parameters must describe an object ("type": "object"): the arguments are named'
    try:
        jsonschema.Draft202012Validator.check_schema(parameters)
    except jsonschema.SchemaError as error:
        place = "/".join(str(step) for step in error.absolute_path)
        return f"Parameters is not a valid JSON Schema{f' at {place}' if place else ''}: {error.message}"
    return None


def web_search_tool(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The built-in `web_search` tool, asking for its results back (`search_result`)."""
    options: dict[str, Any] = {"enable": True, "search_result": True}
    for key, field in _WEB_SEARCH_SETTINGS:
        value = inputs.get(key)
        if value is not None:
            options[field] = value
    return {"type": "web_search", "web_search": options}


def message_tool_calls(calls: Sequence[Mapping[str, Any]], where: str, problems: list[Problem]) -> list[dict[str, Any]]:
    """An assistant message's `toolCalls` as the API's `tool_calls`; `arguments` must be JSON."""
    result = []
    for index, call in enumerate(calls):
        arguments = call.get("arguments")
        try:
            json.loads(arguments if isinstance(arguments, str) else "")
        except ValueError:
            problems.append(
                Problem(
                    f"{where}.toolCalls[{index}].arguments",
                    'Arguments must be JSON text, such as \'{"city": "Paris"}\'',
                )
            )
        result.append(
            {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": arguments}}
        )
    return result


def output_tool_calls(calls: Any) -> list[dict[str, Any]]:
    """The API's `tool_calls` of a reply as the output's `toolCalls` (function calls only)."""
    result = []
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
        entry: dict[str, Any] = {
            "id": str(call.get("id") or ""),
            "type": str(call.get("type") or "function"),
            "name": function["name"],
            "arguments": arguments,
        }
        try:
            parsed = json.loads(arguments)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            entry["parsedArguments"] = parsed
        result.append(entry)
    return result
