"""The parts a vision model's user message may hold, checked as the API reference describes.

Parts are `text`, `image_url` (an http(s) URL, or bare base64 of a jpg/png of at most 5 MB and
6000×6000 pixels), `video_url` (an http(s) URL of an mp4/mkv/mov), `file` (exactly one of
`file_id`, `file_url`, `file_data`, and an optional `filename`) and the legacy `file_url`.
A `data:` URL is refused: both official SDKs strip the `data:image/...;base64,` prefix before
sending, so a client that sends it has skipped a step the platform relies on.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any
from urllib.parse import SplitResult, urlsplit

from .errors import bad_field

PART_TYPES = ("text", "image_url", "video_url", "file", "file_url")
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_SIDE = 6000
VIDEO_EXTENSIONS = ("mp4", "mkv", "mov")
FILE_SOURCES = ("file_id", "file_url", "file_data")
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8"
# Base64 of this many characters decodes to more than MAX_IMAGE_BYTES: refuse before decoding.
_MAX_BASE64_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4


def check_part(where: str, part: Any) -> None:
    """Refuse a part that breaks its documented shape or limits (400 / 1214, naming `where`)."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        if set(part) != {"type", "text"} or not isinstance(part["text"], str):
            raise bad_field(f'{where}: a text part is {{"type": "text", "text": <string>}}')
    elif kind == "image_url":
        _check_image(where, _url_object(where, part, "image_url", "an image part", "<url or base64>"))
    elif kind == "video_url":
        url = _url_object(where, part, "video_url", "a video part", "<http(s) url>")
        name = _check_http_url(f"{where}.video_url.url", url).path.rsplit("/", 1)[-1]
        extension = name.rpartition(".")[2].lower()
        if "." in name and extension not in VIDEO_EXTENSIONS:
            raise bad_field(f"{where}.video_url.url: a video must be {', '.join(VIDEO_EXTENSIONS)}, got .{extension}")
    elif kind == "file_url":
        _check_http_url(f"{where}.file_url.url", _url_object(where, part, "file_url", "a file_url part", "<url>"))
    elif kind == "file":
        _check_file(where, part)
    else:
        raise bad_field(f"{where}.type: must be one of {', '.join(PART_TYPES)}, got {kind!r}"[:300])


def _url_object(where: str, part: dict[str, Any], key: str, what: str, shape: str) -> str:
    inner = part.get(key)
    if set(part) != {"type", key} or not isinstance(inner, dict) or not isinstance(inner.get("url"), str):
        raise bad_field(f'{where}: {what} is {{"type": "{key}", "{key}": {{"url": {shape}}}}}')
    url: str = inner["url"]
    if not url:
        raise bad_field(f'{where}: {what} is {{"type": "{key}", "{key}": {{"url": {shape}}}}}; the url is empty')
    return url


def _check_http_url(where: str, url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "https://[::1": an unclosed IPv6 literal
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad_field(f"{where}: must be an http(s) URL")
    return parts


def _check_image(where: str, url: str) -> None:
    where = f"{where}.image_url.url"
    if url.startswith(("http://", "https://")):
        _check_http_url(where, url)
        return
    if url[:5].lower() == "data:":
        raise bad_field(
            f"{where}: send the bare base64, without the data:image/...;base64, prefix (the official SDKs strip it)"
        )
    if len(url) > _MAX_BASE64_CHARS:
        raise bad_field(f"{where}: the image is larger than 5 MB")
    try:
        data = base64.b64decode(url, validate=True)
    except (binascii.Error, ValueError):
        raise bad_field(f"{where}: must be an http(s) URL or base64 image data") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise bad_field(f"{where}: the image is larger than 5 MB")
    size = image_dimensions(data)
    if size is None:
        raise bad_field(f"{where}: base64 data must be a jpg, jpeg or png image")
    if max(size) > MAX_IMAGE_SIDE:
        raise bad_field(f"{where}: the image is {size[0]}x{size[1]} pixels; at most 6000x6000")


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG, read from its header; None for any other data."""
    if data.startswith(_PNG) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if not data.startswith(_JPEG):
        return None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        is_frame = 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)
        if is_frame and position + 9 <= len(data):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        if length < 2:
            return None
        position += 2 + length
    return None


def _check_file(where: str, part: dict[str, Any]) -> None:
    inner = part.get("file")
    shape = '{"type": "file", "file": {"file_id" | "file_url" | "file_data": <string>, "filename"?: <string>}}'
    if set(part) != {"type", "file"} or not isinstance(inner, dict):
        raise bad_field(f"{where}: a file part is {shape}")
    sources = [name for name in FILE_SOURCES if name in inner]
    unknown = set(inner) - set(FILE_SOURCES) - {"filename"}
    if len(sources) != 1 or unknown or not all(isinstance(value, str) and value for value in inner.values()):
        raise bad_field(f"{where}: a file part is {shape}, with exactly one of file_id, file_url, file_data")
    if sources[0] == "file_url":
        _check_http_url(f"{where}.file.file_url", inner["file_url"])
