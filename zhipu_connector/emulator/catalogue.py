"""`GET /models` as the mainland platform answers it.

The endpoint is undocumented; live answers are an OpenAI-style list holding chat model ids
only (vision, image, video, embedding and the free flash models work but are not listed).
The international platform documents no such endpoint, so there the path is unknown (404).
"""

from __future__ import annotations

from typing import Any

# The ids a live mainland answer listed (2026-10), in its order.
LISTED_MODELS = (
    "glm-4.5", "glm-4.5-air", "glm-4.6", "glm-4.7", "glm-5", "glm-5-turbo", "glm-5.1", "glm-5.2",
    "glm-5.3", "glm-5.3-flash", "glm-5.3-flashx",
)  # fmt: skip
OWNER = "z-ai"


def models_payload(created: int) -> dict[str, Any]:
    """The list reply: `{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}`."""
    return {
        "object": "list",
        "data": [{"id": model, "object": "model", "created": created, "owned_by": OWNER} for model in LISTED_MODELS],
    }
