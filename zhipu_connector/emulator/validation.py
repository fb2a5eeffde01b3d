"""Request validation with the platform's 400 codes, written from the API reference.

Each rule fails with a message naming the field and the rule, so a client author sees at once
what to fix. The emulator is stricter than the real platform in two documented ways: an
unknown top-level field is refused (it catches `maxTokens` sent for `max_tokens`), and so is
`null` for any field (the reference says never to send it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .config import EmulatorConfig
from .errors import ApiError, bad_field, unknown_model
from .models import CHAT_MODELS, IMAGE_MODELS, ChatModel, ImageSizeRule

CHAT_FIELDS = (
    "model", "messages", "do_sample", "temperature", "top_p", "max_tokens", "stop",
    "request_id", "user_id", "stream", "response_format", "tools", "tool_choice", "thinking",
)  # fmt: skip
IMAGE_FIELDS = ("model", "prompt", "size", "quality", "user_id", "request_id")

ROLES = ("system", "user", "assistant", "tool")
MESSAGE_FIELDS = {
    "system": frozenset({"role", "content"}),
    "user": frozenset({"role", "content"}),
    "assistant": frozenset({"role", "content", "tool_calls"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
}
MAX_STOP = 4
MAX_TOOLS = 128
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
TOOL_TYPES = ("function", "retrieval", "web_search")
SIZE = re.compile(r"([1-9][0-9]{0,4})x([1-9][0-9]{0,4})")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A valid chat completion request, reduced to what the reply depends on."""

    model: ChatModel
    messages: list[dict[str, Any]]
    stream: bool
    max_tokens: int | None
    stop: tuple[str, ...]
    request_id: str | None
    json_output: bool
    thinking: bool
    tools: list[dict[str, Any]]
    last_user_text: str


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """A valid image generation request."""

    model: str
    prompt: str
    width: int
    height: int
    quality: str
    request_id: str | None


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or 400 / 1214."""
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise bad_field("body: must be UTF-8 encoded JSON") from None
    except ValueError as error:
        raise bad_field(f"body: must be a JSON object; it is not valid JSON ({error})") from None
    if not isinstance(body, dict):
        raise bad_field(f"body: must be a JSON object, got {_json_type(body)}")
    return body


def validate_chat(body: dict[str, Any], config: EmulatorConfig, nullable: frozenset[str] | None = None) -> ChatRequest:
    """Check a chat completion body against every documented rule; the first broken one raises.

    `nullable` names the top-level fields where `null` counts as absent (default: the
    configured `allow_null_fields`).
    """
    if nullable is None:
        nullable = config.allow_null_fields
    _check_fields(body, CHAT_FIELDS, "chat completions", nullable)
    model = CHAT_MODELS.get(_required_string(body, "model").lower())
    if model is None:
        raise unknown_model(body["model"], sorted(CHAT_MODELS))
    messages = body.get("messages")
    if "messages" not in body:
        raise bad_field("messages: required, a non-empty array of messages")
    if not isinstance(messages, list) or not messages:
        raise bad_field("messages: must be a non-empty array of message objects")
    texts = [_check_message(index, message, model) for index, message in enumerate(messages)]
    if not any(message["role"] in ("user", "tool") for message in messages):
        raise bad_field("messages: must contain a user (or tool) message, not only system/assistant messages")

    _optional_bool(body, "do_sample")
    stream = _optional_bool(body, "stream") or False
    _optional_number(body, "temperature", 0.0, 1.0)
    _optional_number(body, "top_p", 0.01, 1.0)
    max_tokens = _optional_integer(body, "max_tokens", 1, model.max_tokens, f" for {model.id}")
    stop = _stop_sequences(body)
    request_id = _optional_string(body, "request_id", 6, 64)
    _optional_string(body, "user_id", 6, 128)
    json_output = _choice_object(body, "response_format", ("text", "json_object")) == "json_object"
    thinking = _choice_object(body, "thinking", ("enabled", "disabled"))
    if thinking is not None and not model.thinking:
        raise bad_field(f"thinking: supported by GLM-4.5 and later models only, not by {model.id}")
    tools = _tools(body)
    if "tool_choice" in body and body["tool_choice"] != "auto":
        raise bad_field(f'tool_choice: must be "auto" (the only supported value), got {body["tool_choice"]!r}')

    prompt_chars = sum(len(text) for text in texts)
    if prompt_chars > config.max_prompt_chars:
        raise ApiError(
            400,
            "1261",
            f"Prompt too long: messages hold {prompt_chars} characters, the limit is {config.max_prompt_chars}",
        )
    last_user = next((text for m, text in zip(reversed(messages), reversed(texts)) if m["role"] == "user"), "")
    return ChatRequest(
        model=model,
        messages=messages,
        stream=stream,
        max_tokens=max_tokens,
        stop=stop,
        request_id=request_id,
        json_output=json_output,
        thinking=thinking == "enabled",
        tools=tools,
        last_user_text=last_user,
    )


def validate_image(body: dict[str, Any], config: EmulatorConfig) -> ImageRequest:
    """Check an image generation body: model, prompt, size per model, quality, ids."""
    _check_fields(body, IMAGE_FIELDS, "images/generations", config.allow_null_fields)
    model = _required_string(body, "model").lower()
    sizes = IMAGE_MODELS.get(model)
    if sizes is None:
        raise unknown_model(body["model"], sorted(IMAGE_MODELS))
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise bad_field("prompt: required, a non-empty string")
    if len(prompt) > config.max_prompt_chars:
        raise ApiError(
            400,
            "1261",
            f"Prompt too long: prompt holds {len(prompt)} characters, the limit is {config.max_prompt_chars}",
        )
    width, height = _image_size(body.get("size", sizes.default), model, sizes)
    quality = body.get("quality", "standard")
    if quality not in ("standard", "hd"):
        raise bad_field(f'quality: must be "standard" or "hd", got {quality!r}')
    _optional_string(body, "user_id", 6, 128)
    request_id = _optional_string(body, "request_id", 6, 64)
    return ImageRequest(model, prompt, width, height, quality, request_id)


def message_text(content: Any) -> str:
    """The text of a message's content: the string, or the text parts of a list joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part["text"] for part in content if part.get("type") == "text")
    return ""


