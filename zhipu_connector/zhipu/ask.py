"""The Ask action: one chat completion, returned as the answer or as the full reply.

The action is described once, by `ASK` at the end (see `one_request.py`): `chat_body` turns the
action's inputs into the request body, `StreamedReply` assembles a streamed reply into the shape
of a non-streamed one, and `reply_output` reads either the same way — so a streamed call returns
exactly what the same call without streaming returns, and obeys the same finish-reason rules.

The parts: the messages and their content parts (`chat_content`), tools and web search
(`tools`), what each model accepts (`model_rules`), and the answer in each output mode
(`chat_output`). `reply_output` needs the inputs (they choose the output mode), and
`StreamedReply` takes a second callback for the reasoning, kept apart from the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import InputValidationError, Problem
from zhipu_connector.zhipu import chat_output
from zhipu_connector.zhipu.chat_content import PART_TYPES, content_parts
from zhipu_connector.zhipu.model_rules import chat_model_rules
from zhipu_connector.zhipu.one_request import OneRequest
from zhipu_connector.zhipu.routes import CHAT
from zhipu_connector.zhipu.tools import api_tools, message_tool_calls

ACTION = "zhipu.ask"
SIMPLE = "SIMPLE"
ADVANCED = "ADVANCED"
JSON = chat_output.JSON
FULL = chat_output.FULL
MAX_STOP_WORDS = 1  # the spec says 4, the live server refuses a second (zhipu-api.md)

# Action input → API field, for the optional scalar settings. Unset inputs are not sent.
_SETTINGS: tuple[tuple[str, str], ...] = (
    ("maxTokens", "max_tokens"),
    ("temperature", "temperature"),
    ("topP", "top_p"),
    ("stop", "stop"),
    ("requestId", "request_id"),
    ("doSample", "do_sample"),
    ("user", "user_id"),
    ("reasoningEffort", "reasoning_effort"),
    ("toolChoice", "tool_choice"),
)
_RESPONSE_FORMATS = {"TEXT": "text", JSON: "json_object"}


# --- inputs → request -------------------------------------------------------------------------


def chat_body(inputs: Mapping[str, Any], request_id: str, stream: bool = False) -> dict[str, Any]:
    """The `/chat/completions` body for the action's inputs; no key for an unset input.

    `request_id` is used unless the user set `requestId`. `stream` says the body is for a
    streamed call: tool-call deltas are then asked for (`tool_stream`) where the model has them.
    Raises `InputValidationError`, naming every problem, for inputs the API would refuse or
    the model cannot honour — before anything is sent.
    """
    problems: list[Problem] = []
    model = inputs["model"]
    body: dict[str, Any] = {"model": model}
    try:
        body["messages"] = conversation(inputs)
    except InputValidationError as error:
        problems += error.problems
    for key, field in _SETTINGS:
        value = inputs.get(key)
        if value is None or (key == "stop" and not value):
            continue
        if key == "stop":
            value = list(value)
        body[field] = value
    problems += model_problems(inputs)
    thinking = thinking_setting(inputs)
    if thinking is not None:
        body["thinking"] = thinking
    response_format = inputs.get("responseFormat")
    if response_format is not None:
        body["response_format"] = {"type": _RESPONSE_FORMATS[response_format]}
    tools = api_tools(inputs, problems)
    if tools:
        body["tools"] = tools
        if stream and any(tool["type"] == "function" for tool in tools) and chat_model_rules(model).tool_stream:
            body["tool_stream"] = True
    if problems:
        raise InputValidationError(problems, subject=ACTION)
    body.setdefault("request_id", request_id)
    return body


def thinking_setting(inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """`{"type": ..., "clear_thinking": ...}` from Thinking and Clear thinking; None when neither is set."""
    kind, clear = inputs.get("thinking"), inputs.get("clearThinking")
    if kind is None and clear is None:
        return None
    setting: dict[str, Any] = {"type": kind or "enabled"}  # the platform's default, made explicit
    if clear is not None:
        setting["clear_thinking"] = clear
    return setting


def model_problems(inputs: Mapping[str, Any]) -> list[Problem]:
    """What the chosen model cannot take: thinking, reasoning effort, JSON, parts, Max tokens, stop words."""
    model = inputs["model"]
    rules = chat_model_rules(model)
    problems: list[Problem] = []
    stop = inputs.get("stop") or []
    if len(stop) > MAX_STOP_WORDS:
        problems.append(
            Problem("stop", f"at most {MAX_STOP_WORDS} stop word is accepted by the platform, got {len(stop)}")
        )
    if inputs.get("tools") and inputs.get("output") != FULL:
        problems.append(
            Problem(
                "tools", "tools need Output FULL: the model's tool calls come back in the full reply, never as text"
            )
        )
    family = rules.family
    if rules.thinking is False and (inputs.get("thinking") is not None or inputs.get("clearThinking") is not None):
        key = "thinking" if inputs.get("thinking") is not None else "clearThinking"
        problems.append(Problem(key, f"{model} has no thinking switch: Thinking applies to GLM-4.5 and later"))
    elif rules.always_thinks and inputs.get("thinking") == "disabled":
        problems.append(
            Problem("thinking", f"{family} always thinks: thinking cannot be disabled on {model}; leave Thinking unset")
        )
    effort = inputs.get("reasoningEffort")
    if effort is not None and rules.efforts is not None and effort not in rules.efforts:
        if rules.efforts:
            allowed = ", ".join(rules.efforts)
            problems.append(
                Problem("reasoningEffort", f"{model} takes a reasoning effort of {allowed} only, not {effort!r}")
            )
        else:
            problems.append(
                Problem("reasoningEffort", f"{model} takes no reasoning effort: it applies to GLM-5.2 and later")
            )
    if inputs.get("responseFormat") == JSON and rules.vision:
        problems.append(Problem("responseFormat", f"{model} is a vision model; JSON output is for text models only"))
    cap = rules.max_tokens
    max_tokens = inputs.get("maxTokens")
    if cap is not None and isinstance(max_tokens, int) and max_tokens > cap:
        problems.append(Problem("maxTokens", f"{model} writes at most {cap} tokens; Max tokens is {max_tokens}"))
    return problems


def conversation(inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The API's `messages`: from the two prompts (SIMPLE) or from the messages list (ADVANCED)."""
    if inputs.get("format", ADVANCED) == SIMPLE:
        return simple_messages(inputs.get("systemPrompt"), inputs.get("userPrompt"))
    return advanced_messages(inputs.get("messages"), model=inputs.get("model"))


