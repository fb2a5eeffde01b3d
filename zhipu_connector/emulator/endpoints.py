"""The endpoints beyond chat and images: embeddings, video and async image tasks, the task
result, the model list, files and batches — routed by pattern, served per platform.

The app hands this module every path its own table does not know. A path the emulated
platform lacks (the international one has no embeddings, batches, file listing or model list)
is left unknown, so it answers 404 there as the platform would. Each handler takes a `Call`
and returns an `Answer`; the app does the ASGI sending, so the `drop` and `malformed` faults
work here as they do for chat.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .batches import BatchStore, LineCall
from .catalogue import models_payload
from .config import OFFICIAL_SDK_NULL_FIELDS, EmulatorConfig
from .embeddings import embeddings_payload, validate_embeddings
from .errors import ApiError, bad_request
from .faults import (
    BATCH_FAULTS,
    ERROR_FAULTS,
    TASK_FAULTS,
    FaultPlanner,
    FaultSpec,
    error_for,
    find_marker,
    parse_fault,
)
from .files import FileStore
from .images import IMAGE_PATH_PREFIX, ImageStore, image_id
from .tasks import TaskStore
from .validation import parse_body
from .video import render_mp4, validate_video

VIDEO_PATH_PREFIX = "/emulator/videos/"
FAULT_HEADER = "x-emulator-fault"
ASYNC_IMAGE_SIZES = ("1280x1280", "1568x1056", "1056x1568", "1472x1088", "1088x1472", "1728x960", "960x1728")
ASYNC_IMAGE_FIELDS = ("model", "prompt", "quality", "size", "user_id", "request_id", "watermark_enabled")
_OCTET = b"application/octet-stream"
_VIDEO_MEMORY = 4096


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated request to these endpoints."""

    method: str
    params: tuple[str, ...]
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    origin: str

    @property
    def owner(self) -> str:
        """The account: the key's id (or a JWT's `api_key` claim); results are per account."""
        token = self.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if token.count(".") == 2:
            try:
                claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
                return str(claims.get("api_key", ""))
            except ValueError:
                return ""
        return token.split(".")[0]

    def json(self) -> dict[str, Any]:
        return parse_body(self.raw)


@dataclass(frozen=True, slots=True)
class Answer:
    """What to send: a JSON payload (maybe broken by `fault`), or raw bytes."""

    payload: dict[str, Any] | None = None
    content: bytes = b""
    content_type: bytes = _OCTET
    fault: str | None = None


Handler = Callable[[Call], Awaitable[Answer]]
Route = tuple[re.Pattern[str], dict[str, Handler]]


