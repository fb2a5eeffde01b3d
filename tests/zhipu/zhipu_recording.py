"""The emulator app wrapped so tests see exactly what the client sent."""

from __future__ import annotations

import json
from typing import Any


class RecordingApp:
    """The emulator app, remembering the headers and JSON body of every request it receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        headers = {name.decode(): value.decode() for name, value in scope["headers"]}
        headers["path"] = scope["path"]
        try:
            await self.app(scope, recording_receive, send)
        finally:
            self.requests.append((headers, json.loads(b"".join(chunks))))

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.requests]
