"""The Ask action: one chat completion, returned as the assistant's text.

The sync and async handlers share everything but the I/O: `chat_body` turns the action's
inputs into the request body, `StreamedReply` assembles a streamed reply into the shape of a
non-streamed one, and `reply_text` reads either the same way — so a streamed call returns
exactly what the same call without streaming returns, and obeys the same finish-reason rules.

Nothing here imports httpx or the client at module level: the plugin that registers this
action is imported at every start, and most starts never call the API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import aclosing, closing
from typing import Any

from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import InputValidationError, Problem
from zhipu_connector.zhipu.errors import (
    MalformedResponseError,
    ServerError,
    ZhipuError,
    content_filtered,
)

ACTION = "zhipu.ask"
SIMPLE = "SIMPLE"
ADVANCED = "ADVANCED"

# Action input → API field, for the optional scalar settings. Unset inputs are not sent.
_SETTINGS: tuple[tuple[str, str], ...] = (
    ("maxTokens", "max_tokens"),
    ("temperature", "temperature"),
    ("topP", "top_p"),
    ("stop", "stop"),
    ("requestId", "request_id"),
    ("doSample", "do_sample"),
    ("user", "user_id"),
)

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
_FINISH_REASONS = frozenset(
    {"stop", "length", "tool_calls", "sensitive", "network_error", "model_context_window_exceeded"}
)


# --- inputs → request -------------------------------------------------------------------------


def chat_body(inputs: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """The `/chat/completions` body for the action's inputs; no key for an unset input.

    `request_id` is used unless the user set `requestId`. Raises `InputValidationError`, naming
    every problem, for a conversation the API would refuse.
    """
    body: dict[str, Any] = {"model": inputs["model"], "messages": conversation(inputs)}
    for key, field in _SETTINGS:
        value = inputs.get(key)
        if value is None or (key == "stop" and not value):
            continue
        if key == "stop":
            value = list(value)
        body[field] = value
    body.setdefault("request_id", request_id)
    return body


def conversation(inputs: Mapping[str, Any]) -> list[dict[str, str]]:
    """The API's `messages`: from the two prompts (SIMPLE) or from the messages list (ADVANCED)."""
    if inputs.get("format", ADVANCED) == SIMPLE:
        return simple_messages(inputs.get("systemPrompt"), inputs.get("userPrompt"))
    return advanced_messages(inputs.get("messages"))


def simple_messages(system_prompt: str | None, user_prompt: str | None) -> list[dict[str, str]]:
    """An optional `system` message, then the `user` message; a blank system prompt is left out."""
    if not user_prompt:
        raise InputValidationError(
            [Problem("userPrompt", "User prompt is required when the format is SIMPLE")], subject=ACTION
        )
    messages = []
    if system_prompt and not system_prompt.isspace():
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": user_prompt})
    return messages


def advanced_messages(messages: Any) -> list[dict[str, str]]:
    """Each message as `{role, content}`, plus `tool_call_id` for a `tool` message.

    The API needs `tool_call_id` on a tool message and knows it on no other, so a tool message
    without a Tool call ID, or a Tool call ID on another role, is refused here — before
    anything is sent — rather than dropped or sent to fail.
    """
    if not isinstance(messages, list) or not messages:
        raise InputValidationError([Problem("messages", "Messages must hold at least one message")], subject=ACTION)
    problems: list[Problem] = []
    result: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        role, content = message["role"], message["content"]
        tool_call_id = message.get("toolCallId")
        entry = {"role": role, "content": content}
        if role == "tool":
            if tool_call_id:
                entry["tool_call_id"] = tool_call_id
            else:
                problems.append(
                    Problem(
                        f"messages.{index}.toolCallId",
                        "Tool call ID is required for a message whose role is 'tool': "
                        "the API needs the id of the tool call that message answers",
                    )
                )
        elif tool_call_id is not None:
            problems.append(
                Problem(
                    f"messages.{index}.toolCallId",
                    f"Tool call ID belongs on a 'tool' message only, not on a '{role}' message; "
                    "remove it or set the role to 'tool'",
                )
            )
        result.append(entry)
    if not any(message["role"] in ("user", "tool") for message in result):
        problems.append(
            Problem(
                "messages",
                "Messages must include a 'user' (or 'tool') message: "
                "the API refuses a conversation of only system and assistant messages",
            )
        )
    if problems:
        raise InputValidationError(problems, subject=ACTION)
    return result


# --- answer → text ----------------------------------------------------------------------------