# -- fields --------------------------------------------------------------------------------


def _check_fields(body: dict[str, Any], known: tuple[str, ...], api: str, nullable: frozenset[str]) -> None:
    for name in list(body):
        if name not in known:
            snake = _CAMEL.sub("_", name).lower()
            hint = f" (did you mean {snake}?)" if snake != name and snake in known else ""
            raise bad_field(f"{name}: unknown field{hint}; the {api} API accepts {', '.join(known)}")
        if body[name] is None:
            if name not in nullable:
                raise bad_field(f"{name}: do not send null; omit the field instead")
            del body[name]


def _required_string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if name not in body:
        raise bad_field(f"{name}: required")
    if not isinstance(value, str) or not value:
        raise bad_field(f"{name}: must be a non-empty string, got {_json_type(value)}")
    return value


def _optional_string(body: dict[str, Any], name: str, shortest: int, longest: int) -> str | None:
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, str) or not shortest <= len(value) <= longest:
        shown = f"{len(value)} characters" if isinstance(value, str) else _json_type(value)
        raise bad_field(f"{name}: must be a string of {shortest}-{longest} characters, got {shown}")
    return value


def _optional_bool(body: dict[str, Any], name: str) -> bool | None:
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, bool):
        raise bad_field(f"{name}: must be a boolean (true or false), got {_json_type(value)}")
    return value


def _optional_number(body: dict[str, Any], name: str, low: float, high: float) -> None:
    if name not in body:
        return
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise bad_field(f"{name}: must be a number in [{low}, {high}], got {value!r}")


def _optional_integer(body: dict[str, Any], name: str, low: int, high: int, context: str) -> int | None:
    if name not in body:
        return None
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_field(f"{name}: must be an integer in [{low}, {high}]{context}, got {value!r}")
    return value


def _stop_sequences(body: dict[str, Any]) -> tuple[str, ...]:
    if "stop" not in body:
        return ()
    stop = body["stop"]
    if not isinstance(stop, list) or len(stop) > MAX_STOP or not all(isinstance(item, str) and item for item in stop):
        raise bad_field(f"stop: must be an array of at most {MAX_STOP} non-empty strings, got {stop!r}")
    return tuple(stop)


