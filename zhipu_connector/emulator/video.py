"""`POST /videos/generations`: the per-model rules, and the small real MP4 a finished task serves.

Every video model has its own schema in the reference (CogVideoX-3, CogVideoX-2/flash, the
Vidu family); a field another model takes is refused here as "not accepted by <model>". The
official SDKs send every unset parameter as JSON `null`, and the platform takes `null` for
absent, so this endpoint does too.

The MP4 is built with struct: `ftyp`, `mdat` holding one H.264 baseline IDR frame (a plain
colour, 64 pixels on the longer side), and `moov` whose sample table repeats that frame
`fps × duration` times, so the file is a few kilobytes yet plays for the requested duration at
the requested frame rate and has the requested aspect ratio (16:9, 9:16 or square).
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_field, unknown_model

COGVIDEOX3_SIZES = ("1280x720", "720x1280", "1024x1024", "1920x1080", "1080x1920", "2048x1080", "3840x2160")
COGVIDEOX_SIZES = ("720x480", "1024x1024", "1280x960", "960x1280", "1920x1080", "1080x1920", "2048x1080", "3840x2160")
MAX_PROMPT_CHARS = 512
COGVIDEO_IMAGE_BYTES = 5 * 1024 * 1024
VIDU_IMAGE_BYTES = 50 * 1024 * 1024
COMMON_FIELDS = ("model", "request_id", "user_id")


@dataclass(frozen=True, slots=True)
class VideoModel:
    """One video model's schema: its fields and their allowed values.

    images: (fewest, most) images in `image_url`; `single` means one image given as a string.
    choices: field -> allowed values (the first is the default) for the enumerated fields.
    """

    id: str
    prompt_required: bool = False
    images: tuple[int, int] = (0, 1)
    single_image: bool = True
    image_bytes: int = COGVIDEO_IMAGE_BYTES
    choices: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    international: bool = True

    @property
    def fields(self) -> tuple[str, ...]:
        return (*COMMON_FIELDS, "prompt", "image_url", *self.choices, *self.flags)


_COGVIDEO_FLAGS = ("with_audio", "watermark_enabled")
_MOVEMENT = ("auto", "small", "medium", "large")


def _vidu(model: str, images: tuple[int, int], q1: bool, single: bool, **choices: tuple[Any, ...]) -> VideoModel:
    return VideoModel(
        model,
        prompt_required=images == (0, 0),
        images=images,
        single_image=single,
        image_bytes=VIDU_IMAGE_BYTES,
        choices={
            "duration": (5,) if q1 else (4,),
            "size": ("1920x1080",) if q1 else ("1280x720",),
            "movement_amplitude": _MOVEMENT,
            **choices,
        },
        flags=() if images == (0, 0) else ("with_audio",),
    )


VIDEO_MODELS: dict[str, VideoModel] = {
    model.id: model
    for model in (
        VideoModel(
            "cogvideox-3",
            images=(0, 2),
            single_image=False,
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
                choices={"quality": ("speed", "quality"), "size": COGVIDEOX_SIZES, "fps": (30, 60)},
                flags=_COGVIDEO_FLAGS,
                international=False,
            )
            for name in ("cogvideox-2", "cogvideox-flash")
        ),
        _vidu("viduq1-text", (0, 0), True, True, style=("general", "anime"), aspect_ratio=("16:9", "9:16", "1:1")),
        _vidu("viduq1-image", (1, 1), True, True),
        _vidu("vidu2-image", (1, 1), False, True),
        _vidu("viduq1-start-end", (1, 2), True, False),
        _vidu("vidu2-start-end", (1, 2), False, False, size=("1280x720", "480x360")),
        _vidu("vidu2-reference", (1, 3), False, False, aspect_ratio=("16:9", "9:16", "1:1")),
    )
}


@dataclass(frozen=True, slots=True)
class VideoRequest:
    """A valid video request, reduced to what the task and its result depend on."""

    model: str
    prompt: str
    width: int
    height: int
    fps: int
    duration: int
    request_id: str | None


def validate_video(body: dict[str, Any], platform: str) -> VideoRequest:
    """Check a video body against its model's schema; `null` counts as absent."""
    for name in [name for name, value in body.items() if value is None]:
        del body[name]
    if "model" not in body:
        if platform == "international":  # live api.z.ai answers a missing model with a 500
            raise ApiError(500, "500", "Internal server error")
        raise bad_field("model: required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise bad_field("model: must be a non-empty string")
    known = {name: model for name, model in VIDEO_MODELS.items() if platform == "mainland" or model.international}
    model = known.get(body["model"].lower())
    if model is None:
        raise unknown_model(body["model"], sorted(known))
    for name in body:
        if name not in model.fields:
            raise bad_field(f"{name}: not accepted by {model.id}; it accepts {', '.join(model.fields)}")
    prompt = body.get("prompt", "")
    if not isinstance(prompt, str):
        raise bad_field("prompt: must be a string")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise bad_field(f"prompt: at most {MAX_PROMPT_CHARS} characters, got {len(prompt)}")
    images = _images(body, model)
    if model.prompt_required and not prompt.strip():
        raise bad_field(f"prompt: required for {model.id}")
    if not prompt.strip() and not images:
        raise bad_field("prompt, image_url: give a prompt, an image, or both; they cannot both be empty")
    values = {name: _choice(body, name, allowed, model.id) for name, allowed in model.choices.items()}
    for flag in model.flags:
        if flag in body and not isinstance(body[flag], bool):
            raise bad_field(f"{flag}: must be a boolean (true or false)")
    if platform == "international" and len(images) == 2 and values.get("quality") == "quality":
        raise bad_field('quality: first and last frame mode only supports "speed"')
    for name, shortest, longest in (("request_id", 6, 64), ("user_id", 6, 128)):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or not shortest <= len(value) <= longest):
            raise bad_field(f"{name}: must be a string of {shortest}-{longest} characters")
    width, height = (int(side) for side in str(values.get("size", "1920x1080")).split("x"))
    return VideoRequest(
        model.id,
        prompt,
        width,
        height,
        int(values.get("fps", 30)),
        int(values.get("duration", 5)),
        body.get("request_id"),
    )


