"""A chat completion (or an assembled stream) as Ask's output, in the mode its inputs chose.

- `output: ANSWER` (the default): the answer's text — or, with `responseFormat: JSON`, the
  answer parsed — exactly what the definition's `output` / second `outputWhen` case say.
- `output: FULL`: one object with the text, the parsed JSON, the reasoning, the tool calls, the
  finish reason, the usage (cached and reasoning tokens included), the model, the request id,
  the web-search results and the content filter (the first `outputWhen` case).

Both modes read the finish reason by the same rules: `sensitive` and `network_error` are
failures, `length` and `model_context_window_exceeded` keep the partial answer with a warning.
A JSON answer that does not parse is `InvalidJsonAnswerError`, with the finish reason and an
excerpt: never a string passed off as the object the workflow asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from zhipu_connector.host.context import ActionContext
from zhipu_connector.zhipu.errors import (
    InvalidJsonAnswerError,
    MalformedResponseError,
    ServerError,
    ZhipuError,
    content_filtered,
)
from zhipu_connector.zhipu.tools import output_tool_calls

FULL = "FULL"
JSON = "JSON"
_EXCERPT_CHARS = 120
_FENCE = re.compile(r"^```(?:json)?\s*\n(?P<body>.*)\n\s*```$", re.DOTALL | re.IGNORECASE)

_CUT_SHORT: dict[str, str] = {
    "length": (
        "the reply was cut short: it reached the token limit (finish_reason 'length'); "
        "raise Max tokens for a longer reply"
    ),
    "model_context_window_exceeded": (
        "the reply was cut short: the conversation filled the model's context window "
        "(finish_reason 'model_context_window_exceeded'); shorten the messages or choose a "
        "model with a longer context"
    ),
}
FINISH_REASONS = frozenset(
    {"stop", "length", "tool_calls", "sensitive", "network_error", "model_context_window_exceeded"}
)


def answer(completion: Mapping[str, Any], inputs: Mapping[str, Any], request_id: str, context: ActionContext) -> Any:
    """Ask's output for `completion`, in the mode `inputs` chose (see the module docstring)."""
    if inputs.get("output") == FULL:
        return full_reply(completion, inputs, request_id, context)
    text = answer_text(completion, request_id, context)
    if inputs.get("responseFormat") == JSON:
        return parsed_json(text, _choice(completion).get("finish_reason"), _request_id(completion, request_id))
    return text


def answer_text(completion: Mapping[str, Any], request_id: str, context: ActionContext) -> str:
    """The assistant's text; a reply of tool calls only is an error here (ANSWER mode has no room for them)."""
    request_id = _request_id(completion, request_id)
    choice = _choice(completion)
    message = choice.get("message") or {}
    finish_reason = choice.get("finish_reason")
    _raise_for_failure(finish_reason, request_id)
    content = message.get("content")
    if not content and (message.get("tool_calls") or finish_reason == "tool_calls"):
        raise ZhipuError(
            f"the model answered with a tool call instead of text (finish_reason {finish_reason!r}); "
            "set Output to FULL to receive tool calls",
            status=200,
            request_id=request_id,
        )
    if not isinstance(content, str):
        raise _no_text(finish_reason, request_id)
    _warn_for_finish(finish_reason, context)
    return content


def _no_text(finish_reason: Any, request_id: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"the reply's message has no text content (finish_reason {finish_reason!r})",
        status=200,
        request_id=request_id,
    )


def full_reply(
    completion: Mapping[str, Any], inputs: Mapping[str, Any], request_id: str, context: ActionContext
) -> dict[str, Any]:
    """The FULL output: everything the reply holds, in the definition's names."""
    request_id = _request_id(completion, request_id)
    choice = _choice(completion)
    message = choice.get("message") or {}
    finish_reason = choice.get("finish_reason")
    _raise_for_failure(finish_reason, request_id)
    tool_calls = output_tool_calls(message.get("tool_calls"))
    content = message.get("content")
    if content is None and (tool_calls or finish_reason == "tool_calls"):
        content = ""
    if not isinstance(content, str):
        raise _no_text(finish_reason, request_id)
    _warn_for_finish(finish_reason, context)
    result: dict[str, Any] = {"text": content}
    if inputs.get("responseFormat") == JSON and (content.strip() or not tool_calls):
        result["json"] = parsed_json(content, finish_reason, request_id)
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        result["reasoning"] = reasoning
    result["toolCalls"] = tool_calls
    result["finishReason"] = finish_reason if isinstance(finish_reason, str) else ""
    usage = _usage(completion.get("usage"))
    if usage is not None:
        result["usage"] = usage
    if isinstance(completion.get("model"), str):
        result["model"] = completion["model"]
    result["requestId"] = request_id
    web_search = _web_search(completion.get("web_search"))
    if web_search is not None:
        result["webSearch"] = web_search
    content_filter = content_filter_items(completion.get("content_filter"))
    if content_filter is not None:
        result["contentFilter"] = content_filter
    return result


