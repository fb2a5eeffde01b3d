"""Create image (async): glm-image's `/async/images/generations`, waited for like a video.

The body follows the async endpoint's reference: `model` (glm-image only), `prompt`,
`quality` (`hd` only), `size` (glm-image's presets or its custom rule, the same as Create
image's), `user_id` and `watermark_enabled`; no `request_id` (the reference lists none). The
size and quality rules are Create image's own (`create_image.image_model_problems`), so the
two actions never disagree about what glm-image takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zhipu_connector.host.errors import InputValidationError, Problem
from zhipu_connector.zhipu.create_image import image_model_problems
from zhipu_connector.zhipu.long_task import LongTask
from zhipu_connector.zhipu.routes import ASYNC_IMAGES
from zhipu_connector.zhipu.tasks import task_output

ACTION = "zhipu.createImageAsync"
MODEL = "glm-image"
#: glm-image takes about 20 s per image; five minutes leaves room for a queue.
DEFAULT_TIMEOUT = 300.0

_SETTINGS = (("size", "size"), ("quality", "quality"), ("watermarkEnabled", "watermark_enabled"), ("user", "user_id"))


def image_task_body(inputs: Mapping[str, Any], request_id: str, platform: str | None) -> dict[str, Any]:
    """The async image body; glm-image's model, size and quality rules checked first."""
    model = str(inputs.get("model") or MODEL).strip()
    problems: list[Problem] = []
    if model.lower() != MODEL:
        problems.append(Problem("model", f"the async image endpoint serves {MODEL} only, not {model!r}"))
    prompt = inputs.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append(Problem("prompt", "Prompt is blank; describe the image to make"))
    problems += image_model_problems({**inputs, "model": MODEL})
    if problems:
        raise InputValidationError(problems, subject=ACTION)
    body: dict[str, Any] = {"model": model, "prompt": prompt}
    for key, api_field in _SETTINGS:
        value = inputs.get(key)
        if value is not None:
            body[api_field] = value
    return body


def _image_output(answer: Mapping[str, Any], task_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return task_output(answer, task_id, needs="images")


#: Create image (async): `image_task_body` → `POST /async/images/generations`, then the task waited for.
CREATE_IMAGE_ASYNC = LongTask(ASYNC_IMAGES, image_task_body, _image_output, default_timeout=DEFAULT_TIMEOUT)