def reply_text(completion: Mapping[str, Any], request_id: str, context: ActionContext) -> str:
    """The assistant's text from a completion (or an assembled stream), by its finish reason.

    `sensitive` and `network_error` are failures; `length` and `model_context_window_exceeded`
    return the partial text with a warning; a tool call is an error, as Ask offers no tools.
    """
    request_id = completion.get("request_id") or request_id
    choice = completion["choices"][0]
    message = choice.get("message") or {}
    finish_reason = choice.get("finish_reason")
    content = message.get("content")
    if finish_reason == "sensitive":
        raise content_filtered(request_id, status=200)
    if finish_reason == "network_error":
        raise ServerError(
            "the platform lost the model while generating the reply (finish_reason "
            "'network_error'); the partial reply was discarded, try again",
            status=200,
            request_id=request_id,
        )
    if content is None and (message.get("tool_calls") or finish_reason == "tool_calls"):
        raise ZhipuError(
            "the model answered with a tool call instead of text (finish_reason "
            f"{finish_reason!r}), but Ask sends no tools and returns text only",
            status=200,
            request_id=request_id,
        )
    if not isinstance(content, str):
        raise MalformedResponseError(
            f"the reply's message has no text content (finish_reason {finish_reason!r})",
            status=200,
            request_id=request_id,
        )
    warning = _CUT_SHORT.get(finish_reason or "")
    if warning is not None:
        context.warn(warning)
    elif finish_reason is not None and finish_reason not in _FINISH_REASONS:
        context.warn(f"the reply ended with an undocumented finish_reason {finish_reason!r}; it may be incomplete")
    return content


class StreamedReply:
    """Chunks of a streamed completion, gathered into a non-streamed completion's shape.

    Only the first choice's `content` deltas make the text (reasoning deltas are not part of
    the answer, as `reasoning_content` is not in a non-streamed reply's text); each non-empty
    one is passed to `on_partial` as it arrives.
    """

    __slots__ = ("_on_partial", "_parts", "_finish_reason", "_tool_calls", "_request_id")

    def __init__(self, on_partial: Callable[[str], None]) -> None:
        self._on_partial = on_partial
        self._parts: list[str] = []
        self._finish_reason: str | None = None
        self._tool_calls = False
        self._request_id: str | None = None

    def add(self, chunk: Mapping[str, Any]) -> None:
        if self._request_id is None and isinstance(chunk.get("request_id"), str):
            self._request_id = chunk["request_id"]
        for choice in chunk.get("choices", ()):
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            piece = delta.get("content")
            if isinstance(piece, str) and piece:
                self._parts.append(piece)
                self._on_partial(piece)
            if delta.get("tool_calls"):
                self._tool_calls = True
            if choice.get("finish_reason") is not None:
                self._finish_reason = choice["finish_reason"]

    def completion(self) -> dict[str, Any]:
        """What the same call without streaming would have returned, as far as Ask reads it."""
        content: str | None = "".join(self._parts)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if self._tool_calls:
            message["tool_calls"] = True
            if not content:
                message["content"] = None
        completion: dict[str, Any] = {
            "choices": [{"index": 0, "finish_reason": self._finish_reason, "message": message}]
        }
        if self._request_id is not None:
            completion["request_id"] = self._request_id
        return completion


# --- handlers ---------------------------------------------------------------------------------


def run_ask(inputs: Mapping[str, Any], connection: Connection, context: ActionContext) -> str:
    """The sync handler: `chat`, or `chat_stream` when the caller set `context.on_partial`."""
    from zhipu_connector.zhipu.connections import sync_client
    from zhipu_connector.zhipu.protocol import new_request_id

    request_id = new_request_id()
    body = chat_body(inputs, request_id)
    request_id = body["request_id"]
    context.check_cancelled()
    with sync_client(connection) as client:
        if context.on_partial is None:
            return reply_text(client.chat(body), request_id, context)
        reply = StreamedReply(context.on_partial)
        with closing(client.chat_stream(body)) as chunks:
            for chunk in chunks:
                context.check_cancelled()
                reply.add(chunk)
    return reply_text(reply.completion(), request_id, context)


async def arun_ask(inputs: Mapping[str, Any], connection: Connection, context: ActionContext) -> str:
    """The async handler; the same steps as `run_ask` on the loop's shared async client."""
    from zhipu_connector.zhipu.connections import async_client
    from zhipu_connector.zhipu.protocol import new_request_id

    request_id = new_request_id()
    body = chat_body(inputs, request_id)
    request_id = body["request_id"]
    context.check_cancelled()
    async with async_client(connection) as client:
        if context.on_partial is None:
            return reply_text(await client.chat(body), request_id, context)
        reply = StreamedReply(context.on_partial)
        async with aclosing(client.chat_stream(body)) as chunks:
            async for chunk in chunks:
                context.check_cancelled()
                reply.add(chunk)
    return reply_text(reply.completion(), request_id, context)
