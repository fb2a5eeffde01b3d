"""Deterministic chat replies: the same request always gets the same text.

A reply is composed from the request only: a short text that plainly restates the last user
message, so a demo reads sensibly (asked for an image prompt, it returns a usable image prompt;
asked for JSON, valid JSON). Models of GLM-4.5 and later reason first, as the platform's do,
unless `thinking` turns it off; `reasoning_effort` sets how many steps. A function tool named in
the last user message is called; a web search returns results made from the query. `max_tokens`
truncates the text (`finish_reason: length`), `stop` cuts it before the stop sequence, and usage
counts come from the same tokenizer that truncates, so they always agree with the text.

Tokens are approximated: a run of letters/digits, one CJK character, or one punctuation mark.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from .faults import strip_markers
from .validation import ChatRequest, message_text
from .websearch import search_results

TOKEN = re.compile(
    r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]"  # one CJK/kana/hangul character
    r"|[^\W\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]+"  # a run of word characters
    r"|[^\w\s]"  # one punctuation mark
)
_ASCII_TOKEN = re.compile(r"\w+|[^\w\s]", re.ASCII)  # the same rule, twice as fast on ASCII
_TOPIC_CHARS = 160
_IMAGE_WORDS = r"(?:image|picture|illustration|drawing|painting|photo|poster|cover|wallpaper)"
_IMAGE_PROMPT = re.compile(rf"\b{_IMAGE_WORDS}\b.*\bprompt|\bprompt\b.*\b{_IMAGE_WORDS}\b", re.I | re.S)
_IMAGE_ASK = re.compile(
    r"^(?:please\s+)?(?:write|create|give(?:\s+me)?|generate|make|suggest|compose|produce)?\s*"
    r"(?:me\s+)?(?:an?\s+|one\s+)?(?:short\s+|detailed\s+|vivid\s+|good\s+)*"
    rf"(?:{_IMAGE_WORDS}\s+)?(?:generation\s+)?prompts?\s*"
    r"(?:for|about|of|showing|depicting|with|:)?\s*"
    rf"(?:an?\s+{_IMAGE_WORDS}\s+(?:of|about|showing)\s+)?",
    re.I,
)


_REASONING_STEPS = (
    'The user asks about "{topic}".',
    "A short, direct answer fits best.",
    "Check the wording of the question once more.",
    "Keep the reply plain and deterministic.",
    "Nothing else is needed; answer now.",
)
# How many of those steps each `reasoning_effort` takes; models without the field take two.
_EFFORT_STEPS = {"minimal": 1, "low": 1, "medium": 2, "high": 3, "xhigh": 4, "max": 5}
_DEFAULT_STEPS = 2


@dataclass(frozen=True, slots=True)
class Reply:
    """One generated answer, already cut by `stop` / `max_tokens`.

    `completion_tokens` includes `reasoning_tokens`; `cached_tokens` is the part of
    `prompt_tokens` taken as served from the prompt cache.
    """

    content: str | None
    reasoning: str | None
    tool_calls: list[dict[str, Any]] | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    web_search: list[dict[str, Any]] | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
        }
        if self.reasoning is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return usage


def count_tokens(text: str) -> int:
    return len(_tokenizer(text).findall(text))


def _tokenizer(text: str) -> re.Pattern[str]:
    return _ASCII_TOKEN if text.isascii() else TOKEN


def compose(request: ChatRequest, created: int) -> Reply:
    """The deterministic reply to a valid chat request; `created` dates its web-search results."""
    prompt_tokens, cached_tokens = _prompt_tokens(request)
    topic = _topic(request.last_user_text)
    reasoning = _reasoning(request, topic)
    reasoning_tokens = count_tokens(reasoning) if reasoning else 0
    results = search_results(request.web_search, topic, created) if request.web_search else None
    shown_results = results if request.web_search and request.web_search.return_results else None

    tool_calls = _tool_calls(request, topic)
    if tool_calls:
        arguments = sum(count_tokens(call["function"]["arguments"]) for call in tool_calls)
        return Reply(
            None, reasoning, tool_calls, "tool_calls", prompt_tokens, reasoning_tokens + arguments,
            reasoning_tokens, cached_tokens, shown_results,
        )  # fmt: skip

    # `max_tokens` covers the reasoning too, as on the platform: a small one can end in
    # `length` with the reasoning cut and an empty answer.
    budget = request.max_tokens
    if reasoning is not None and budget is not None:
        if reasoning_tokens >= budget:
            reasoning, _, reasoning_tokens = _limit(reasoning, (), budget)
            return Reply(
                "", reasoning, None, "length", prompt_tokens, reasoning_tokens,
                reasoning_tokens, cached_tokens, shown_results,
            )  # fmt: skip
        budget -= reasoning_tokens
    answer = _answer(request, topic, len(results) if results else 0)
    text, finish_reason, tokens = _limit(answer, request.stop, budget)
    return Reply(
        text, reasoning, None, finish_reason, prompt_tokens, reasoning_tokens + tokens,
        reasoning_tokens, cached_tokens, shown_results,
    )  # fmt: skip


def _prompt_tokens(request: ChatRequest) -> tuple[int, int]:
    """All tokens of the context, and the cached part: every message before the last one.

    Earlier turns' `reasoning_content` is part of the context only with `clear_thinking: false`.
    """
    counts = [count_tokens(message_text(message.get("content"))) for message in request.messages]
    if not request.clear_thinking:
        for position, message in enumerate(request.messages):
            counts[position] += count_tokens(message.get("reasoning_content") or "")
    return sum(counts), sum(counts[:-1])


def _reasoning(request: ChatRequest, topic: str) -> str | None:
    if not request.thinking:
        return None
    steps = _EFFORT_STEPS.get(request.reasoning_effort or "", _DEFAULT_STEPS)
    if request.reasoning_effort is None and request.model.reasoning_efforts:
        steps = _EFFORT_STEPS["max"]  # the documented default effort
    return " ".join(_REASONING_STEPS[:steps]).format(topic=topic)


def split_for_stream(text: str, tokens_per_chunk: int) -> list[str]:
    """`text` in pieces of `tokens_per_chunk` tokens whose concatenation is exactly `text`."""
    starts = [match.start() for match in TOKEN.finditer(text)][::tokens_per_chunk]
    if not starts:
        return [text] if text else []
    starts[0] = 0
    return [text[start:end] for start, end in zip(starts, starts[1:] + [len(text)])]


def _answer(request: ChatRequest, topic: str, results: int) -> str:
    last = request.messages[-1]
    model = request.model.id
    if last["role"] == "tool":
        result = _shorten(message_text(last.get("content")))
        text = f'The tool returned "{result}". Based on that result, here is the answer.'
    elif _IMAGE_PROMPT.search(topic):
        subject = _IMAGE_ASK.sub("", topic, count=1).strip(" .:") or topic
        text = (
            f"A detailed illustration of {subject}, soft natural light, "
            "rich colours, balanced composition, high detail."
        )
    else:
        text = (
            f'Here is a short answer about "{topic}" from {model}. '
            "The Zhipu emulator composes it from your message, "
            "so the same request always gets the same reply."
        )
    if results:
        text = f"According to {results} web search results [ref_1], " + text[0].lower() + text[1:]
    if request.json_output:
        text = json.dumps({"answer": text, "model": model}, ensure_ascii=False)
    return text


def _tool_calls(request: ChatRequest, topic: str) -> list[dict[str, Any]]:
    """Call every function tool that the last user message names, in the order of `tools`.

    Only a conversation that ends with a user message calls tools: after a `tool` message the
    model answers. A name counts when it stands as a whole word (`get_weather`, not `weather`).
    """
    if request.messages[-1]["role"] != "user" or not request.tools:
        return []
    said = request.last_user_text.lower()
    calls: list[dict[str, Any]] = []
    for tool in request.tools:
        function = tool["function"]
        name = function["name"]
        if not re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", said):
            continue
        arguments = json.dumps(_arguments(function.get("parameters"), topic), ensure_ascii=False)
        digest = hashlib.sha256(f"{name}\0{arguments}".encode()).hexdigest()[:24]
        calls.append(
            {
                "id": f"call_{digest}",
                "type": "function",
                "index": len(calls),
                "function": {"name": name, "arguments": arguments},
            }
        )
    return calls


_PLACEHOLDERS: dict[str, Any] = {"integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}


def _arguments(parameters: Any, topic: str) -> dict[str, Any]:
    """Arguments that fit the schema: every required property, else the first string one.

    A property's `default`, or its first `enum` value, wins; a string gets the user's message.
    """
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict):
        return {}
    required = parameters.get("required")
    names = [n for n in required if n in properties] if isinstance(required, list) else []
    if not names:
        first = next((n for n, p in properties.items() if isinstance(p, dict) and p.get("type") == "string"), None)
        names = [first] if first else []
    arguments = {}
    for name in names:
        schema = properties[name] if isinstance(properties[name], dict) else {}
        enum = schema.get("enum")
        if "default" in schema:
            arguments[name] = schema["default"]
        elif isinstance(enum, list) and enum:
            arguments[name] = enum[0]
        else:
            arguments[name] = _PLACEHOLDERS.get(str(schema.get("type")), topic)
    return arguments


def _limit(text: str, stop: tuple[str, ...], max_tokens: int | None) -> tuple[str, str, int]:
    """Apply stop sequences and `max_tokens`, whichever cuts first.

    Returns the text, the finish reason and the text's token count.
    """
    if stop:
        cut_at = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
        if cut_at >= 0:
            text = text[:cut_at]
    tokens = count_tokens(text)
    if max_tokens is not None and tokens > max_tokens:
        last = next(itertools.islice(_tokenizer(text).finditer(text), max_tokens - 1, None))
        return text[: last.end()], "length", max_tokens
    return text, "stop", tokens


def _topic(text: str) -> str:
    topic = " ".join(strip_markers(text).split())
    return _shorten(topic) if topic else "the attached content"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _TOPIC_CHARS:
        return text
    return text[:_TOPIC_CHARS].rsplit(" ", 1)[0] + "…"
