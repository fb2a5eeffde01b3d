"""The Generate video action: inputs → a `/videos/generations` body, by each model's own rules.

Each video model has its own schema in the reference (`zhipu-api-endpoints.md` §2): which
images it takes and how (one image, a first and a last frame, 1–3 references), and which of
quality, audio, size, fps, duration, style, aspect ratio and movement it accepts, with which
values. `VIDEO_MODELS` is that table; a setting the chosen model does not take, or a value it
does not allow, is refused before sending, naming the input and the values the model takes.
A model id the table does not know (the platform adds them) is sent as the user set it, and
the platform judges it.

The task is then waited for (`long_task.py`), and the output is the task with its video and
cover URLs (`tasks.task_output`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zhipu_connector.host.errors import InputValidationError, Problem
from zhipu_connector.zhipu.long_task import LongTask
from zhipu_connector.zhipu.platforms import INTERNATIONAL
from zhipu_connector.zhipu.routes import VIDEOS
from zhipu_connector.zhipu.tasks import task_output

ACTION = "zhipu.generateVideo"
MAX_PROMPT_CHARS = 512
COGVIDEO_IMAGE_BYTES = 5 * 1024 * 1024
VIDU_IMAGE_BYTES = 50 * 1024 * 1024
#: Video generation takes minutes; a wait of 15 minutes is generous but bounded.
DEFAULT_TIMEOUT = 900.0

COGVIDEOX3_SIZES = ("1280x720", "720x1280", "1024x1024", "1920x1080", "1080x1920", "2048x1080", "3840x2160")
COGVIDEOX_SIZES = ("720x480", "1024x1024", "1280x960", "960x1280", "1920x1080", "1080x1920", "2048x1080", "3840x2160")
MOVEMENTS = ("auto", "small", "medium", "large")
ASPECT_RATIOS = ("16:9", "9:16", "1:1")

#: Action input → API field, for the settings sent as they are.
SETTINGS: dict[str, str] = {
    "quality": "quality",
    "withAudio": "with_audio",
    "watermarkEnabled": "watermark_enabled",
    "size": "size",
    "fps": "fps",
    "duration": "duration",
    "style": "style",
    "aspectRatio": "aspect_ratio",
    "movementAmplitude": "movement_amplitude",
}
#: Inputs every model takes.
COMMON = {"user": "user_id", "requestId": "request_id"}


@dataclass(frozen=True, slots=True)
class VideoModel:
    """One model's schema. `images`: how images are given — `none`, `one` (a string), `frames`
    (a first frame and an optional last one), `references` (1–3). `choices`: the inputs with a
    fixed set of values; `flags`: the boolean inputs it takes."""

    id: str
    images: str
    image_required: bool = False
    prompt_required: bool = False
    image_bytes: int = COGVIDEO_IMAGE_BYTES
    choices: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    flags: tuple[str, ...] = ()

    def takes(self, key: str) -> bool:
        return key in self.choices or key in self.flags


_COGVIDEO_FLAGS = ("withAudio", "watermarkEnabled")


def _vidu(model: str, images: str, q1: bool, **choices: tuple[Any, ...]) -> VideoModel:
    return VideoModel(
        model,
        images,
        image_required=images != "none",
        prompt_required=images == "none",
        image_bytes=VIDU_IMAGE_BYTES,
        choices={
            "duration": (5,) if q1 else (4,),
            "size": ("1920x1080",) if q1 else ("1280x720",),
            "movementAmplitude": MOVEMENTS,
            **choices,
        },
        flags=() if images == "none" else ("withAudio",),
    )


VIDEO_MODELS: dict[str, VideoModel] = {
    model.id: model
    for model in (
        VideoModel(
            "cogvideox-3",
            "frames",
            choices={
                "quality": ("speed", "quality"),
                "size": COGVIDEOX3_SIZES,
                "fps": (30, 60),
                "duration": (5, 10),
            },
            flags=_COGVIDEO_FLAGS,
        ),
        *(
            VideoModel(
                name,
                "one",
                choices={"quality": ("speed", "quality"), "size": COGVIDEOX_SIZES, "fps": (30, 60)},
                flags=_COGVIDEO_FLAGS,
            )
            for name in ("cogvideox-2", "cogvideox-flash")
        ),
        _vidu("viduq1-text", "none", True, style=("general", "anime"), aspectRatio=ASPECT_RATIOS),
        _vidu("viduq1-image", "one", True),
        _vidu("vidu2-image", "one", False),
        _vidu("viduq1-start-end", "frames", True),
        _vidu("vidu2-start-end", "frames", False, size=("1280x720", "480x360")),
        _vidu("vidu2-reference", "references", False, aspectRatio=ASPECT_RATIOS),
    )
}

_IMAGE_INPUTS = ("imageUrl", "lastFrameUrl", "referenceImageUrls")


def video_body(inputs: Mapping[str, Any], request_id: str, platform: str | None) -> dict[str, Any]:
    """The `/videos/generations` body; every broken rule of the model is reported at once."""
    model_id = str(inputs["model"]).strip()
    rules = VIDEO_MODELS.get(model_id.lower())
    problems: list[Problem] = []
    body: dict[str, Any] = {"model": model_id}
    prompt = inputs.get("prompt")
    if isinstance(prompt, str) and prompt.strip():
        body["prompt"] = prompt
    image = _images(inputs, rules, problems)
    if image is not None:
        body["image_url"] = image
    if "prompt" not in body and image is None:
        problems.append(Problem("prompt", "Give a prompt, an image or both: the platform needs at least one"))
    if rules is not None and rules.prompt_required and "prompt" not in body:
        problems.append(Problem("prompt", f"{rules.id} makes a video from a prompt alone: the prompt is required"))
    for key, api_field in SETTINGS.items():
        value = inputs.get(key)
        if value is None:
            continue
        if rules is not None:
            problem = _setting_problem(rules, key, value)
            if problem:
                problems.append(Problem(key, problem))
                continue
        body[api_field] = value
    if (
        platform == INTERNATIONAL
        and rules is not None
        and rules.id == "cogvideox-3"
        and isinstance(image, list)
        and len(image) == 2
        and inputs.get("quality") == "quality"
    ):
        problems.append(
            Problem("quality", "the international platform makes first-and-last-frame videos in 'speed' quality only")
        )
    for key, api_field in COMMON.items():
        value = inputs.get(key)
        if value is not None:
            body[api_field] = value
    if problems:
        raise InputValidationError(problems, subject=ACTION)
    return body


def _setting_problem(rules: VideoModel, key: str, value: Any) -> str | None:
    if not rules.takes(key):
        takes = [k for k in SETTINGS if rules.takes(k)]
        return f"{rules.id} does not take this setting; it takes: {', '.join(takes) or 'none of them'}"
    if key == "withAudio" and value is True and rules.id.startswith("viduq1-"):
        return (
            f"{rules.id} makes 5-second videos, and Vidu adds background music only to 4-second ones "
            "(the vidu2 models); leave Audio unset"
        )
    allowed = rules.choices.get(key)
    if allowed is not None and value not in allowed:
        return f"{rules.id} takes {' or '.join(str(a) for a in allowed)}, not {value!r}"
    return None


def _images(inputs: Mapping[str, Any], rules: VideoModel | None, problems: list[Problem]) -> str | list[str] | None:
    """`image_url` as the model takes it: a string, [first, last], or the references."""
    first, last = inputs.get("imageUrl"), inputs.get("lastFrameUrl")
    references = inputs.get("referenceImageUrls")
    limit = rules.image_bytes if rules is not None else VIDU_IMAGE_BYTES
    for key, value in (("imageUrl", first), ("lastFrameUrl", last)):
        if value is not None:
            _check_image(key, value, limit, problems)
    for index, value in enumerate(references or ()):
        _check_image(f"referenceImageUrls[{index}]", value, limit, problems)
    if last is not None and first is None and (rules is None or rules.images == "frames"):
        problems.append(Problem("lastFrameUrl", "A last frame needs a first frame: set Image (first frame) too"))
    if rules is None:  # an unknown model: sent as given
        if references:
            return list(references)
        if first is not None and last is not None:
            return [first, last]
        return first
    given = [key for key, value in zip(_IMAGE_INPUTS, (first, last, references)) if value]
    allowed = {"none": (), "one": ("imageUrl",), "frames": ("imageUrl", "lastFrameUrl")}.get(
        rules.images, ("referenceImageUrls",)
    )
    for key in given:
        if key not in allowed:
            takes = f"it takes {' and '.join(allowed)}" if allowed else "it takes no image"
            problems.append(Problem(key, f"{rules.id} does not take this image; {takes}"))
    if rules.image_required and not any(inputs.get(key) for key in allowed):
        problems.append(Problem(allowed[0], f"{rules.id} makes a video from an image: this image is required"))
    if rules.images == "references":
        return list(references) if references else None
    if rules.images == "frames" and first is not None:
        if last is not None:
            return [first, last]
        return first if rules.id == "cogvideox-3" else [first]
    if rules.images == "one":
        return first
    return None


def _check_image(where: str, value: Any, limit: int, problems: list[Problem]) -> None:
    """An http(s) URL, or base64 (a `data:image/...;base64,` prefix allowed) of at most `limit` bytes."""
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(where, "An image is an http(s) URL or base64 data"))
        return
    text = value.strip()
    if text.lower().startswith(("http://", "https://")):
        return
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if not header.lower().startswith("data:image/") or not header.lower().endswith(";base64"):
            problems.append(Problem(where, "A data URL must be data:image/<type>;base64,<data>"))
            return
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        problems.append(Problem(where, "Neither an http(s) URL nor valid base64 data"))
        return
    if len(decoded) > limit:
        problems.append(Problem(where, f"The image is {len(decoded)} bytes; at most {limit} ({limit // 2**20} MB)"))


def _video_output(answer: Mapping[str, Any], task_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return task_output(answer, task_id, needs="videos")


#: Generate video: `video_body` → `POST /videos/generations`, then the task waited for.
GENERATE_VIDEO = LongTask(VIDEOS, video_body, _video_output, default_timeout=DEFAULT_TIMEOUT)