class Endpoints:
    """The routes, stores and fault rules of the further endpoints, for one app."""

    def __init__(
        self, config: EmulatorConfig, faults: FaultPlanner, images: ImageStore, call: LineCall, prefix: str
    ) -> None:
        self._config = config
        self._faults = faults
        self._images = images
        self._tasks = TaskStore(config.clock, config.task_seconds)
        self._files = FileStore(config.clock, config.platform)
        self._batches = BatchStore(config.clock, config.batch_seconds, self._files, call)
        self._call = call
        self._videos: dict[str, tuple[int, int, int, int]] = {}
        both: list[tuple[str, dict[str, Handler]]] = [
            ("/videos/generations", {"POST": self._video}),
            ("/async/images/generations", {"POST": self._async_image}),
            ("/async-result/([^/]+)", {"GET": self._async_result}),
        ]
        mainland: list[tuple[str, dict[str, Handler]]] = [
            ("/embeddings", {"POST": self._embeddings}),
            ("/async/chat/completions", {"POST": self._async_chat}),
            ("/models", {"GET": self._models}),
            ("/files", {"POST": self._upload, "GET": self._list_files}),
            ("/files/([^/]+)", {"DELETE": self._delete_file}),
            ("/files/([^/]+)/content", {"GET": self._file_content}),
            ("/batches", {"POST": self._create_batch, "GET": self._list_batches}),
            ("/batches/([^/]+)", {"GET": self._retrieve_batch}),
            ("/batches/([^/]+)/cancel", {"POST": self._cancel_batch}),
        ]
        if config.platform == "international":
            mainland = [("/files", {"POST": self._upload})]  # api.z.ai: upload only (agent files)
        self._routes: list[Route] = [(re.compile(re.escape(prefix) + path), table) for path, table in both + mainland]

    def route(self, path: str) -> tuple[dict[str, Handler], tuple[str, ...]] | None:
        """The handlers for `path` (by method) and its path parameters, or None."""
        for pattern, table in self._routes:
            match = pattern.fullmatch(path)
            if match:
                return table, match.groups()
        return None

    def video_file(self, path: str) -> bytes | None:
        """The MP4 behind a video URL handed out earlier, or None."""
        name = path[len(VIDEO_PATH_PREFIX) :]
        shape = self._videos.get(name[:-4]) if name.endswith(".mp4") else None
        return render_mp4(*shape) if shape is not None else None

    # -- faults ----------------------------------------------------------------------------

    async def _fault(self, call: Call, text: str, key: str, own: frozenset[str], api: str) -> str | None:
        """Apply the fault this request asks for (or the configured one); return its name when
        it is one the handler applies itself (`own`, `drop`, `malformed`)."""
        header = call.headers.get(FAULT_HEADER)
        explicit = bool(header) or find_marker(text) is not None
        spec = self._faults.choose(header, text, key)
        if spec is None:
            return None
        if spec.name in ERROR_FAULTS:
            raise error_for(spec, self._config.retry_after_seconds)
        if spec.name == "slow":
            await asyncio.sleep(spec.delay)
            return None
        if spec.name in ("drop", "malformed") or spec.name in own:
            return spec.name
        if explicit:
            raise bad_request(f"X-Emulator-Fault: {spec.name} does not apply to {api}")
        return None  # a configured fault meant for other endpoints

    # -- embeddings and the model list -----------------------------------------------------

    async def _embeddings(self, call: Call) -> Answer:
        request = validate_embeddings(call.json(), self._config)
        fault = await self._fault(call, " ".join(request.texts), _digest(call.raw), frozenset(), "embeddings")
        return Answer(embeddings_payload(request), fault=fault)

    async def _models(self, call: Call) -> Answer:
        fault = await self._fault(call, "", "GET /models", frozenset(), "the model list")
        return Answer(models_payload(self._config.created), fault=fault)

    # -- tasks -----------------------------------------------------------------------------

    async def _video(self, call: Call) -> Answer:
        request = validate_video(call.json(), self._config.platform)
        key = request.request_id or _digest(call.raw)
        fault = await self._fault(call, request.prompt, key, TASK_FAULTS, "video generation")
        video = hashlib.sha256(call.raw).hexdigest()[:32]
        self._videos[video] = (request.width, request.height, request.fps, request.duration)
        if len(self._videos) > _VIDEO_MEMORY:
            del self._videos[next(iter(self._videos))]
        cover = image_id(request.model, request.prompt, request.width, request.height, "cover")
        self._images.remember(cover, request.width, request.height)
        result = {
            "video_result": [
                {
                    "url": f"{call.origin}{VIDEO_PATH_PREFIX}{video}.mp4",
                    "cover_image_url": f"{call.origin}{IMAGE_PATH_PREFIX}{cover}.png",
                }
            ]
        }
        return self._submit(call, request.model, request.request_id, result, fault)

    async def _async_image(self, call: Call) -> Answer:
        body = call.json()
        for name in [name for name, value in body.items() if value is None]:
            del body[name]
        for name in body:
            if name not in ASYNC_IMAGE_FIELDS:
                raise ApiError(
                    400,
                    "1214",
                    f"{name}: unknown field; async image generation accepts {', '.join(ASYNC_IMAGE_FIELDS)}",
                )
        model = body.get("model")
        if not isinstance(model, str) or model.lower() != "glm-image":
            raise ApiError(400, "1211", f"model: async image generation supports glm-image only, got {model!r}")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ApiError(400, "1214", "prompt: required, a non-empty string")
        if body.get("quality", "hd") != "hd":
            raise ApiError(400, "1214", f'quality: must be "hd" for async glm-image, got {body["quality"]!r}')
        width, height = _glm_image_size(body.get("size", "1280x1280"))
        for name, shortest, longest in (("user_id", 6, 128), ("request_id", 6, 64)):
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or not shortest <= len(value) <= longest):
                raise ApiError(400, "1214", f"{name}: must be a string of {shortest}-{longest} characters")
        if not isinstance(body.get("watermark_enabled", True), bool):
            raise ApiError(400, "1214", "watermark_enabled: must be a boolean (true or false)")
        request_id = body.get("request_id")
        fault = await self._fault(call, prompt, request_id or _digest(call.raw), TASK_FAULTS, "async images")
        image = image_id("glm-image", " ".join(prompt.split()), width, height, "hd")
        self._images.remember(image, width, height)
        result = {"image_result": [{"url": f"{call.origin}{IMAGE_PATH_PREFIX}{image}.png"}]}
        return self._submit(call, "glm-image", request_id, result, fault)

    async def _async_chat(self, call: Call) -> Answer:
        """`POST /async/chat/completions` (mainland): the chat reply, computed now, served as a task."""
        body = call.json()
        body.pop("stream", None)  # accepted and ignored by the platform: the task never streams
        for name in OFFICIAL_SDK_NULL_FIELDS:  # both SDKs send these as null on every call
            if name in body and body[name] is None:
                del body[name]
        messages = body.get("messages")
        last = (
            messages[-1].get("content")
            if isinstance(messages, list) and messages and isinstance(messages[-1], dict)
            else ""
        )
        text = last if isinstance(last, str) else ""
        request_id = body.get("request_id") if isinstance(body.get("request_id"), str) else None
        fault = await self._fault(call, text, request_id or _digest(call.raw), TASK_FAULTS, "async chat")
        status, reply = await self._call("/v4/chat/completions", body, call.origin)
        if status != 200:
            error = reply.get("error", reply)
            raise ApiError(status, str(error.get("code", status)), str(error.get("message", "")))
        model = str(reply.pop("model", body.get("model")))
        for name in ("id", "request_id", "object"):
            reply.pop(name, None)
        reply["model"] = display_name(model)  # the live result names the model so: GLM-4.5-Flash
        task_fault = fault if fault in TASK_FAULTS else None
        answer = self._tasks.submit(call.owner, model, request_id, _digest(call.raw), reply, task_fault, with_id=True)
        return Answer(answer, fault=None if task_fault else fault)

    def _submit(
        self, call: Call, model: str, request_id: str | None, result: dict[str, Any], fault: str | None
    ) -> Answer:
        task_fault = fault if fault in TASK_FAULTS else None
        reply = self._tasks.submit(call.owner, model, request_id, _digest(call.raw), result, task_fault)
        return Answer(reply, fault=None if task_fault else fault)

    async def _async_result(self, call: Call) -> Answer:
        fault = await self._fault(call, "", f"GET {call.params[0]}", frozenset(), "the task result")
        return Answer(self._tasks.poll(call.owner, call.params[0]), fault=fault)

    # -- files -----------------------------------------------------------------------------

    async def _upload(self, call: Call) -> Answer:
        fault = await self._fault(call, "", _digest(call.raw), frozenset(), "file upload")
        return Answer(self._files.upload(call.owner, call.headers.get("content-type", ""), call.raw), fault=fault)

    async def _list_files(self, call: Call) -> Answer:
        fault = await self._fault(call, "", "GET /files", frozenset(), "the file list")
        return Answer(self._files.listing(call.owner, call.query), fault=fault)

    async def _delete_file(self, call: Call) -> Answer:
        return Answer(self._files.delete(call.owner, call.params[0]))

    async def _file_content(self, call: Call) -> Answer:
        await self._fault(call, "", f"GET {call.params[0]}", frozenset(), "file content")
        return Answer(content=self._files.content(call.owner, call.params[0]))

    # -- batches ---------------------------------------------------------------------------

    async def _create_batch(self, call: Call) -> Answer:
        body = call.json()
        spec = self._batch_fault(call)
        if spec is None:
            await self._fault(call, "", _digest(call.raw), frozenset(), "batches")
        return Answer(await self._batches.create(call.owner, call.origin, body, spec))

    def _batch_fault(self, call: Call) -> FaultSpec | None:
        """A batch fault from the header or the configuration (its `times` counts lines)."""
        header = call.headers.get(FAULT_HEADER)
        spec = parse_fault(header) if header else self._config.default_fault()
        return spec if spec is not None and spec.name in BATCH_FAULTS else None

    async def _retrieve_batch(self, call: Call) -> Answer:
        fault = await self._fault(call, "", f"GET {call.params[0]}", frozenset(), "batches")
        return Answer(await self._batches.retrieve(call.owner, call.params[0]), fault=fault)

    async def _list_batches(self, call: Call) -> Answer:
        fault = await self._fault(call, "", "GET /batches", frozenset(), "batches")
        return Answer(await self._batches.listing(call.owner, call.query), fault=fault)

    async def _cancel_batch(self, call: Call) -> Answer:
        return Answer(await self._batches.cancel(call.owner, call.params[0]))


def query_of(scope: dict[str, Any] | Any) -> dict[str, str]:
    """The query string as a dict (the last value of a repeated name wins)."""
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


def display_name(model: str) -> str:
    """A model's display name, as a finished async chat task reports it (`glm-4.5-flash` → `GLM-4.5-Flash`)."""
    return "-".join(part.upper() if part in ("glm", "glm4v") else part.capitalize() for part in model.split("-"))


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _glm_image_size(size: Any) -> tuple[int, int]:
    match = re.fullmatch(r"([1-9][0-9]{0,4})x([1-9][0-9]{0,4})", size) if isinstance(size, str) else None
    if match is None:
        raise ApiError(400, "1214", f'size: must be "WIDTHxHEIGHT" such as "1280x1280", got {size!r}')
    width, height = int(match.group(1)), int(match.group(2))
    if size in ASYNC_IMAGE_SIZES:
        return width, height
    if not all(1024 <= side <= 2048 and side % 32 == 0 for side in (width, height)) or width * height > 2**22:
        raise ApiError(
            400,
            "1214",
            f"size: {size} is not accepted by glm-image: each side 1024-2048 and divisible by 32, at most 4194304 pixels",
        )
    return width, height