def simple_messages(system_prompt: str | None, user_prompt: str | None) -> list[dict[str, Any]]:
    """An optional `system` message, then the `user` message; a blank system prompt is left out."""
    if not user_prompt:
        raise InputValidationError(
            [Problem("userPrompt", "User prompt is required when the format is SIMPLE")], subject=ACTION
        )
    messages: list[dict[str, Any]] = []
    if system_prompt and not system_prompt.isspace():
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": user_prompt})
    return messages


def advanced_messages(messages: Any, *, model: str | None = None) -> list[dict[str, Any]]:
    """Each message as the API's: `{role, content}`, with `tool_call_id`, `tool_calls`, `reasoning_content`.

    Refused here, before anything is sent, rather than dropped or sent to fail: a tool message
    without a Tool call ID, or one on another role; tool calls on a message that is not the
    assistant's; a message with neither content nor parts (an assistant's tool calls aside);
    parts other than text for a model that reads text only (`model_rules`).
    """
    if not isinstance(messages, list) or not messages:
        raise InputValidationError([Problem("messages", "Messages must hold at least one message")], subject=ACTION)
    problems: list[Problem] = []
    result: list[dict[str, Any]] = []
    vision = chat_model_rules(model).vision if model else None
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role, content = message["role"], message.get("content")
        entry: dict[str, Any] = {"role": role, "content": content}
        _tool_call_id(message, role, where, entry, problems)
        calls = message.get("toolCalls")
        if calls:
            if role == "assistant":
                entry["tool_calls"] = message_tool_calls(calls, where, problems)
            else:
                problems.append(
                    Problem(
                        f"{where}.toolCalls", f"Tool calls belong on an 'assistant' message, not on a '{role}' message"
                    )
                )
        reasoning = message.get("reasoningContent")
        if reasoning is not None:
            if role == "assistant":
                entry["reasoning_content"] = reasoning
            else:
                problems.append(
                    Problem(
                        f"{where}.reasoningContent",
                        f"Reasoning belongs on an 'assistant' message, not on a '{role}' message",
                    )
                )
        parts = message.get("parts") or []
        if parts:
            if vision is False:
                for position, part in enumerate(parts):
                    if part.get("type") != "text":
                        problems.append(
                            Problem(
                                f"{where}.parts[{position}].type",
                                f"a {part.get('type')!r} part needs a vision model; {model} reads text only "
                                "(choose a vision model such as glm-4.6v)",
                            )
                        )
            bad = [p for p in parts if p.get("type") not in PART_TYPES]
            if not bad:
                listed = content_parts(content, parts, where, problems)
                if vision is False:  # text parts only (the others are refused above): one string
                    entry["content"] = "\n".join(part["text"] for part in listed if part["type"] == "text")
                else:
                    entry["content"] = listed
        elif not isinstance(content, str) or (not content and not (role == "assistant" and calls)):
            if not (role == "assistant" and calls):
                problems.append(Problem(f"{where}.content", "Content is required (or, for a vision model, parts)"))
        if role == "assistant" and calls and not content and not parts:
            entry["content"] = None if content is None else content
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


def _tool_call_id(
    message: Mapping[str, Any], role: str, where: str, entry: dict[str, Any], problems: list[Problem]
) -> None:
    """The API needs `tool_call_id` on a tool message and knows it on no other."""
    tool_call_id = message.get("toolCallId")
    if role == "tool":
        if tool_call_id:
            entry["tool_call_id"] = tool_call_id
        else:
            problems.append(
                Problem(
                    f"{where}.toolCallId",
                    "Tool call ID is required for a message whose role is 'tool': "
                    "the API needs the id of the tool call that message answers",
                )
            )
    elif tool_call_id is not None:
        problems.append(
            Problem(
                f"{where}.toolCallId",
                f"Tool call ID belongs on a 'tool' message only, not on a '{role}' message; "
                "remove it or set the role to 'tool'",
            )
        )


