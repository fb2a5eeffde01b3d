"""Image generation: the reply shape, and the URL that serves a real, deterministic PNG."""

from __future__ import annotations

import struct
import zlib

import pytest
from emulator_support import ORIGIN, Emulator, error_of, image_body

from zhipu_connector.emulator import EmulatorConfig

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Parse a PNG independently: check signature, chunk CRCs and IHDR; return size and rows."""
    assert data[:8] == PNG_SIGNATURE
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        position += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(chunks[1][1])
    stride = 1 + 3 * width
    assert len(raw) == height * stride
    rows = [raw[y * stride : (y + 1) * stride] for y in range(height)]
    assert all(row[0] == 0 for row in rows)
    return width, height, rows


def url_of(emulator: Emulator, **fields: object) -> str:
    response = emulator.image(image_body(**fields))
    assert response.status_code == 200, response.text
    return response.json()["data"][0]["url"]


def test_the_reply_has_the_documented_shape(emulator: Emulator) -> None:
    payload = emulator.image().json()
    assert set(payload) == {"created", "data", "content_filter"}
    assert payload["created"] == 1_735_689_600
    (image,) = payload["data"]
    assert set(image) == {"url"}
    assert payload["content_filter"] == [{"role": "assistant", "level": 3}]


def test_the_url_points_at_the_emulator_as_the_client_addressed_it(emulator: Emulator) -> None:
    assert url_of(emulator).startswith(f"{ORIGIN}/emulator/images/")
    response = emulator.image(headers={"Host": "localhost:9999"})
    assert response.json()["data"][0]["url"].startswith("http://localhost:9999/emulator/images/")


@pytest.mark.parametrize(
    ("fields", "size"),
    [
        ({}, (64, 64)),
        ({"size": "1344x768"}, (64, 37)),
        ({"size": "720x1440"}, (32, 64)),
        ({"model": "glm-image"}, (64, 64)),
        ({"model": "glm-image", "size": "2048x1024"}, (64, 32)),
    ],
)
def test_the_url_serves_a_valid_png_in_the_requested_aspect_ratio(
    emulator: Emulator, fields: dict[str, object], size: tuple[int, int]
) -> None:
    response = emulator.request("GET", url_of(emulator, **fields), authorization=None)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert int(response.headers["content-length"]) == len(response.content)
    width, height, _ = read_png(response.content)
    assert (width, height) == size


def test_the_same_request_gives_the_same_image(emulator: Emulator) -> None:
    first, second = url_of(emulator), url_of(Emulator())
    assert first == second
    assert emulator.request("GET", first).content == emulator.request("GET", first).content


def test_the_colour_follows_the_prompt(emulator: Emulator) -> None:
    fox, owl = url_of(emulator, prompt="a fox"), url_of(emulator, prompt="an owl")
    assert fox != owl
    fox_rows = read_png(emulator.request("GET", fox).content)[2]
    owl_rows = read_png(emulator.request("GET", owl).content)[2]
    assert fox_rows[0] != owl_rows[0]
    assert fox_rows[0] != fox_rows[-1]  # a gradient, not a flat fill


def test_head_sends_only_the_headers(emulator: Emulator) -> None:
    url = url_of(emulator)
    response = emulator.request("HEAD", url)
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) == len(emulator.request("GET", url).content)


@pytest.mark.parametrize(
    "path",
    ["/emulator/images/0123456789abcdef0123456789abcdef.png", "/emulator/images/", "/emulator/images/x.jpg"],
)
def test_an_unknown_image_is_404(emulator: Emulator, path: str) -> None:
    assert error_of(emulator.request("GET", ORIGIN + path))[:2] == (404, "1222")


def test_another_method_on_an_image_is_405(emulator: Emulator) -> None:
    response = emulator.request("DELETE", url_of(emulator))
    assert error_of(response)[:2] == (405, "1222")
    assert response.headers["allow"] == "GET, HEAD"


def test_only_recent_images_stay_downloadable() -> None:
    emulator = Emulator(EmulatorConfig(image_memory=1))
    first, second = url_of(emulator, prompt="first"), url_of(emulator, prompt="second")
    assert emulator.request("GET", second).status_code == 200
    assert emulator.request("GET", first).status_code == 404
