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

from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import InputValidationError, Problem
from zhipu_connector.zhipu.chat_output import content_filter_items
from zhipu_connector.zhipu.errors import MalformedResponseError
from zhipu_connector.zhipu.one_request import OneRequest
from zhipu_connector.zhipu.routes import IMAGES

ACTION = "zhipu.createImage"
DEFAULT_WEIGHT = 1.0
SEPARATOR = "\n"
SECONDARY = "Secondary: "
MINOR = "Minor detail: "
OPTIONAL = "Optional: "

# Action input → API field, for the optional settings. Unset inputs are not sent.
_SETTINGS: tuple[tuple[str, str], ...] = (
    ("size", "size"),
    ("quality", "quality"),
    ("watermarkEnabled", "watermark_enabled"),
    ("user", "user_id"),
)

# glm-image's preset sizes are valid even where they break its custom-size rule (zhipu-api.md)
GLM_IMAGE_PRESETS = frozenset({"1280x1280", "1568x1056", "1056x1568", "1472x1088", "1088x1472", "1728x960", "960x1728"})


class _SizeRule:
    """A family's custom sizes: each side within [low, high] and divisible by `step`, W×H at most `pixels`."""

    __slots__ = ("family", "low", "high", "step", "pixels", "presets")

    def __init__(self, family: str, low: int, high: int, step: int, pixels: int, presets: frozenset[str]) -> None:
        self.family, self.low, self.high, self.step, self.pixels = family, low, high, step, pixels
        self.presets = presets

    def problem(self, size: str) -> str | None:
        if size in self.presets:
            return None
        width, height = (int(side) for side in size.split("x"))
        for side in (width, height):
            if not self.low <= side <= self.high or side % self.step:
                return (
                    f"{size} does not fit {self.family}: each side must be {self.low}–{self.high} and divisible "
                    f"by {self.step}"
                    + (f", or one of the presets {', '.join(sorted(self.presets))}" if self.presets else "")
                )
        if width * height > self.pixels:
            return f"{size} does not fit {self.family}: at most {self.pixels} pixels (W×H), it has {width * height}"
        return None


_GLM_IMAGE_SIZES = _SizeRule("glm-image", 1024, 2048, 32, 2**22, GLM_IMAGE_PRESETS)
_COGVIEW_SIZES = _SizeRule("CogView", 512, 2048, 16, 2**21, frozenset())
QUALITY_MODELS = ("glm-image", "cogview-4-250304")


def image_prompt(messages: Sequence[Mapping[str, Any]]) -> str:
    """The one prompt for `messages`, by the rule in the module docstring."""
    problems = [
        Problem(f"imageMessages[{index}].content", "Content is blank; every message becomes part of the prompt")
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


def image_body(inputs: Mapping[str, Any], request_id: str, stream: bool = False) -> dict[str, Any]:
    """The `/images/generations` body for the action's inputs; no key for an unset input.

    No `request_id`: the image reference does not list it (only the SDK sends one), so the id
    stays the client's, for its logs and errors. `stream` is unused: images do not stream.
    """
    body: dict[str, Any] = {"model": inputs["model"], "prompt": image_prompt(inputs.get("imageMessages") or [])}
    problems = image_model_problems(inputs)
    if problems:
        raise InputValidationError(problems, subject=ACTION)
    for key, field in _SETTINGS:
        value = inputs.get(key)
        if value is not None:
            body[field] = value
    return body


def image_model_problems(inputs: Mapping[str, Any]) -> list[Problem]:
    """Size and quality the chosen model cannot take: glm-image makes `hd` only; of CogView, only
    cogview-4-250304 takes a quality; each family's custom-size rule. An unknown model is not judged."""
    model = str(inputs["model"]).strip().lower()
    problems: list[Problem] = []
    quality, size = inputs.get("quality"), inputs.get("size")
    if model == "glm-image" and quality not in (None, "hd"):
        problems.append(
            Problem(
                "quality",
                f"glm-image makes 'hd' images only (its default), not {quality!r}; leave Quality unset or set it to 'hd'",
            )
        )
    elif model.startswith("cogview") and quality is not None and model not in QUALITY_MODELS:
        problems.append(
            Problem("quality", f"{model} takes no quality: only cogview-4-250304 and glm-image do; leave Quality unset")
        )
    rule = _GLM_IMAGE_SIZES if model == "glm-image" else _COGVIEW_SIZES if model.startswith("cogview") else None
    if rule is not None and isinstance(size, str) and "x" in size:
        problem = rule.problem(size)
        if problem:
            problems.append(Problem("size", problem))
    return problems


def image_result(answer: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """`{created, data: [{url}, ...], contentFilter?}`: every image returned, and only what the output schema has.

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
    result: dict[str, Any] = {"created": created, "data": urls}
    verdicts = content_filter_items(answer.get("content_filter"))
    if verdicts is not None:
        result["contentFilter"] = verdicts
    return result


def _image_output(
    answer: Mapping[str, Any], request_id: str, context: ActionContext, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    """`image_result` in the shape `OneRequest` calls an output with (it needs no context, no inputs)."""
    return image_result(answer, request_id)


#: Create image: `image_body` → `POST /images/generations` → `image_result`. Its sync and async
#: handlers come from this one line (see `one_request.py`).
CREATE_IMAGE = OneRequest(IMAGES, image_body, _image_output)
