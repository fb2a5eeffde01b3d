"""A message's parts (text, image, video, file) as the API's content list, checked before sending.

The documented limits are checked where they can be known without fetching anything: an image
given inline (base64 or a `data:` URL) must be a jpg or png of at most 5 MB and 6000×6000
pixels; a URL whose path names a format the API does not read is refused. A URL without such
a telling extension is sent as it is: its content is the platform's to judge.

A `data:image/...;base64,` URL is sent as the official SDKs send it, reduced to its base64
data (both `zhipuai` and `zai-sdk` strip everything up to `base64,`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from zhipu_connector.host.errors import Problem

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_SIDE = 6000
IMAGE_FORMATS = ("jpg", "jpeg", "png")
VIDEO_FORMATS = ("mp4", "mkv", "mov")
# extensions that say "a format the API does not read" (others, like .php or none, tell nothing)
_OTHER_IMAGE_FORMATS = frozenset({"gif", "webp", "bmp", "tif", "tiff", "svg", "heic", "heif", "avif", "ico"})
_OTHER_VIDEO_FORMATS = frozenset({"avi", "webm", "flv", "wmv", "m4v", "mpg", "mpeg", "3gp", "ts"})
PART_TYPES = ("text", "image_url", "video_url", "file")


def content_parts(
    content: str | None, parts: Sequence[Mapping[str, Any]], where: str, problems: list[Problem]
) -> list[dict[str, Any]]:
    """The API content list: the message's text first (when given), then each part in order.

    Problems are appended to `problems`, located under `where` (`messages.0`).
    """
    result: list[dict[str, Any]] = []
    if content:
        result.append({"type": "text", "text": content})
    for index, part in enumerate(parts):
        api_part = _part(part, f"{where}.parts[{index}]", problems)
        if api_part is not None:
            result.append(api_part)
    return result


def _part(part: Mapping[str, Any], where: str, problems: list[Problem]) -> dict[str, Any] | None:
    kind, text, url = part.get("type"), part.get("text"), part.get("url")
    if kind == "text":
        if url is not None:
            problems.append(Problem(f"{where}.url", "a text part has no URL; use an image, video or file part"))
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(f"{where}.text", "Text is required for a text part"))
            return None
        return {"type": "text", "text": text}
    if text is not None:
        problems.append(Problem(f"{where}.text", f"Text belongs on a text part, not on a {kind!r} part"))
    if not isinstance(url, str) or not url.strip():
        problems.append(Problem(f"{where}.url", f"URL is required for a {kind!r} part"))
        return None
    url = url.strip()
    if kind == "image_url":
        image = _image(url, f"{where}.url", problems)
        return None if image is None else {"type": "image_url", "image_url": {"url": image}}
    if not _is_web_url(url):
        problems.append(Problem(f"{where}.url", f"a {kind!r} part needs an http(s) URL"))
        return None
    if kind == "video_url":
        extension = _extension(url)
        if extension in _OTHER_IMAGE_FORMATS | _OTHER_VIDEO_FORMATS or extension in IMAGE_FORMATS:
            problems.append(Problem(f"{where}.url", f"videos must be {', '.join(VIDEO_FORMATS)}, not {extension}"))
            return None
        return {"type": "video_url", "video_url": {"url": url}}
    return {"type": "file", "file": {"file_url": url}}


def _image(url: str, where: str, problems: list[Problem]) -> str | None:
    """The image as sent (a URL, or bare base64), or None after adding its problem."""
    if _is_web_url(url):
        extension = _extension(url)
        if extension in _OTHER_IMAGE_FORMATS or extension in VIDEO_FORMATS:
            problems.append(Problem(where, f"images must be {', '.join(IMAGE_FORMATS)}, not {extension}"))
            return None
        return url
    if url.startswith("data:"):
        header, separator, _ = url.partition(",")
        media = header[5:].split(";")[0].lower()
        if not separator or not header.endswith(";base64"):
            problems.append(Problem(where, "a data: URL must be base64 (data:image/png;base64,...)"))
            return None
        if not media.startswith("image/") or media[6:] not in IMAGE_FORMATS:
            problems.append(Problem(where, f"images must be {', '.join(IMAGE_FORMATS)}, not {media or 'unknown'}"))
            return None
        url = url.split("base64,")[-1]  # as the official SDKs send it
    try:
        data = base64.b64decode(url, validate=True)
    except (binascii.Error, ValueError):
        problems.append(Problem(where, "an image must be an http(s) URL, a data: URL or base64 data"))
        return None
    problem = image_problem(data)
    if problem:
        problems.append(Problem(where, problem))
        return None
    return url


def image_problem(data: bytes) -> str | None:
    """What is wrong with inline image bytes for the API, or None."""
    if len(data) > MAX_IMAGE_BYTES:
        return f"the image is {len(data) / 1024 / 1024:.1f} MB; at most 5 MB is accepted"
    size = _png_size(data) if data.startswith(b"\x89PNG\r\n\x1a\n") else None
    if size is None and data.startswith(b"\xff\xd8"):
        size = _jpeg_size(data)
    elif size is None:
        return "the image data is not a png or jpg image"
    if size is None:
        return "the image data is a damaged jpg: its size cannot be read"
    width, height = size
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
        return f"the image is {width}×{height} pixels; at most {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} is accepted"
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The size in the first start-of-frame segment (SOF0–SOF15 but DHT, JPG and DAC)."""
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            return width, height
        position += 2 + length
    return None


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _extension(url: str) -> str:
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""
