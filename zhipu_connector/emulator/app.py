"""The emulator as a raw ASGI application.

No web framework: benchmarks measure client libraries against this app over loopback, so its
own per-request cost must stay far below theirs. One request runs: route → authenticate →
read and parse the body → validate → pick a fault → reply. Any refusal along the way is an
`ApiError` turned into a Zhipu-shaped reply in one place.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from .auth import Authenticator
from .concurrency import CONCURRENCY_PATH, ConcurrencyGate
from .config import OFFICIAL_SDK_NULL_FIELDS, OFFICIAL_SDKS, EmulatorConfig
from .endpoints import VIDEO_PATH_PREFIX, Call, Endpoints, query_of
from .errors import ApiError, api_not_found, bad_request, method_not_allowed
from .faults import (
    ERROR_FAULTS,
    FINISH_FAULTS,
    STREAM_ERROR_CODE,
    STREAM_ERROR_MESSAGE,
    FaultPlanner,
    FaultSpec,
    connection_dropped,
    error_for,
    strip_markers,
)
from .images import IMAGE_PATH_PREFIX, ImageStore, image_id
from .models import MAINLAND
from .replies import Reply, compose, split_for_stream
from .tools import WebSearch
from .validation import parse_body, validate_chat, validate_image

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

API_PREFIX = "/api/paas/v4"
CHAT_PATH = API_PREFIX + "/chat/completions"
IMAGES_PATH = API_PREFIX + "/images/generations"
FAULT_HEADER = "x-emulator-fault"
# The official SDKs (`zhipuai`, `zai-sdk`) name themselves in this header, and send `null` for
# `response_format` and `thinking` on every chat call; the platform accepts that.
SDK_HEADER = "x-request-sdk"

_JSON = b"application/json; charset=utf-8"
_SSE = b"text/event-stream; charset=utf-8"
_PNG = b"image/png"
_DONE = b"data: [DONE]\n\n"
_WANTED_HEADERS = frozenset({b"authorization", b"host", b"content-type", FAULT_HEADER.encode(), SDK_HEADER.encode()})
_CHUNKS_BEFORE_FAULT = 2
# The mainland platform rates every answer; the international one sends no `content_filter`.
_CONTENT_FILTER = [{"role": "assistant", "level": 3}]


class _ClientGone(Exception):
    """The client disconnected before its request body arrived; there is no one to answer."""


class EmulatorApp:
    """A Zhipu-compatible ASGI app; `config` and the per-app state live on the instance."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._auth = Authenticator(config.api_keys, config.clock)
        self._faults = FaultPlanner(config.default_fault(), config.fault_first_requests, config.fault_memory)
        self._images = ImageStore(config.image_memory)
        self._sdk_nullable = config.allow_null_fields | OFFICIAL_SDK_NULL_FIELDS
        self.concurrency = ConcurrencyGate(config.max_concurrent_requests)  # its limit may change while running
        self._routes: dict[str, dict[str, Callable[..., Awaitable[None]]]] = {
            CHAT_PATH: {"POST": self._chat},
            IMAGES_PATH: {"POST": self._generate_image},
        }
        # Embeddings, tasks, the model list, files and batches (endpoints.py), per platform.
        self._more = Endpoints(config, self._faults, self._images, self._batch_line, API_PREFIX)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            try:
                await self._http(scope, receive, send)
            except ApiError as error:
                await _send_whole(send, error.status, _JSON, error.body(), error.headers)
            except _ClientGone:
                return
        elif kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1008})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path.startswith(IMAGE_PATH_PREFIX):
            await self._download_image(path, method, send)
            return
        if path == CONCURRENCY_PATH:
            await self.concurrency.control(method, receive, send)
            return
        if path.startswith(VIDEO_PATH_PREFIX):
            await self._download_video(path, method, send)
            return
        handlers: Mapping[str, Callable[..., Awaitable[Any]]] | None = self._routes.get(path)
        params: tuple[str, ...] | None = None
        if handlers is None:
            found = self._more.route(path)
            if found is None:
                raise api_not_found(path)
            handlers, params = found
        handler: Callable[..., Awaitable[Any]] | None = handlers.get(method)
        if handler is None:
            raise method_not_allowed(method, path, tuple(handlers))
        headers = _headers(scope)
        self._auth.check(headers.get("authorization"))
        if not self.concurrency.enter():
            raise error_for(FaultSpec("rate_limit"), self.config.retry_after_seconds)
        send = counted = self.concurrency.counted(send)  # out of flight as its answer's last byte goes
        try:
            raw = await _read_body(receive)
            if params is None:
                await handler(scope, headers, raw, parse_body(raw), send)
            else:
                call = Call(method, params, query_of(scope), headers, raw, _origin(scope, headers))
                answer = await handler(call)
                if answer.payload is not None:
                    await _send_json(send, answer.payload, answer.fault)
                else:
                    await _send_whole(send, 200, answer.content_type, answer.content)
        finally:
            counted.leave()

    async def _batch_line(self, url: str, body: dict[str, Any], origin: str) -> tuple[int, dict[str, Any]]:
        """One batch line answered by the real-time handler of its `url` (`/v4/...`)."""
        path = API_PREFIX + url.removeprefix("/v4")
        raw = _dumps(body)
        scheme, _, host = origin.partition("://")
        headers = {"host": host}
        sent: list[Message] = []

        async def capture(message: Message) -> None:
            sent.append(message)

        try:
            handler = self._routes.get(path, {}).get("POST")
            if handler is not None:
                scope: Scope = {"type": "http", "scheme": scheme, "path": path, "method": "POST", "headers": []}
                await handler(scope, headers, raw, parse_body(raw), capture)
            else:
                found = self._more.route(path)
                if found is None or "POST" not in found[0]:
                    raise api_not_found(path)
                answer = await found[0]["POST"](Call("POST", found[1], {}, headers, raw, origin))
                return 200, answer.payload or {}
        except ApiError as error:
            return error.status, json.loads(error.body())
        except Exception:  # a shape fault (drop) cuts the reply: the line fails as a server error
            return 500, {"error": {"code": "500", "message": "Internal server error"}}
        text = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
        try:
            return sent[0]["status"], json.loads(text)
        except ValueError:  # the malformed fault
            return 500, {"error": {"code": "500", "message": "Internal server error"}}

    # -- chat completions ------------------------------------------------------------------

    async def _chat(self, scope: Scope, headers: dict[str, str], raw: bytes, body: dict[str, Any], send: Send) -> None:
        from_sdk = headers.get(SDK_HEADER) in OFFICIAL_SDKS
        request = validate_chat(body, self.config, self._sdk_nullable if from_sdk else None)
        fingerprint = hashlib.sha256(raw).hexdigest()
        fault = self._faults.choose(
            headers.get(FAULT_HEADER), request.last_user_text, request.request_id or fingerprint
        )
        name = await self._common_fault(fault)
        if name == "stream_error" and not request.stream:
            raise bad_request("X-Emulator-Fault: stream_error applies to streamed requests only (stream: true)")
        reply = compose(request, self.config.created)
        finish_reason = FINISH_FAULTS.get(name or "", reply.finish_reason)
        reply_id = fingerprint[:32]
        head = {
            "id": reply_id,
            "request_id": request.request_id or reply_id,
            "created": self.config.created,
            "model": request.model.id,
        }
        if request.stream:
            await self._stream(send, head, reply, finish_reason, name, request.tool_stream, request.web_search)
            return
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        if reply.tool_calls is not None:
            message["tool_calls"] = reply.tool_calls
        payload = {
            **head,
            "choices": [{"index": 0, "finish_reason": finish_reason, "message": message}],
            "usage": reply.usage(),
        }
        if reply.web_search is not None:
            payload["web_search"] = reply.web_search
        if self.config.platform == MAINLAND:
            payload["content_filter"] = _CONTENT_FILTER
        await _send_json(send, payload, name)

    async def _stream(
        self,
        send: Send,
        head: dict[str, Any],
        reply: Reply,
        finish_reason: str,
        fault: str | None,
        tool_stream: bool = False,
        search: WebSearch | None = None,
    ) -> None:
        chunks: list[dict[str, Any]] = [
            {**head, "choices": [{"index": 0, "delta": delta}]}
            for delta in _deltas(reply, self.config.stream_chunk_tokens, tool_stream)
        ]
        final_delta = {"role": "assistant", "content": ""}
        final: dict[str, Any] = {
            **head,
            "choices": [{"index": 0, "finish_reason": finish_reason, "delta": final_delta}],
            "usage": reply.usage(),
        }
        if self.config.platform == MAINLAND:
            final["content_filter"] = _CONTENT_FILTER
        chunks.append(final)
        if reply.web_search is not None:
            # `result_sequence`: the results come with the first chunk ("before") or the last.
            chunks[0 if search is None or search.results_first else -1]["web_search"] = reply.web_search
        events = [_event(chunk) for chunk in chunks]
        events.append(_DONE)
        if fault == "stream_error":
            error = {"error": {"code": STREAM_ERROR_CODE, "message": STREAM_ERROR_MESSAGE}}
            events = events[: min(_CHUNKS_BEFORE_FAULT, len(events) - 2)] + [_event(error)]
        elif fault == "malformed":
            broken = events[0][: len(events[0]) // 2].rstrip(b"\n") + b"\n\n"
            events = events[:1] + [broken, _DONE]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", _SSE), (b"cache-control", b"no-cache")],
            }
        )
        delay = self.config.stream_chunk_delay
        drop_at = min(_CHUNKS_BEFORE_FAULT, len(events) - 1) if fault == "drop" else -1
        for count, event in enumerate(events):
            if count == drop_at:
                raise connection_dropped()
            if delay and count:
                await asyncio.sleep(delay)
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    # -- images ----------------------------------------------------------------------------

    async def _generate_image(
        self, scope: Scope, headers: dict[str, str], raw: bytes, body: dict[str, Any], send: Send
    ) -> None:
        request = validate_image(body, self.config)
        fault = self._faults.choose(
            headers.get(FAULT_HEADER),
            request.prompt,
            request.request_id or hashlib.sha256(raw).hexdigest(),
        )
        name = await self._common_fault(fault)
        if name in FINISH_FAULTS or name == "stream_error":
            raise bad_request(f"X-Emulator-Fault: {name} applies to chat completions only")
        prompt = " ".join(strip_markers(request.prompt).split())
        image = image_id(request.model, prompt, request.width, request.height, request.quality, request.watermark)
        self._images.remember(image, request.width, request.height, request.watermark)
        payload = {
            "created": self.config.created,
            "data": [{"url": f"{_origin(scope, headers)}{IMAGE_PATH_PREFIX}{image}.png"}],
            "content_filter": [{"role": "assistant", "level": 3}],
        }
        await _send_json(send, payload, name)

    async def _download_video(self, path: str, method: str, send: Send) -> None:
        if method not in ("GET", "HEAD"):
            raise method_not_allowed(method, path, ("GET", "HEAD"))
        mp4 = self._more.video_file(path)
        if mp4 is None:
            raise ApiError(404, "1222", f"No such video: {path}")
        await _send_whole(send, 200, b"video/mp4", b"" if method == "HEAD" else mp4, (), len(mp4))

    async def _download_image(self, path: str, method: str, send: Send) -> None:
        if method not in ("GET", "HEAD"):
            raise method_not_allowed(method, path, ("GET", "HEAD"))
        name = path[len(IMAGE_PATH_PREFIX) :]
        png = self._images.png(name[:-4]) if name.endswith(".png") else None
        if png is None:
            raise ApiError(404, "1222", f"No such image: {path}")
        await _send_whole(send, 200, _PNG, b"" if method == "HEAD" else png, (), len(png))

    # -- faults shared by both APIs --------------------------------------------------------

    async def _common_fault(self, fault: FaultSpec | None) -> str | None:
        """Raise an error fault, sleep a slow one; return the fault's name for the rest."""
        if fault is None:
            return None
        if fault.name in ERROR_FAULTS:
            raise error_for(fault, self.config.retry_after_seconds)
        if fault.name == "slow":
            await asyncio.sleep(fault.delay)
        return fault.name