def _choice_object(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> str | None:
    if name not in body:
        return None
    value = body[name]
    allowed = " | ".join(f'"{choice}"' for choice in choices)
    if not isinstance(value, dict) or set(value) != {"type"} or value["type"] not in choices:
        raise bad_field(f'{name}: must be {{"type": {allowed}}}, got {json.dumps(value)}')
    return value["type"]


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    if "tools" not in body:
        return []
    tools = body["tools"]
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise bad_field(f"tools: must be an array of at most {MAX_TOOLS} tools")
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") not in TOOL_TYPES:
            raise bad_field(f"{where}.type: must be one of {', '.join(TOOL_TYPES)}")
        kind = tool["type"]
        if not isinstance(tool.get(kind), dict):
            raise bad_field(f"{where}.{kind}: required, an object describing the {kind} tool")
        if kind == "function":
            function = tool["function"]
            name = function.get("name")
            if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
                raise bad_field(f"{where}.function.name: must match ^[a-zA-Z0-9_-]{{1,64}}$, got {name!r}")
            if "parameters" in function and not isinstance(function["parameters"], dict):
                raise bad_field(f"{where}.function.parameters: must be a JSON Schema object")
    return tools


# -- messages ------------------------------------------------------------------------------


def _check_message(index: int, message: Any, model: ChatModel) -> str:
    """Check one message; return its text (for length limits and the reply)."""
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise bad_field(f"{where}: must be an object with role and content")
    role = message.get("role")
    if role not in ROLES:
        raise bad_field(f"{where}.role: must be one of {', '.join(ROLES)}, got {role!r}")
    for name, value in message.items():
        if name not in MESSAGE_FIELDS[role]:
            raise bad_field(
                f"{where}.{name}: unknown field for a {role} message; "
                f"allowed: {', '.join(sorted(MESSAGE_FIELDS[role]))}"
            )
        if value is None and not (name == "content" and "tool_calls" in message):
            raise bad_field(f"{where}.{name}: do not send null; omit the field instead")
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise bad_field(f"{where}.tool_call_id: required for a tool message, a non-empty string")
    if role == "assistant" and "tool_calls" in message:
        _check_tool_calls(where, message["tool_calls"])
        if message.get("content") is None:
            return ""
    return _check_content(where, message.get("content"), role, model)


def _check_content(where: str, content: Any, role: str, model: ChatModel) -> str:
    if isinstance(content, str):
        if not content:
            raise bad_field(f"{where}.content: must not be empty")
        return content
    if isinstance(content, list) and role == "user" and model.vision:
        if not content:
            raise bad_field(f"{where}.content: a list of parts must not be empty")
        for position, part in enumerate(content):
            _check_part(f"{where}.content[{position}]", part)
        return message_text(content)
    if content is None:
        raise bad_field(f"{where}.content: required")
    if isinstance(content, list):
        rule = (
            "only user messages may be a list of parts"
            if model.vision
            else f"{model.id} reads text only; a list of parts needs a vision model (glm-4v...)"
        )
        raise bad_field(f"{where}.content: must be a string; {rule}")
    raise bad_field(f"{where}.content: must be a string, got {_json_type(content)}")


def _check_part(where: str, part: Any) -> None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        if set(part) != {"type", "text"} or not isinstance(part["text"], str):
            raise bad_field(f'{where}: a text part is {{"type": "text", "text": <string>}}')
    elif kind == "image_url":
        image = part.get("image_url")
        if (
            set(part) != {"type", "image_url"}
            or not isinstance(image, dict)
            or not isinstance(image.get("url"), str)
            or not image["url"]
        ):
            raise bad_field(
                f'{where}: an image part is {{"type": "image_url", "image_url": {{"url": <url or base64>}}}}'
            )
    else:
        raise bad_field(f'{where}.type: must be "text" or "image_url", got {kind!r}')


def _check_tool_calls(where: str, calls: Any) -> None:
    if not isinstance(calls, list) or not calls:
        raise bad_field(f"{where}.tool_calls: must be a non-empty array of tool calls")
    for position, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise bad_field(
                f"{where}.tool_calls[{position}]: must be "
                '{"id", "type": "function", "function": {"name", "arguments"}}'
            )


# -- images --------------------------------------------------------------------------------


def _image_size(size: Any, model: str, rule: ImageSizeRule) -> tuple[int, int]:
    match = SIZE.fullmatch(size) if isinstance(size, str) else None
    if match is None:
        raise bad_field(f'size: must be "WIDTHxHEIGHT" such as "{rule.default}", got {size!r}')
    width, height = int(match.group(1)), int(match.group(2))
    if size in rule.presets:
        return width, height
    sides_ok = all(rule.min_side <= side <= rule.max_side and side % rule.multiple == 0 for side in (width, height))
    if not sides_ok or width * height > rule.max_pixels:
        raise bad_field(f"size: {size} is not accepted by {model}: {rule.describe()}")
    return width, height


# -- small checks --------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