# --- answer → output --------------------------------------------------------------------------


def reply_output(
    completion: Mapping[str, Any], inputs: Mapping[str, Any], request_id: str, context: ActionContext
) -> Any:
    """Ask's output in the mode the inputs chose: the text, the parsed JSON, or the full reply."""
    return chat_output.answer(completion, inputs, request_id, context)


def reply_text(completion: Mapping[str, Any], request_id: str, context: ActionContext) -> str:
    """The assistant's text from a completion (or an assembled stream), by its finish reason.

    `sensitive` and `network_error` are failures; `length` and `model_context_window_exceeded`
    return the partial text with a warning; a reply of tool calls only is an error (the
    ANSWER mode has no room for them: Output FULL returns them).
    """
    return chat_output.answer_text(completion, request_id, context)


class StreamedReply:
    """Chunks of a streamed completion, gathered into a non-streamed completion's shape.

    The first choice's `content` deltas make the text and `reasoning_content` deltas the
    reasoning, each passed as it arrives to its own callback (`on_partial`, `on_reasoning`), so
    that the two never mix. Tool-call deltas are assembled by their `index`: the id, type and
    name from the first delta that has them, the `arguments` text concatenated. Usage, the
    model, web-search results and the content filter are kept from whichever chunk carries them.
    """

    __slots__ = (
        "_on_partial",
        "_on_reasoning",
        "_parts",
        "_reasoning",
        "_finish_reason",
        "_tool_calls",
        "_extras",
    )

    def __init__(self, on_partial: Callable[[str], None], on_reasoning: Callable[[str], None] | None = None) -> None:
        self._on_partial = on_partial
        self._on_reasoning = on_reasoning
        self._parts: list[str] = []
        self._reasoning: list[str] = []
        self._finish_reason: str | None = None
        self._tool_calls: dict[int, dict[str, Any]] = {}
        self._extras: dict[str, Any] = {}

    def add(self, chunk: Mapping[str, Any]) -> None:
        for key in ("request_id", "model", "usage", "web_search", "content_filter", "created", "id"):
            value = chunk.get(key)
            if value is not None and (key not in self._extras or key in ("usage", "content_filter")):
                self._extras[key] = value
        for choice in chunk.get("choices", ()):
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            piece = delta.get("content")
            if isinstance(piece, str) and piece:
                self._parts.append(piece)
                self._on_partial(piece)
            thought = delta.get("reasoning_content")
            if isinstance(thought, str) and thought:
                self._reasoning.append(thought)
                if self._on_reasoning is not None:
                    self._on_reasoning(thought)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    self._add_tool_call(call)
            if choice.get("finish_reason") is not None:
                self._finish_reason = choice["finish_reason"]

    def _add_tool_call(self, call: Mapping[str, Any]) -> None:
        index = call.get("index")
        position = index if isinstance(index, int) else len(self._tool_calls)
        entry = self._tool_calls.setdefault(position, {"id": None, "type": None, "name": None, "arguments": []})
        for key in ("id", "type"):
            if entry[key] is None and isinstance(call.get(key), str):
                entry[key] = call[key]
        function = call.get("function") or {}
        if entry["name"] is None and isinstance(function.get("name"), str):
            entry["name"] = function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            entry["arguments"].append(arguments)
        elif isinstance(arguments, dict):  # a whole object in one delta
            entry["arguments"].append(json.dumps(arguments, ensure_ascii=False))

    def completion(self) -> dict[str, Any]:
        """What the same call without streaming would have returned."""
        content: str | None = "".join(self._parts)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        if self._tool_calls:
            message["tool_calls"] = [
                {
                    "id": entry["id"] or "",
                    "type": entry["type"] or "function",
                    "function": {"name": entry["name"] or "", "arguments": "".join(entry["arguments"])},
                }
                for _, entry in sorted(self._tool_calls.items())
            ]
            if not content:
                message["content"] = None
        completion: dict[str, Any] = {
            **self._extras,
            "choices": [{"index": 0, "finish_reason": self._finish_reason, "message": message}],
        }
        return completion


# --- the action, described once ---------------------------------------------------------------


def _streamed_reply(context: ActionContext) -> StreamedReply:
    """A stream's assembler: text to `context.on_partial`, reasoning to `context.on_reasoning`."""
    assert context.on_partial is not None
    return StreamedReply(context.on_partial, context.on_reasoning)


def _reply_output(
    completion: Mapping[str, Any], request_id: str, context: ActionContext, inputs: Mapping[str, Any]
) -> Any:
    return reply_output(completion, inputs, request_id, context)


#: Ask: `chat_body` → `POST /chat/completions` → `reply_output`; streamed through `StreamedReply`
#: when the caller asks for partial text. Its sync and async handlers come from this one line.
ASK = OneRequest(CHAT, chat_body, _reply_output, stream=_streamed_reply)
