"""The emulator for Batch API runs: a fake clock, and a count of what was submitted, seen from the server.

`Submissions` wraps the emulator's ASGI app and reads what passes: each uploaded file's
`custom_id`s (by the id the upload answered) and each batch created on a file. A row counts as
submitted once per batch created on a file holding it — what the platform bills.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from zhipu_connector.emulator import EmulatorConfig, create_app

BASE_PATH = "/api/paas/v4"
ORIGIN = "http://emulator.test"
KEY = "batch-key-id.batch-key-secret"
START = 1_790_000_000.0
_CUSTOM_ID = re.compile(rb'"custom_id":"(row-\d+)"')


class FakeClock:
    """Epoch seconds that move when the run sleeps (`sleep`), or by `tick` on every read."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now = START
        self.tick = tick
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += self.tick
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class Submissions:
    """An ASGI wrapper that counts, per `custom_id`, the batches created on a file holding it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.files: dict[str, list[str]] = {}
        self.uploads: list[tuple[str, int]] = []  # (file name, lines)
        self.batches: list[str] = []
        self.per_row: Counter[str] = Counter()
        self.bodies: dict[str, list[dict[str, Any]]] = {}  # path → request bodies seen (JSON ones)
        self.lines: list[dict[str, Any]] = []  # every uploaded request line
        self.drop_next_create = False  # answer the next POST /batches with a dropped connection
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"].removeprefix(BASE_PATH), scope["method"]
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        sent: list[bytes] = []
        status: list[int] = []
        dropped = method == "POST" and path == "/batches" and self.drop_next_create
        if dropped:
            self.drop_next_create = False

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def keep(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                sent.append(message.get("body", b""))
            if not dropped:
                await send(message)

        await self.app(scope, replay, keep)
        self._observe(method, path, body, status[0] if status else 500, b"".join(sent))
        if dropped:
            raise httpx.RemoteProtocolError("the connection dropped before the answer")

    def _observe(self, method: str, path: str, body: bytes, status: int, answer: bytes) -> None:
        if status != 200 or method != "POST":
            return
        with self._lock:
            if path == "/files":
                file_id = json.loads(answer)["id"]
                custom_ids = [match.decode() for match in _CUSTOM_ID.findall(body)]
                self.files[file_id] = custom_ids
                name = re.search(rb'filename="([^"]+)"', body)
                self.uploads.append((name.group(1).decode() if name else "", len(custom_ids)))
                for line in body.split(b"\n"):
                    if line.startswith(b"{") and b'"custom_id"' in line:
                        self.lines.append(json.loads(line))
            elif path == "/batches":
                file_id = json.loads(body)["input_file_id"]
                self.batches.append(json.loads(answer)["id"])
                self.per_row.update(self.files.get(file_id, []))
            elif body.startswith(b"{"):
                self.bodies.setdefault(path, []).append(json.loads(body))


def make_emulator(clock: FakeClock, **settings: Any) -> Submissions:
    return Submissions(create_app(EmulatorConfig(clock=clock, api_keys=frozenset({KEY}), **settings)))


@contextmanager
def served(app: Any) -> Iterator[str]:
    """`app` on a free loopback port (uvicorn in a thread); yields the base URL."""
    import time

    import uvicorn

    from zhipu_connector.emulator.server import _listen, _uvicorn_config

    listener = _listen("127.0.0.1", 0)
    server = uvicorn.Server(_uvicorn_config(app, log_config=False, timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the emulator did not start"
            time.sleep(0.005)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}{BASE_PATH}"
    finally:
        server.should_exit = True
        thread.join(5)
        listener.close()


def write_rows(path: Path, rows: list[dict[str, Any]] | Iterator[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(row if isinstance(row, str) else json.dumps(row) + "\n")
    return path


def results(out: Path) -> dict[int, dict[str, Any]]:
    """The results file by row, asserting whole lines and no row twice."""
    data = out.read_bytes()
    assert not data or data.endswith(b"\n"), "a torn last line"
    records = [json.loads(line) for line in data.splitlines()]
    rows = [record["row"] for record in records]
    assert len(rows) == len(set(rows)), f"rows written twice: {[r for r, n in Counter(rows).items() if n > 1][:10]}"
    return {record["row"]: record for record in records}


def files_left(emulator: Submissions) -> list[dict[str, Any]]:
    """The batch files the account still holds on the emulator (every page)."""
    import asyncio

    async def listing() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after = None
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=emulator.app), base_url=ORIGIN + BASE_PATH
        ) as client:
            while True:
                params = {"purpose": "batch", "limit": 100, **({"after": after} if after else {})}
                page = (await client.get("/files", params=params, headers={"Authorization": f"Bearer {KEY}"})).json()
                if not page["data"]:
                    return found
                found += page["data"]
                after = page["data"][-1]["id"]

    return asyncio.run(listing())