def _choice(body: dict[str, Any], name: str, allowed: tuple[Any, ...], model: str) -> Any:
    if name not in body:
        return allowed[0]
    value = body[name]
    if isinstance(value, bool) or value not in allowed:
        shown = " or ".join(repr(item) for item in allowed)
        if name == "duration":
            raise bad_field(f"duration: The current duration value is not supported; {model} accepts {shown}")
        raise bad_field(f"{name}: must be {shown} for {model}, got {value!r}")
    return value


def _images(body: dict[str, Any], model: VideoModel) -> list[str]:
    fewest, most = model.images
    if "image_url" not in body:
        if fewest:
            raise bad_field(f"image_url: {model.id} takes {fewest}-{most} images, got 0")
        return []
    if most == 0:
        raise bad_field(f"image_url: not accepted by {model.id} (text to video only)")
    value = body["image_url"]
    if isinstance(value, str) and (model.single_image or fewest <= 1):
        images = [value]
    elif isinstance(value, list) and not model.single_image:
        images = value
    else:
        shape = "one image (a string)" if model.single_image else f"a string or an array of {fewest}-{most} images"
        raise bad_field(f"image_url: {model.id} takes {shape}")
    if model.id == "cogvideox-3" and isinstance(value, list) and len(images) != 2:
        raise bad_field("image_url: an array must hold exactly 2 images, the first and the last frame")
    if not fewest <= len(images) <= most:
        raise bad_field(f"image_url: {model.id} takes {fewest}-{most} images, got {len(images)}")
    for index, image in enumerate(images):
        where = "image_url" if isinstance(value, str) else f"image_url[{index}]"
        _check_image(where, image, model.image_bytes)
    return images


_DATA_URL = re.compile(r"data:image/(png|jpeg|jpg|webp);base64,(.*)", re.S)


def _check_image(where: str, image: Any, limit: int) -> None:
    if not isinstance(image, str) or not image:
        raise bad_field(f"{where}: must be a URL or base64 image data")
    if image.startswith(("http://", "https://")):
        return
    match = _DATA_URL.fullmatch(image)
    encoded = match.group(2) if match else image
    try:
        data = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise bad_field(f"{where}: must be an http(s) URL or base64 image data") from None
    if len(data) > limit:
        raise bad_field(f"{where}: image of {len(data)} bytes, more than {limit // (1024 * 1024)} MB")