def create_app(config: EmulatorConfig | None = None) -> EmulatorApp:
    """The emulator's ASGI callable, configured by `config` (defaults: any key, no faults)."""
    return EmulatorApp(config if config is not None else EmulatorConfig())


# -- ASGI plumbing -------------------------------------------------------------------------


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"] if name in _WANTED_HEADERS
    }


def _origin(scope: Scope, headers: dict[str, str]) -> str:
    """`scheme://host[:port]` as the client addressed the emulator."""
    host = headers.get("host")
    if not host:
        server_host, port = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server_host}:{port}"
    return f"{scope.get('scheme', 'http')}://{host}"


def _deltas(reply: Reply, tokens_per_chunk: int, tool_stream: bool) -> list[dict[str, Any]]:
    """Reasoning deltas, then content deltas, then tool calls: whole, or with `tool_stream`
    as a head (index, id, type, name) followed by pieces of the arguments."""
    deltas: list[dict[str, Any]] = [
        {"role": "assistant", "reasoning_content": piece}
        for piece in split_for_stream(reply.reasoning or "", tokens_per_chunk)
    ]
    deltas += [
        {"role": "assistant", "content": piece} for piece in split_for_stream(reply.content or "", tokens_per_chunk)
    ]
    if reply.tool_calls is not None and not tool_stream:
        deltas.append({"role": "assistant", "tool_calls": reply.tool_calls})
    for call in reply.tool_calls if tool_stream and reply.tool_calls else ():
        head = {**call, "function": {"name": call["function"]["name"], "arguments": ""}}
        deltas.append({"role": "assistant", "tool_calls": [head]})
        deltas += [
            {"role": "assistant", "tool_calls": [{"index": call["index"], "function": {"arguments": piece}}]}
            for piece in split_for_stream(call["function"]["arguments"], tokens_per_chunk)
        ]
    return deltas


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + _dumps(payload) + b"\n\n"


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


async def _send_json(send: Send, payload: dict[str, Any], fault: str | None) -> None:
    """Send a 200 JSON reply, broken as the `drop` or `malformed` fault asks."""
    data = _dumps(payload)
    if fault == "drop":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", _JSON), (b"content-length", b"%d" % len(data))],
            }
        )
        half = data[: len(data) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise connection_dropped()
    if fault == "malformed":
        data = data[: len(data) // 2]
    await _send_whole(send, 200, _JSON, data)


async def _send_whole(
    send: Send,
    status: int,
    content_type: bytes,
    body: bytes,
    extra: tuple[tuple[bytes, bytes], ...] = (),
    length: int | None = None,
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", b"%d" % (len(body) if length is None else length)),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _ClientGone
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


__all__ = ["API_PREFIX", "CHAT_PATH", "IMAGES_PATH", "EmulatorApp", "create_app"]
