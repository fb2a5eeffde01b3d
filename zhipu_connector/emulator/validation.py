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
from .content import check_part
from .errors import ApiError, bad_field, unknown_model
from .fields import CHAT_FIELDS, IMAGE_FIELDS
from .models import (
    CHAT_MODELS,
    IMAGE_MODELS,
    INTERNATIONAL,
    MAINLAND,
    PLATFORM_HOSTS,
    QUALITY_APPLIES,
    ChatModel,
    ImageSizeRule,
    Thinking,
)
from .safety import check_structure
from .tools import WebSearch, check_tools

ROLES = ("system", "user", "assistant", "tool")
MESSAGE_FIELDS = {
    "system": frozenset({"role", "content"}),
    "user": frozenset({"role", "content"}),
    "assistant": frozenset({"role", "content", "tool_calls", "reasoning_content"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
}
# The spec says `maxItems: 4`, but the live server refuses a second stop word with this message.
MAX_STOP = 1
STOP_LIMIT_MESSAGE = "stop:最大只能有1个停止词"
SIZE = re.compile(r"([1-9][0-9]{0,4})x([1-9][0-9]{0,4})")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A valid chat completion request, reduced to what the reply depends on.

    `thinking` is whether the model reasons for this request (the model's rule applied to the
    `thinking` field); `reasoning_effort` is the effort asked for, or None for the default.
    `clear_thinking` false keeps earlier turns' `reasoning_content` in the context.
    """

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
    reasoning_effort: str | None = None
    clear_thinking: bool = True
    tool_stream: bool = False
    web_search: WebSearch | None = None
    platform: str = MAINLAND


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """A valid image generation request."""

    model: str
    prompt: str
    width: int
    height: int
    quality: str
    request_id: str | None
    watermark: bool = True


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or 400 / 1214.

    Nesting too deep to handle and lone UTF-16 surrogates (`"\\ud800"`, valid JSON but not
    Unicode text) are refused here, naming where they are, so no later step meets them.
    """
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise bad_field("body: must be UTF-8 encoded JSON") from None
    except RecursionError:
        raise bad_field("body: nested too deeply to parse; see the nesting limit in the emulator's docs") from None
    except ValueError as error:
        raise bad_field(f"body: must be a JSON object; it is not valid JSON ({error})") from None
    if not isinstance(body, dict):
        raise bad_field(f"body: must be a JSON object, got {_json_type(body)}")
    check_structure(body, raw)
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
        raise unknown_model(body["model"], sorted(m.id for m in CHAT_MODELS.values() if m.served_on(config.platform)))
    if not model.served_on(config.platform):
        raise _not_on_this_platform(model.id, config.platform)
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
    response_format = _choice_object(body, "response_format", ("text", "json_object"))
    if response_format is not None and model.vision:
        raise bad_field(f"response_format: supported by text models only, not by the vision model {model.id}")
    thinks, clear_thinking = _thinking(body, model)
    effort = _reasoning_effort(body, model)
    tools, web_search = check_tools(body, config.platform)
    if "tool_choice" in body and body["tool_choice"] != "auto":
        raise bad_field(f'tool_choice: must be "auto" (the only supported value), got {body["tool_choice"]!r}')
    tool_stream = _optional_bool(body, "tool_stream") or False
    if tool_stream and not model.tool_stream:
        raise bad_field(f"tool_stream: supported by GLM-4.6 and later models only, not by {model.id}")
    if tool_stream and not stream:
        raise bad_field("tool_stream: needs stream: true (it streams tool-call argument deltas)")

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
        json_output=response_format == "json_object",
        thinking=thinks and effort != "none",
        tools=tools,
        last_user_text=last_user,
        reasoning_effort=effort,
        clear_thinking=clear_thinking,
        tool_stream=tool_stream,
        web_search=web_search,
        platform=config.platform,
    )


def validate_image(
    body: dict[str, Any], config: EmulatorConfig, nullable: frozenset[str] | None = None
) -> ImageRequest:
    """Check an image generation body: model, prompt, size and quality per model, ids, watermark."""
    _check_fields(body, IMAGE_FIELDS, "images/generations", config.allow_null_fields if nullable is None else nullable)
    model_id = _required_string(body, "model").lower()
    model = IMAGE_MODELS.get(model_id)
    if model is None:
        raise unknown_model(body["model"], sorted(m.id for m in IMAGE_MODELS.values() if m.served_on(config.platform)))
    if not model.served_on(config.platform):
        raise _not_on_this_platform(model.id, config.platform)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise bad_field("prompt: required, a non-empty string")
    if len(prompt) > config.max_prompt_chars:
        raise ApiError(
            400,
            "1261",
            f"Prompt too long: prompt holds {len(prompt)} characters, the limit is {config.max_prompt_chars}",
        )
    width, height = _image_size(body.get("size", model.sizes.default), model.id, model.sizes)
    quality = body.get("quality", model.default_quality)
    if quality not in model.qualities:
        allowed = " or ".join(f'"{value}"' for value in model.qualities)
        raise bad_field(f"quality: must be {allowed} for {model.id}, got {quality!r}")
    _optional_string(body, "user_id", 6, 128)
    request_id = _optional_string(body, "request_id", 6, 64)
    watermark = _optional_bool(body, "watermark_enabled")
    effective_quality = quality if model.id in QUALITY_APPLIES else model.default_quality
    return ImageRequest(model.id, prompt, width, height, effective_quality, request_id, watermark is not False)


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
    if not isinstance(stop, list) or not all(isinstance(item, str) and item for item in stop):
        raise bad_field(f"stop: must be an array of at most {MAX_STOP} non-empty string, got {_json_type(stop)}")
    if len(stop) > MAX_STOP:
        raise bad_field(STOP_LIMIT_MESSAGE)
    return tuple(stop)


def _choice_object(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> str | None:
    if name not in body:
        return None
    value = body[name]
    allowed = " | ".join(f'"{choice}"' for choice in choices)
    if not isinstance(value, dict) or set(value) != {"type"} or value["type"] not in choices:
        raise bad_field(f'{name}: must be {{"type": {allowed}}}, got {_shown(value)}')
    return value["type"]


def _thinking(body: dict[str, Any], model: ChatModel) -> tuple[bool, bool]:
    """Whether the model thinks for this request, and `clear_thinking` (default true)."""
    if "thinking" not in body:
        return model.thinking, True
    value = body["thinking"]
    if not model.thinking:
        raise bad_field(f"thinking: supported by GLM-4.5 and later models only, not by {model.id}")
    if (
        not isinstance(value, dict)
        or value.get("type") not in ("enabled", "disabled")
        or set(value)
        - {
            "type",
            "clear_thinking",
        }
    ):
        raise bad_field(
            f'thinking: must be {{"type": "enabled" | "disabled", "clear_thinking"?: <boolean>}}, got {_shown(value)}'
        )
    clear = value.get("clear_thinking", True)
    if not isinstance(clear, bool):
        raise bad_field(f"thinking.clear_thinking: must be a boolean (true or false), got {_json_type(clear)}")
    if value["type"] == "enabled":
        return True, clear
    if model.thinking_mode is Thinking.ENABLED_ONLY:
        raise bad_field(f'thinking.type: {model.id} always thinks and cannot be turned off; "disabled" is not accepted')
    return model.thinking_mode is Thinking.ALWAYS, clear


def _reasoning_effort(body: dict[str, Any], model: ChatModel) -> str | None:
    if "reasoning_effort" not in body:
        return None
    value = body["reasoning_effort"]
    if not model.reasoning_efforts:
        raise bad_field(f"reasoning_effort: supported by GLM-5.2 and later models only, not by {model.id}")
    if value not in model.reasoning_efforts:
        raise bad_field(
            f"reasoning_effort: must be one of {', '.join(model.reasoning_efforts)} for {model.id}, got {_shown(value)}"
        )
    return str(value)


def _not_on_this_platform(model: str, platform: str) -> ApiError:
    """1211, as an unknown id: the other platform serves the model, this one does not."""
    other = MAINLAND if platform == INTERNATIONAL else INTERNATIONAL
    return ApiError(
        400,
        "1211",
        f"model: {model!r} is served on the {other} platform ({PLATFORM_HOSTS[other]}) only, "
        f"not on {PLATFORM_HOSTS[platform]}",
    )


# -- messages ------------------------------------------------------------------------------


def _check_message(index: int, message: Any, model: ChatModel) -> str:
    """Check one message; return its text (for length limits and the reply)."""
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise bad_field(f"{where}: must be an object with role and content")
    role = message.get("role")
    if role not in ROLES:
        raise bad_field(f"{where}.role: must be one of {', '.join(ROLES)}, got {_shown(role)}")
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
    if "reasoning_content" in message and not isinstance(message["reasoning_content"], str):
        raise bad_field(f"{where}.reasoning_content: must be a string (the reasoning of that earlier turn)")
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
            check_part(f"{where}.content[{position}]", part)
        return message_text(content)
    if content is None:
        raise bad_field(f"{where}.content: required")
    if isinstance(content, list):
        rule = (
            "only user messages may be a list of parts"
            if model.vision
            else f"{model.id} reads text only; a list of parts needs a vision model (glm-4.6v, glm-4.5v...)"
        )
        raise bad_field(f"{where}.content: must be a string; {rule}")
    raise bad_field(f"{where}.content: must be a string, got {_json_type(content)}")


def _check_tool_calls(where: str, calls: Any) -> None:
    if not isinstance(calls, list) or not calls:
        raise bad_field(f"{where}.tool_calls: must be a non-empty array of tool calls")
    for position, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments", ""), str)
        ):
            raise bad_field(
                f"{where}.tool_calls[{position}]: must be "
                '{"id", "type": "function", "function": {"name", "arguments": <a JSON string>}}'
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


def _shown(value: Any) -> str:
    """`value` as JSON for a message, cut short: a refusal never echoes a whole large body."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


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
