"""Deterministic chat replies: the same request always gets the same text.

A reply is composed from the model id and the messages only: a short text that plainly
restates the last user message, so a demo reads sensibly (asked for an image prompt, it
returns a usable image prompt; asked for JSON, valid JSON). `max_tokens` truncates it
(`finish_reason: length`), `stop` cuts it before the first stop sequence, and usage counts
come from the same tokenizer that truncates, so they always agree with the text.

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


@dataclass(frozen=True, slots=True)
class Reply:
    """One generated answer, already cut by `stop` / `max_tokens`."""

    content: str | None
    reasoning: str | None
    tool_calls: list[dict[str, Any]] | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


def count_tokens(text: str) -> int:
    return len(_tokenizer(text).findall(text))


def _tokenizer(text: str) -> re.Pattern[str]:
    return _ASCII_TOKEN if text.isascii() else TOKEN


def compose(request: ChatRequest) -> Reply:
    """The deterministic reply to a valid chat request."""
    prompt_tokens = sum(count_tokens(message_text(m.get("content"))) for m in request.messages)
    topic = _topic(request.last_user_text)
    reasoning = f'The user asks about "{topic}". A short, direct answer fits best.' if request.thinking else None
    reasoning_tokens = count_tokens(reasoning) if reasoning else 0

    tool_call = _tool_call(request, topic)
    if tool_call is not None:
        return Reply(
            None, reasoning, [tool_call], "tool_calls", prompt_tokens,
            reasoning_tokens + count_tokens(tool_call["function"]["arguments"]),
        )  # fmt: skip

    text, finish_reason, tokens = _limit(_answer(request, topic), request.stop, request.max_tokens)
    return Reply(text, reasoning, None, finish_reason, prompt_tokens, reasoning_tokens + tokens)


def split_for_stream(text: str, tokens_per_chunk: int) -> list[str]:
    """`text` in pieces of `tokens_per_chunk` tokens whose concatenation is exactly `text`."""
    starts = [match.start() for match in TOKEN.finditer(text)][::tokens_per_chunk]
    if not starts:
        return [text] if text else []
    starts[0] = 0
    return [text[start:end] for start, end in zip(starts, starts[1:] + [len(text)])]


def _answer(request: ChatRequest, topic: str) -> str:
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
    if request.json_output:
        text = json.dumps({"answer": text, "model": model}, ensure_ascii=False)
    return text


def _tool_call(request: ChatRequest, topic: str) -> dict[str, Any] | None:
    """Call the first function tool when the conversation ends with a user message."""
    if request.messages[-1]["role"] != "user":
        return None
    function = next((t["function"] for t in request.tools if t["type"] == "function"), None)
    if function is None:
        return None
    properties = function.get("parameters", {}).get("properties", {})
    wanted = list(function.get("parameters", {}).get("required", [])) + list(properties)
    argument = next(
        (name for name in wanted if isinstance(properties.get(name), dict)
         and properties[name].get("type") == "string"),
        None,
    )  # fmt: skip
    arguments = json.dumps({argument: topic} if argument else {}, ensure_ascii=False)
    digest = hashlib.sha256(f"{function['name']}\0{arguments}".encode()).hexdigest()[:24]
    return {
        "id": f"call_{digest}",
        "type": "function",
        "index": 0,
        "function": {"name": function["name"], "arguments": arguments},
    }


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
