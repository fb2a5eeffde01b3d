"""The Create image action: every image message folded into the one prompt the API takes.

The image API has no messages and no weights — one `prompt` string. ByteChef's version of this
action sent the first message only and ignored the rest. Here every message is used, by the
rule `image_prompt` implements (and docs/actions.md states):

1. A message without a weight has weight 1.
2. Messages are ordered by weight, highest first; equal weights keep their given order.
   Text-to-image models attend most to what comes first, so order is the main emphasis.
3. When all weights are equal the texts are joined as they are. Otherwise each text is marked
   by its weight relative to the highest weight W: `w = W` unmarked, `W/2 ≤ w < W`
   "Secondary: ", `0 < w < W/2` "Minor detail: ", `w = 0` "Optional: " — a weight of 0 means
   "mention least", not "leave out": nothing the user wrote is dropped.
4. Texts are stripped of surrounding whitespace and joined with a newline. A message that is
   blank is refused, naming it, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import InputValidationError, Problem
from zhipu_connector.zhipu.errors import MalformedResponseError

ACTION = "zhipu.createImage"
DEFAULT_WEIGHT = 1.0
SEPARATOR = "\n"
SECONDARY = "Secondary: "
MINOR = "Minor detail: "
OPTIONAL = "Optional: "

# Action input → API field, for the optional settings. Unset inputs are not sent.
_SETTINGS: tuple[tuple[str, str], ...] = (("size", "size"), ("quality", "quality"), ("user", "user_id"))


def image_prompt(messages: Sequence[Mapping[str, Any]]) -> str:
    """The one prompt for `messages`, by the rule in the module docstring."""
    problems = [
        Problem(f"imageMessages.{index}.content", "Content is blank; every message becomes part of the prompt")
        for index, message in enumerate(messages)
        if not isinstance(message.get("content"), str) or not message["content"].strip()
    ]
    if not messages:
        problems.append(Problem("imageMessages", "Messages must hold at least one message"))
    if problems:
        raise InputValidationError(problems, subject=ACTION)
    weighted = [(_weight(message), message["content"].strip()) for message in messages]
    ordered = sorted(weighted, key=lambda pair: -pair[0])  # sorted() is stable: ties keep their order
    highest = ordered[0][0]
    if all(weight == highest for weight, _ in ordered):
        return SEPARATOR.join(text for _, text in ordered)
    return SEPARATOR.join(_marked(text, weight, highest) for weight, text in ordered)


def _weight(message: Mapping[str, Any]) -> float:
    weight = message.get("weight")
    return DEFAULT_WEIGHT if weight is None else float(weight)


def _marked(text: str, weight: float, highest: float) -> str:
    if weight == highest:
        return text
    if weight == 0:
        return OPTIONAL + text
    if weight * 2 >= highest:
        return SECONDARY + text
    return MINOR + text


def image_body(inputs: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """The `/images/generations` body for the action's inputs; no key for an unset input."""
    body: dict[str, Any] = {"model": inputs["model"], "prompt": image_prompt(inputs.get("imageMessages") or [])}
    for key, field in _SETTINGS:
        value = inputs.get(key)
        if value is not None:
            body[field] = value
    body["request_id"] = request_id
    return body


def image_result(answer: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """`{created, data: [{url}, ...]}`: every image returned, and only what the output schema has.

    The client has already refused an answer without a non-empty `data` list of `url`s; the
    check is repeated here because this function's promise depends on it.
    """
    request_id = answer.get("request_id") or request_id
    created = answer.get("created")
    images = answer.get("data")
    if not isinstance(images, list) or not images:
        raise MalformedResponseError("the image generation returned no images", status=200, request_id=request_id)
    if isinstance(created, bool) or not isinstance(created, int):
        raise MalformedResponseError(
            "the image generation has no integer 'created' timestamp", status=200, request_id=request_id
        )
    urls = []
    for image in images:
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str) or not url:
            raise MalformedResponseError("an image in the answer has no 'url'", status=200, request_id=request_id)
        urls.append({"url": url})
    return {"created": created, "data": urls}


def run_create_image(inputs: Mapping[str, Any], connection: Connection, context: ActionContext) -> dict[str, Any]:
    """The sync handler."""
    from zhipu_connector.zhipu.connections import sync_client
    from zhipu_connector.zhipu.protocol import new_request_id

    request_id = new_request_id()
    body = image_body(inputs, request_id)
    context.check_cancelled()
    with sync_client(connection) as client:
        answer = client.generate_image(body)
    return image_result(answer, request_id)


async def arun_create_image(
    inputs: Mapping[str, Any], connection: Connection, context: ActionContext
) -> dict[str, Any]:
    """The async handler; the same steps on the loop's shared async client."""
    from zhipu_connector.zhipu.connections import async_client
    from zhipu_connector.zhipu.protocol import new_request_id

    request_id = new_request_id()
    body = image_body(inputs, request_id)
    context.check_cancelled()
    async with async_client(connection) as client:
        answer = await client.generate_image(body)
    return image_result(answer, request_id)