def parsed_json(text: str, finish_reason: Any, request_id: str) -> dict[str, Any]:
    """The answer as the JSON object it must be; a ```json fence around it is tolerated."""
    fenced = _FENCE.match(text.strip())
    source = fenced["body"] if fenced else text
    try:
        value = json.loads(source)
    except (ValueError, RecursionError) as error:
        why = _CUT_SHORT.get(str(finish_reason), "")
        raise InvalidJsonAnswerError(
            f"the answer is not valid JSON ({getattr(error, 'msg', error)}; finish_reason {finish_reason!r})"
            + (f": {why}" if why else "")
            + f"; it begins {_excerpt(text)!r}",
            status=200,
            request_id=request_id,
        ) from None
    if not isinstance(value, dict):
        raise InvalidJsonAnswerError(
            f"the answer is JSON but not an object (a {type(value).__name__}; finish_reason {finish_reason!r}); "
            f"it begins {_excerpt(text)!r}",
            status=200,
            request_id=request_id,
        )
    return value


def _choice(completion: Mapping[str, Any]) -> Mapping[str, Any]:
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedResponseError("the reply has no choices", status=200, request_id=completion.get("request_id"))
    return choices[0]


def _request_id(completion: Mapping[str, Any], request_id: str) -> str:
    given = completion.get("request_id")
    return given if isinstance(given, str) and given else request_id


def _raise_for_failure(finish_reason: Any, request_id: str) -> None:
    if finish_reason == "sensitive":
        raise content_filtered(request_id, status=200)
    if finish_reason == "network_error":
        raise ServerError(
            "the platform lost the model while generating the reply (finish_reason "
            "'network_error'); the partial reply was discarded, try again",
            status=200,
            request_id=request_id,
        )


def _warn_for_finish(finish_reason: Any, context: ActionContext) -> None:
    warning = _CUT_SHORT.get(finish_reason or "")
    if warning is not None:
        context.warn(warning)
    elif finish_reason is not None and finish_reason not in FINISH_REASONS:
        context.warn(f"the reply ended with an undocumented finish_reason {finish_reason!r}; it may be incomplete")


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[:_EXCERPT_CHARS] + "…"


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _usage(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, dict):
        return None
    counts = {
        "promptTokens": _count(usage.get("prompt_tokens")),
        "completionTokens": _count(usage.get("completion_tokens")),
        "totalTokens": _count(usage.get("total_tokens")),
    }
    if any(value is None for value in counts.values()):
        return None
    result: dict[str, int] = {key: value for key, value in counts.items() if value is not None}
    prompt_details = usage.get("prompt_tokens_details")
    cached = _count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else None
    if cached is not None:
        result["cachedTokens"] = cached
    completion_details = usage.get("completion_tokens_details")
    reasoning = _count(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else None
    if reasoning is not None:
        result["reasoningTokens"] = reasoning
    return result


# the API's web-search result key -> the output's
_WEB_SEARCH_KEYS: tuple[tuple[str, str], ...] = (
    ("title", "title"),
    ("content", "content"),
    ("link", "link"),
    ("media", "media"),
    ("icon", "icon"),
    ("refer", "refer"),
    ("publish_date", "publishDate"),
)


def _web_search(results: Any) -> list[dict[str, str]] | None:
    if not isinstance(results, list):
        return None
    return [
        {name: item[key] for key, name in _WEB_SEARCH_KEYS if isinstance(item.get(key), str)}
        for item in results
        if isinstance(item, dict)
    ]


def content_filter_items(verdicts: Any) -> list[dict[str, Any]] | None:
    """`content_filter` as the output's `contentFilter`: `{role, level}` items, other keys dropped."""
    if not isinstance(verdicts, list):
        return None
    result = []
    for verdict in verdicts:
        if not isinstance(verdict, dict):
            continue
        entry: dict[str, Any] = {}
        if isinstance(verdict.get("role"), str):
            entry["role"] = verdict["role"]
        level = verdict.get("level")
        if isinstance(level, int) and not isinstance(level, bool):
            entry["level"] = level
        result.append(entry)
    return result
