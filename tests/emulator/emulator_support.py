"""Drive the emulator the way a client does: plain httpx, in process (ASGITransport)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from zhipu_connector.emulator import EmulatorConfig, create_app

KEY = "emu-key-id.emu-key-secret"
ORIGIN = "http://emulator.test"
BASE = ORIGIN + "/api/paas/v4"
_UNSET: Any = object()


def chat_body(content: str = "What is the capital of France?", **fields: Any) -> dict[str, Any]:
    """A valid chat body (glm-4-flash, one user message) with `fields` added or replaced."""
    return {"model": "glm-4-flash", "messages": [{"role": "user", "content": content}], **fields}


def image_body(prompt: str = "a red fox in the snow", **fields: Any) -> dict[str, Any]:
    return {"model": "cogview-4", "prompt": prompt, **fields}


class Emulator:
    """A synchronous httpx client bound in process to one emulator app."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.app = create_app(config)

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = _UNSET,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        authorization: str | None = f"Bearer {KEY}",
    ) -> httpx.Response:
        sent = dict(headers or {})
        if authorization is not None:
            sent["Authorization"] = authorization
        kwargs: dict[str, Any] = {"headers": sent}
        if json is not _UNSET:
            kwargs["json"] = json
        if content is not None:
            kwargs["content"] = content

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(go())

    def chat(self, body: dict[str, Any] | None = None, **options: Any) -> httpx.Response:
        return self.request("POST", "/chat/completions", json=chat_body() if body is None else body, **options)

    def image(self, body: dict[str, Any] | None = None, **options: Any) -> httpx.Response:
        return self.request("POST", "/images/generations", json=image_body() if body is None else body, **options)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """(status, code, message) of a wrapped Zhipu error reply."""
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"].isdigit()
    return response.status_code, error["code"], error["message"]


def sse_events(text: str) -> list[str]:
    """The `data:` payloads of a Server-Sent Events body, checking its framing on the way."""
    assert text.endswith("\n\n"), "every event ends with a blank line"
    events = []
    for block in text[:-2].split("\n\n"):
        assert block.startswith("data: "), block
        assert "\n" not in block, "one data line per event"
        events.append(block[len("data: ") :])
    return events
