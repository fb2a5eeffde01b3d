"""The API's routes: one row per endpoint — method, path, the check its answer must pass, streaming.

This table is the only place an endpoint is declared. The client sends to a route
(`client.call(CHAT, body)`), the base-URL rules cut a pasted endpoint URL back to the root by
the paths listed here, and `protocol.read_answer` checks a 2xx answer against the row's
`AnswerShape`. Adding an endpoint is adding one row.

Deliberately free of httpx and of the client, so an action module can name its route at
import time without making start-up pay for the HTTP stack.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AnswerShape:
    """What a 2xx answer must hold to count as one: a JSON object with `field` of `field_type`.

    For a list (the usual case) the list must be non-empty, and when `item_field` is given every
    item must be an object whose `item_field` has type `item_type`. An item whose
    `finish_reason` is `"sensitive"` means the platform stopped the content as unsafe.
    `what` and `item` name the answer and one of its items in error messages.
    """

    what: str
    field: str
    field_type: type = list
    item: str = "item"
    item_field: str | None = None
    item_type: type = dict


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint of the API.

    `path` is appended to the base URL; a `{name}` in it is filled from the call's path
    parameters. `streams`: the route can answer with Server-Sent Events (`stream: true` in the
    body). `request_id_in_body`: the route's reference lists a `request_id` body field, so the
    client puts the call's request id there; on other routes the id is still used in logs and
    errors, but never sent.
    """

    name: str
    method: str
    path: str
    answer: AnswerShape
    streams: bool = False
    request_id_in_body: bool = True

    @property
    def templated(self) -> bool:
        """Whether the path has `{parameters}` to fill in per call."""
        return "{" in self.path


CHAT = Route(
    "chat",
    "POST",
    "/chat/completions",
    AnswerShape("chat completion", "choices", item="choice", item_field="message"),
    streams=True,
)
IMAGES = Route(
    "images",
    "POST",
    "/images/generations",
    AnswerShape("image generation", "data", item="item", item_field="url", item_type=str),
    request_id_in_body=False,  # the image reference lists no request_id (only the SDK sends one)
)

EMBEDDINGS = Route(
    "embeddings",
    "POST",
    "/embeddings",
    AnswerShape("embeddings answer", "data", item="vector", item_field="embedding", item_type=list),
    request_id_in_body=False,  # the embeddings reference lists no request_id
)
VIDEOS = Route("videos", "POST", "/videos/generations", AnswerShape("video task", "id", str))
ASYNC_IMAGES = Route(
    "async_images",
    "POST",
    "/async/images/generations",
    AnswerShape("image task", "id", str),
    request_id_in_body=False,  # the async image reference lists no request_id (only the SDK sends one)
)
ASYNC_RESULT = Route(
    "async_result",
    "GET",
    "/async-result/{id}",
    AnswerShape("task result", "task_status", str),
    request_id_in_body=False,
)
MODELS = Route(
    "models",
    "GET",
    "/models",
    AnswerShape("model list", "data", item="model", item_field="id", item_type=str),
    request_id_in_body=False,
)

# Files and the Batch API (mainland only). A list page may be empty, so its check is its
# `"object": "list"`; a file's content is bytes, not JSON (its shape is never read).
FILES = Route("files", "POST", "/files", AnswerShape("file", "id", str), request_id_in_body=False)
FILE_LIST = Route("file_list", "GET", "/files", AnswerShape("file list", "object", str), request_id_in_body=False)
FILE_CONTENT = Route(
    "file_content", "GET", "/files/{id}/content", AnswerShape("file content", "id", str), request_id_in_body=False
)
FILE_DELETE = Route(
    "file_delete", "DELETE", "/files/{id}", AnswerShape("file deletion", "deleted", bool), request_id_in_body=False
)
BATCHES = Route("batches", "POST", "/batches", AnswerShape("batch", "id", str), request_id_in_body=False)
BATCH_LIST = Route("batch_list", "GET", "/batches", AnswerShape("batch list", "object", str), request_id_in_body=False)
BATCH = Route("batch", "GET", "/batches/{id}", AnswerShape("batch", "id", str), request_id_in_body=False)
BATCH_CANCEL = Route(
    "batch_cancel", "POST", "/batches/{id}/cancel", AnswerShape("batch", "id", str), request_id_in_body=False
)

#: Every route, by name.
ROUTES: dict[str, Route] = {
    route.name: route
    for route in (
        CHAT,
        IMAGES,
        EMBEDDINGS,
        VIDEOS,
        ASYNC_IMAGES,
        ASYNC_RESULT,
        MODELS,
        FILES,
        FILE_LIST,
        FILE_CONTENT,
        FILE_DELETE,
        BATCHES,
        BATCH_LIST,
        BATCH,
        BATCH_CANCEL,
    )
}


def endpoint_paths() -> tuple[str, ...]:
    """The fixed paths (no parameters), longest first: what a pasted endpoint URL may end in."""
    paths = {route.path for route in ROUTES.values() if not route.templated}
    return tuple(sorted(paths, key=lambda path: (-len(path), path)))
