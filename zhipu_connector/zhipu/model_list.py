"""Ask's model options, fetched live: `GET /models`, merged with the definition's own list.

The mainland platform's model list is undocumented and lists chat models only — the free
flash models and the vision models work but are absent (`zhipu-api-endpoints.md` §8). So the
live options are the ids the platform lists that the definition does not know yet (new
models, first), then the definition's options as they are: a model the list leaves out is not
dropped. The international platform has no model list; the host then shows the static list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zhipu_connector.zhipu.platforms import check_served, platform_of
from zhipu_connector.zhipu.routes import MODELS

SOURCE = "zhipu.chatModels"


def merged(answer: Mapping[str, Any], static: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The listed ids the static options lack (labelled by their id), then the static options."""
    known = {str(option["value"]).lower() for option in static}
    listed: list[dict[str, Any]] = []
    for item in answer.get("data") or ():
        model_id = item.get("id") if isinstance(item, Mapping) else None
        if isinstance(model_id, str) and model_id.strip() and model_id.lower() not in known:
            known.add(model_id.lower())
            listed.append({"label": model_id, "value": model_id, "description": "Listed by the platform's model list."})
    return listed + [dict(option) for option in static]


def chat_models(connection: Any, static: Sequence[Mapping[str, Any]], context: Any) -> list[dict[str, Any]]:
    """The sync source: one `GET /models` through the shared client."""
    from zhipu_connector.zhipu.connections import sync_client

    check_served(MODELS.name, SOURCE, platform_of(connection))
    with sync_client(connection) as client:
        return merged(client.call(MODELS, request_id=context.request_id), static)


async def achat_models(connection: Any, static: Sequence[Mapping[str, Any]], context: Any) -> list[dict[str, Any]]:
    """The async source, on the loop's shared client."""
    from zhipu_connector.zhipu.connections import async_client

    check_served(MODELS.name, SOURCE, platform_of(connection))
    async with async_client(connection) as client:
        return merged(await client.call(MODELS, request_id=context.request_id), static)
