"""What the Batch API takes and gives per row: which actions, which models, the lines' limits.

A request line's body is the action's own body — `OneRequest.body`, the builder the real-time
call uses, plus the `request_id` the real-time client adds on routes that take one — so a row
gives the same body in both modes. An output line's body is read back by the action's own
`OneRequest.output`, an error line's body by the client's own error reader.

The facts (from the API reference, live captures included): the Batch API is on the mainland
platform only; a file holds one model and at most 50,000 lines and 100 MB (embedding files at
most 10,000 lines); `custom_id` has at least 6 characters; the model allow-list is checked at
upload, and the newest GLM families are not on it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zhipu_connector.zhipu.one_request import OneRequest

#: The live 1210 rejection's list of batchable models (2026-10), lower case.
BATCHABLE_MODELS = frozenset(
    {
        "glm-5.1",
        "glm-5-turbo",
        "glm-4",
        "glm-4-0520",
        "glm-4-plus",
        "glm-4-long",
        "glm-4-plus-0111",
        "glm-4-air",
        "glm-4-air-0111",
        "glm-4-air-250414",
        "glm-4-flash",
        "glm-4-flashx-250414",
        "glm-3-turbo",
        "glm-4v",
        "glm-4v-plus",
        "glm-5v-turbo",
        "glm-4v-plus-0111",
        "cogview-3",
        "cogview-3-plus",
        "cogview-4-250304",
        "embedding-2",
        "embedding-3",
        "cogvideox",
        "cogvideox-2",
    }
)
MAX_LINES = 50_000
MAX_EMBEDDING_LINES = 10_000
MAX_FILE_BYTES = 100 * 1000 * 1000
MIN_CUSTOM_ID = 6


@dataclass(frozen=True)
class BatchableAction:
    """An action the Batch API can run: its one description and the line `url` it goes to."""

    key: str
    target: str
    url: str
    max_lines: int = MAX_LINES

    def description(self) -> OneRequest:
        """The action's `OneRequest`, imported on first use (as the plugin's handlers do)."""
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


#: Action key → how its rows go through the Batch API.
BATCHABLE_ACTIONS: dict[str, BatchableAction] = {
    action.key: action
    for action in (
        BatchableAction("ask", "zhipu_connector.zhipu.ask:ASK", "/v4/chat/completions"),
        BatchableAction(
            "createEmbeddings",
            "zhipu_connector.zhipu.embeddings:CREATE_EMBEDDINGS",
            "/v4/embeddings",
            MAX_EMBEDDING_LINES,
        ),
        BatchableAction("createImage", "zhipu_connector.zhipu.create_image:CREATE_IMAGE", "/v4/images/generations"),
    )
}


def custom_id(row: int) -> str:
    """The line's `custom_id` for a row: `row-000001` (never shorter than the platform's 6)."""
    return f"row-{row:06d}"


def row_of(custom: object) -> int | None:
    """The row a `custom_id` names, or None for one that is not ours."""
    if isinstance(custom, str) and custom.startswith("row-") and custom[4:].isdigit():
        return int(custom[4:])
    return None


def request_body(action: BatchableAction, inputs: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """The body the real-time call would send for these (validated) inputs."""
    description = action.description()
    body = description.body(inputs, request_id, False)
    if description.route.request_id_in_body and "request_id" not in body:
        body = {**body, "request_id": request_id}  # what the real-time client adds (protocol.prepare_body)
    return body


def model_problem(model: object) -> str | None:
    """Why `model` cannot go through the Batch API, or None when it can."""
    if isinstance(model, str) and model.strip().lower() in BATCHABLE_MODELS:
        return None
    return (
        f"{model!r} cannot run through the Batch API (it is not on the platform's batch model list, which "
        f"the newest GLM families are not on); batchable: {', '.join(sorted(BATCHABLE_MODELS))}. "
        "Choose one of those, or run this row in real time (without --via)"
    )
