"""Drive the emulator's further endpoints in process, with a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from zhipu_connector.emulator import EmulatorConfig, create_app

KEY = "emu-key-id.emu-key-secret"
OTHER_KEY = "other-account.other-secret"
ORIGIN = "http://emulator.test"
BASE = ORIGIN + "/api/paas/v4"
START = 1_790_000_000.0


class FakeClock:
    """Epoch seconds that move only when the test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Platform:
    """One emulator app and its fake clock, spoken to with plain httpx (ASGITransport)."""

    def __init__(self, **settings: Any) -> None:
        self.clock = FakeClock()
        self.app = create_app(EmulatorConfig(clock=self.clock, **settings))

    def request(self, method: str, url: str, *, key: str = KEY, **options: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}", **options.pop("headers", {})}

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                return await client.request(method, url, headers=headers, **options)

        return asyncio.run(go())

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, body: Any = None, **options: Any) -> httpx.Response:
        return self.request("POST", url, json=body, **options)

    def upload(
        self, lines: list[dict[str, Any]] | bytes, *, filename: str = "rows.jsonl", **options: Any
    ) -> httpx.Response:
        content = lines if isinstance(lines, bytes) else jsonl(lines)
        purpose = options.pop("purpose", "batch")
        return self.request("POST", "/files", data={"purpose": purpose}, files={"file": (filename, content)}, **options)


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines)


def chat_line(custom_id: str, content: str = "Hello", model: str = "glm-4-flash", **fields: Any) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": content}], **fields}
    return {"custom_id": custom_id, "method": "POST", "url": "/v4/chat/completions", "body": body}


def embedding_line(custom_id: str, text: str = "hello", model: str = "embedding-3") -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v4/embeddings", "body": {"model": model, "input": text}}


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """(status, code, message) of a wrapped Zhipu error reply."""
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"].isdigit()
    return response.status_code, error["code"], error["message"]
