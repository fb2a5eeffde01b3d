"""Small, real, deterministic PNGs for generated image URLs.

The platform answers an image request with a URL; the emulator's URL points back at itself and
serves a PNG built with zlib and struct: a vertical gradient between two colours taken from the
hash of the request, at most 64 pixels on its longer side and with the requested aspect ratio,
so a workflow that downloads the image gets a valid file whose look follows the prompt. With
`watermark_enabled` (the platform's default) its bottom rows are a light band, the emulator's
stand-in for the platform's "AI generated" mark.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections import OrderedDict

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PREVIEW_SIDE = 64
IMAGE_PATH_PREFIX = "/emulator/images/"


WATERMARK_COLOUR = b"\xf0\xf0\xf0"


def image_id(model: str, prompt: str, width: int, height: int, quality: str, watermark: bool = True) -> str:
    """A stable id for one image request: the same request yields the same URL."""
    mark = "" if watermark else "\0no-watermark"
    key = f"{model}\0{width}x{height}\0{quality}\0{prompt}{mark}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


def preview_size(width: int, height: int) -> tuple[int, int]:
    """The PNG's size: the requested aspect ratio, longer side `PREVIEW_SIDE` pixels."""
    longest = max(width, height)
    return (
        max(1, round(PREVIEW_SIDE * width / longest)),
        max(1, round(PREVIEW_SIDE * height / longest)),
    )


def render_png(seed: str, width: int, height: int, watermark: bool = False) -> bytes:
    """A `width`x`height` RGB PNG shading from one seed-derived colour to another.

    `watermark` paints the bottom sixteenth (at least one row) in `WATERMARK_COLOUR`.
    """
    digest = hashlib.sha256(seed.encode()).digest()
    top, bottom = digest[0:3], digest[3:6]
    marked_from = height - max(1, height // 16) if watermark else height
    rows = []
    for y in range(height):
        mix = y / (height - 1) if height > 1 else 0.0
        pixel = WATERMARK_COLOUR if y >= marked_from else bytes(round(a + (b - a) * mix) for a, b in zip(top, bottom))
        rows.append(b"\x00" + pixel * width)  # filter type 0 (None) per scanline
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


class ImageStore:
    """The images handed out recently, rendered on first download (bounded LRU)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[int, int, bool] | bytes] = OrderedDict()

    def remember(self, image: str, width: int, height: int, watermark: bool = False) -> None:
        if image in self._entries:
            self._entries.move_to_end(image)
            return
        self._entries[image] = (*preview_size(width, height), watermark)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def png(self, image: str) -> bytes | None:
        """The PNG for an id handed out earlier, or None for an unknown id."""
        entry = self._entries.get(image)
        if entry is None:
            return None
        if isinstance(entry, tuple):
            entry = render_png(image, *entry)
            self._entries[image] = entry
        self._entries.move_to_end(image)
        return entry
