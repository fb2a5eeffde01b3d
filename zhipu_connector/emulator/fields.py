"""The top-level request fields each API accepts, in one place.

Validation refuses any other field, and the configuration checks `allow_null_fields` against
these, so `--allow-null maxTokens` is a mistake named at start-up rather than a rule that never
applies.
"""

from __future__ import annotations

CHAT_FIELDS = (
    "model", "messages", "do_sample", "temperature", "top_p", "max_tokens", "stop",
    "request_id", "user_id", "stream", "response_format", "tools", "tool_choice", "tool_stream",
    "thinking", "reasoning_effort",
)  # fmt: skip
IMAGE_FIELDS = ("model", "prompt", "size", "quality", "user_id", "request_id", "watermark_enabled")

REQUEST_FIELDS: frozenset[str] = frozenset(CHAT_FIELDS) | frozenset(IMAGE_FIELDS)
