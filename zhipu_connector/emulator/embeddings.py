"""`POST /embeddings`: the documented limits, and vectors that make a similarity demo meaningful.

The platform's vectors come from a model; the emulator's come from hashed text features
(words, character trigrams, CJK character pairs), each feature adding a fixed signed pattern to
a few coordinates, plus a small dense part drawn from the exact text, the sum normalised to
unit length. So the same text always gives the same
vector, and texts that share words or word pieces point in closer directions than unrelated
ones — enough for a demo that ranks documents against a query to rank sensibly.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

from .config import EmulatorConfig
from .errors import ApiError, bad_field, unknown_model
from .replies import count_tokens


@dataclass(frozen=True, slots=True)
class EmbeddingModel:
    """One embedding model's documented limits."""

    id: str
    dimensions: tuple[int, ...]
    default_dimensions: int
    max_item_tokens: int
    max_total_tokens: int | None


EMBEDDING_MODELS: dict[str, EmbeddingModel] = {
    "embedding-3": EmbeddingModel("embedding-3", (256, 512, 1024, 2048), 2048, 3072, None),
    "embedding-2": EmbeddingModel("embedding-2", (1024,), 1024, 512, 8 * 1024),
}
EMBEDDING_FIELDS = ("model", "input", "dimensions")
MAX_ITEMS = 64

_WORD = re.compile(r"[^\W\d_]+|\d+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_SPREAD = 8  # coordinates each feature touches: spreads a short text over more than a handful
_WORD_WEIGHT = 1.0
_TRIGRAM_WEIGHT = 0.35
_NOISE_SHARE = 0.25
_STOP_WEIGHT = 0.15  # words every text shares say little about what it is about
_STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from has have how i in is it its my of on or our so that the "
    "their this to was we what when where which who why will with you your".split()
)


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    """A valid embeddings request."""

    model: EmbeddingModel
    texts: list[str]
    dimensions: int


def validate_embeddings(body: dict[str, Any], config: EmulatorConfig) -> EmbeddingRequest:
    """Check an embeddings body; the first broken rule raises with the field and the rule."""
    for name in list(body):
        if name not in EMBEDDING_FIELDS:
            raise bad_field(f"{name}: unknown field; the embeddings API accepts {', '.join(EMBEDDING_FIELDS)}")
        if body[name] is None:
            if name not in config.allow_null_fields:
                raise bad_field(f"{name}: do not send null; omit the field instead")
            del body[name]
    if "model" not in body:
        raise bad_field("model: required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise bad_field("model: must be a non-empty string")
    model = EMBEDDING_MODELS.get(body["model"].lower())
    if model is None:
        raise unknown_model(body["model"], sorted(EMBEDDING_MODELS))
    texts = _texts(body)
    dimensions = body.get("dimensions", model.default_dimensions)
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions not in model.dimensions:
        allowed = " or ".join(str(value) for value in model.dimensions)
        raise bad_field(f"dimensions: must be {allowed} for {model.id}, got {dimensions!r}")
    total = 0
    for index, text in enumerate(texts):
        tokens = count_tokens(text)
        total += tokens
        if tokens > model.max_item_tokens:
            raise ApiError(
                400, "1261", f"input[{index}]: {tokens} tokens, more than {model.max_item_tokens} for {model.id}"
            )
    if model.max_total_tokens is not None and total > model.max_total_tokens:
        raise ApiError(400, "1261", f"input: {total} tokens in all, more than {model.max_total_tokens} for {model.id}")
    return EmbeddingRequest(model, texts, dimensions)


def embeddings_payload(request: EmbeddingRequest) -> dict[str, Any]:
    """The documented reply: one vector per input, in input order, and the usage."""
    tokens = sum(count_tokens(text) for text in request.texts)
    return {
        "model": request.model.id,
        "object": "list",
        "data": [
            {"index": index, "object": "embedding", "embedding": embed(text, request.dimensions)}
            for index, text in enumerate(request.texts)
        ],
        "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
    }


def embed(text: str, dimensions: int) -> list[float]:
    """A unit-length vector of `dimensions` floats, a pure function of the text."""
    vector = [0.0] * dimensions
    for feature, weight in _features(text):
        digest = hashlib.blake2b(feature.encode(), digest_size=2 * _SPREAD).digest()
        for position in range(_SPREAD):
            value = int.from_bytes(digest[2 * position : 2 * position + 2], "big")
            sign = 1.0 if value & 1 else -1.0
            vector[(value >> 1) % dimensions] += sign * weight
    # A small dense part drawn from the exact text: every coordinate carries a value, as in a
    # model's vector, and texts that differ only in punctuation still differ a little.
    noise = struct.unpack(f">{dimensions}h", hashlib.shake_256(text.encode()).digest(2 * dimensions))
    norm = math.sqrt(sum(value * value for value in vector))
    noise_norm = math.sqrt(sum(value * value for value in noise)) or 1.0
    scale = _NOISE_SHARE * (norm or 1.0) / noise_norm
    vector = [value + scale * extra for value, extra in zip(vector, noise)]
    total = math.sqrt(sum(value * value for value in vector))
    return [value / total for value in vector]


def _features(text: str) -> list[tuple[str, float]]:
    lowered = text.lower()
    features: list[tuple[str, float]] = []
    for word in _WORD.findall(lowered):
        if _CJK.match(word):
            features += [(f"c:{char}", _WORD_WEIGHT) for char in word]
            features += [(f"b:{word[i : i + 2]}", _WORD_WEIGHT) for i in range(len(word) - 1)]
            continue
        if word in _STOP_WORDS:
            features.append((f"w:{word}", _STOP_WEIGHT))
            continue
        features.append((f"w:{word}", _WORD_WEIGHT))
        padded = f"<{word}>"
        features += [(f"t:{padded[i : i + 3]}", _TRIGRAM_WEIGHT) for i in range(len(padded) - 2)]
    return features


def _texts(body: dict[str, Any]) -> list[str]:
    if "input" not in body:
        raise bad_field("input: required, a string or an array of strings")
    value = body["input"]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise bad_field("input: must be a non-empty string or a non-empty array of strings")
    if len(items) > MAX_ITEMS:
        raise bad_field(f"input: at most {MAX_ITEMS} items (input数组最大不得超过{MAX_ITEMS}条), got {len(items)}")
    for index, item in enumerate(items):
        where = "input" if isinstance(value, str) else f"input[{index}]"
        if not isinstance(item, str) or not item.strip():
            raise bad_field(f"{where}: must be a non-empty string")
    return items