# -- the MP4 -------------------------------------------------------------------------------

# One H.264 baseline IDR frame per aspect (SPS, PPS, slice), encoded once from a flat colour.
_FRAMES: dict[str, tuple[int, int, bytes, bytes, bytes]] = {
    "wide": (
        64, 36,
        bytes.fromhex("6742c00adc47f9f011000003000100000300320f122780"),
        bytes.fromhex("68ce0f2c80"),
        bytes.fromhex("65888404bc462800097dc7000138c8e00023f72727275d75d75d75d780"),
    ),
    "tall": (
        36, 64,
        bytes.fromhex("6742c00adcc9e7f011000003000100000300320f122780"),
        bytes.fromhex("68ce0f2c80"),
        bytes.fromhex("65888404bc462800097dc7000138c8e00023f727275d75d75d75d75e"),
    ),
    "square": (
        64, 64,
        bytes.fromhex("6742c00adc426c0440000003004000000c83c489e0"),
        bytes.fromhex("68ce0f2c80"),
        bytes.fromhex("65888404bc462800097dc7000138c8e00023f72727275d75d75d75d75d75d780"),
    ),
}  # fmt: skip
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def render_mp4(width: int, height: int, fps: int, duration: int) -> bytes:
    """A valid MP4 of `duration` seconds at `fps`, with the aspect of `width`x`height`."""
    aspect = "wide" if width > height else "tall" if width < height else "square"
    frame_width, frame_height, sps, pps, idr = _FRAMES[aspect]
    frames = fps * duration
    sample = struct.pack(">I", len(idr)) + idr
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    mdat = _box(b"mdat", sample)
    offset = len(ftyp) + 8
    avcc = bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]) + struct.pack(">H", len(sps)) + sps
    avcc += bytes([1]) + struct.pack(">H", len(pps)) + pps
    avc1 = _box(
        b"avc1",
        bytes(6)
        + struct.pack(">H", 1)
        + bytes(16)
        + struct.pack(">HHIIIH", frame_width, frame_height, 0x480000, 0x480000, 0, 1)
        + bytes(32)
        + struct.pack(">Hh", 0x18, -1)
        + _box(b"avcC", avcc),
    )
    stbl = _box(
        b"stbl",
        _full(b"stsd", struct.pack(">I", 1) + avc1)
        + _full(b"stts", struct.pack(">III", 1, frames, 1))
        + _full(b"stsc", struct.pack(">IIII", 1, 1, 1, 1))
        + _full(b"stsz", struct.pack(">II", len(sample), frames))
        + _full(b"stco", struct.pack(">I", frames) + struct.pack(">I", offset) * frames),
    )
    minf = _box(
        b"minf",
        _full(b"vmhd", struct.pack(">HHHH", 0, 0, 0, 0), flags=1)
        + _box(b"dinf", _full(b"dref", struct.pack(">I", 1) + _full(b"url ", b"", flags=1)))
        + stbl,
    )
    mdia = _box(
        b"mdia",
        _full(b"mdhd", struct.pack(">IIIIHH", 0, 0, fps, frames, 0x55C4, 0))
        + _full(b"hdlr", struct.pack(">I4s12x", 0, b"vide") + b"VideoHandler\x00")
        + minf,
    )
    milliseconds = duration * 1000
    tkhd = _full(
        b"tkhd",
        struct.pack(">IIIIIQhhhH", 0, 0, 1, 0, milliseconds, 0, 0, 0, 0, 0)
        + _MATRIX
        + struct.pack(">II", frame_width << 16, frame_height << 16),
        flags=3,
    )
    mvhd = _full(
        b"mvhd",
        struct.pack(">IIIIIH10x", 0, 0, 1000, milliseconds, 0x10000, 0x100)
        + _MATRIX
        + bytes(24)
        + struct.pack(">I", 2),
    )
    moov = _box(b"moov", mvhd + _box(b"trak", tkhd + mdia))
    return ftyp + mdat + moov


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, payload: bytes, *, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", flags) + payload)
