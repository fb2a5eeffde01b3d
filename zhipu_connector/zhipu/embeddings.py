"""The Create embeddings action: one text or a list of texts → their vectors, in input order.

The rules of `POST /embeddings` (`zhipu-api-endpoints.md` §1), checked before sending:
- `embedding-3` takes `dimensions` 256, 512, 1024 or 2048 (2048 by default); `embedding-2` is
  fixed at 1024, so it takes 1024 or nothing;
- at most 64 texts per request (the platform answers more with 1214), none blank.
The token limits (3072 per text for embedding-3; 512 per text and 8192 in all for embedding-2)
are the platform's to count — its tokenizer is not public — and a text over them comes back
as the platform's own 1261 error.

The output is `{model, data: [{index, embedding}], usage}`: one vector per text, sorted by
`index` (its position in the input), so `data[i]` is the vector of text `i`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import InputValidationError, Problem
from zhipu_connector.zhipu.errors import MalformedResponseError
from zhipu_connector.zhipu.one_request import OneRequest
from zhipu_connector.zhipu.routes import EMBEDDINGS

ACTION = "zhipu.createEmbeddings"
MAX_TEXTS = 64
DIMENSIONS: dict[str, tuple[int, ...]] = {"embedding-3": (256, 512, 1024, 2048), "embedding-2": (1024,)}


def texts_of(inputs: Mapping[str, Any]) -> list[str]:
    """The texts to embed: `text`, or `texts`, never both; refused when blank or too many."""
    text, texts = inputs.get("text"), inputs.get("texts")
    problems: list[Problem] = []
    if text is not None and texts is not None:
        problems.append(Problem("texts", "Give Text (one) or Texts (a list), not both"))
    elif text is None and texts is None:
        problems.append(Problem("text", "Give Text (one text) or Texts (a list of texts) to embed"))
    elif text is not None:
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem("text", "Text is blank; there is nothing to embed"))
    else:
        if not isinstance(texts, list) or not texts:
            problems.append(Problem("texts", "Texts must hold at least one text"))
        elif len(texts) > MAX_TEXTS:
            problems.append(Problem("texts", f"at most {MAX_TEXTS} texts per request, got {len(texts)}"))
        else:
            problems += [
                Problem(f"texts[{index}]", "Text is blank; there is nothing to embed")
                for index, item in enumerate(texts)
                if not isinstance(item, str) or not item.strip()
            ]
    if problems:
        raise InputValidationError(problems, subject=ACTION)
    return [text] if text is not None else list(texts or ())


def embeddings_body(inputs: Mapping[str, Any], request_id: str, stream: bool = False) -> dict[str, Any]:
    """The `/embeddings` body: `model`, `input` (always a list) and `dimensions` when set.

    No `request_id`: the embeddings reference lists none, so the id stays the client's.
    """
    texts = texts_of(inputs)
    model = str(inputs["model"]).strip()
    body: dict[str, Any] = {"model": model, "input": texts}
    dimensions = inputs.get("dimensions")
    if dimensions is not None:
        allowed = DIMENSIONS.get(model.lower())
        if allowed is not None and dimensions not in allowed:
            raise InputValidationError(
                [Problem("dimensions", f"{model} takes {' or '.join(map(str, allowed))} dimensions, not {dimensions}")],
                subject=ACTION,
            )
        body["dimensions"] = dimensions
    return body


def embeddings_output(
    answer: Mapping[str, Any], request_id: str, context: ActionContext, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    """One vector per text, in input order, with its index; the model and the usage."""
    count = len(inputs["texts"]) if inputs.get("texts") is not None else 1
    items = answer["data"]
    by_index: dict[int, list[float]] = {}
    for position, item in enumerate(items):
        index = item.get("index", position)
        vector = item["embedding"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count or index in by_index:
            raise MalformedResponseError(
                f"the embeddings answer has a vector with index {index!r} for {count} text(s)",
                status=200,
                request_id=request_id,
            )
        if not vector or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vector):
            raise MalformedResponseError(
                f"the vector of text {index} is not a list of numbers", status=200, request_id=request_id
            )
        by_index[index] = vector
    if len(by_index) != count:
        raise MalformedResponseError(
            f"the embeddings answer has {len(by_index)} vector(s) for {count} text(s)",
            status=200,
            request_id=request_id,
        )
    output: dict[str, Any] = {
        "model": answer.get("model") if isinstance(answer.get("model"), str) else str(inputs["model"]),
        "data": [{"index": index, "embedding": by_index[index]} for index in range(count)],
    }
    usage = answer.get("usage")
    if isinstance(usage, dict):
        prompt, total = usage.get("prompt_tokens"), usage.get("total_tokens")
        if isinstance(prompt, int) and isinstance(total, int):
            output["usage"] = {"promptTokens": prompt, "totalTokens": total}
    return output


#: Create embeddings: `embeddings_body` → `POST /embeddings` → `embeddings_output`.
CREATE_EMBEDDINGS = OneRequest(EMBEDDINGS, embeddings_body, embeddings_output)
