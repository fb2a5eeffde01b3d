"""Paths and methods: 404 and 405 in Zhipu's shape, and the ASGI lifespan protocol."""

from __future__ import annotations

import asyncio

import pytest
from emulator_support import ORIGIN, Emulator, error_of

from zhipu_connector.emulator import create_app


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/paas/v4/no-such-api"),
        ("POST", "/api/paas/v4/chat/completions/"),
        ("POST", "/api/paas/v3/chat/completions"),
        ("GET", "/"),
        ("GET", "/api/paas/v4"),
    ],
)
def test_an_unknown_path_is_404_api_does_not_exist(emulator: Emulator, method: str, path: str) -> None:
    status, code, message = error_of(emulator.request(method, ORIGIN + path, authorization=None))
    assert (status, code) == (404, "1222")
    assert message == f"API does not exist: {path}"


@pytest.mark.parametrize("path", ["/chat/completions", "/images/generations"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD"])
def test_a_wrong_method_is_405(emulator: Emulator, path: str, method: str) -> None:
    response = emulator.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    if method != "HEAD":
        assert error_of(response)[1] == "1222"


def test_the_lifespan_protocol_is_answered() -> None:
    app = create_app()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, str]] = []

    async def receive() -> dict[str, str]:
        return incoming.pop(0)

    async def send(message: dict[str, str]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
