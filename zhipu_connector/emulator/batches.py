"""`/batches`: create, retrieve, list, cancel — a lifecycle read off the clock, real replies per line.

A batch moves validating → in_progress → finalizing → completed over `batch_seconds` of the
emulator's clock (validating for the first 10 %, in progress until 70 %, its request counts
growing line by line, then finalizing). Nothing runs in the background: a read works out where
the batch should be by now and computes the lines due, each through the emulator's own
real-time handler for its `url` — the same reply, validation and per-line faults
(`[[fault:...]]` markers) as a real-time call. Output and error lines are written in an order
that is not the input's (the platform does not keep it either), and become files.

Faults, from the `X-Emulator-Fault` header on `POST /batches` or the configured `fault`:
`batch_invalid` (the file fails validation: status `failed`), `batch_expired` (the batch
expires halfway: the lines done by then are in the output, the rest are in no file), and
`failed_lines[;times=N]` (the first N lines, or all, end in the error file with 400 / 1301).
Timestamps are epoch milliseconds, as on the wire.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_field, bad_request
from .faults import FaultSpec
from .files import BATCH_URLS, FileStore, page

# (url of a line, its body, the origin its URLs name) -> (HTTP status, reply body), computed by
# the real-time handler of that url.
LineCall = Callable[[str, dict[str, Any], str], Awaitable[tuple[int, dict[str, Any]]]]

BATCH_FIELDS = ("input_file_id", "endpoint", "completion_window", "auto_delete_input_file", "metadata")
FINAL = ("completed", "failed", "expired", "cancelled")
VALIDATING_SHARE = 0.1
RUNNING_END_SHARE = 0.7
EXPIRY_SHARE = 0.4
CANCELLING_SHARE = 0.1
LINE_FAULT = (400, "1301", "The input or generated content may contain unsafe or sensitive content")
_TIMES = (
    "in_progress_at", "expires_at", "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at",
    "cancelled_at",
)  # fmt: skip


@dataclass(slots=True)
class Batch:
    """One batch: what it runs, how far it got, and its files once finished."""

    id: str
    owner: str
    origin: str
    endpoint: str
    input_file_id: str
    completion_window: str | None
    auto_delete: bool
    metadata: dict[str, str] | None
    created: float
    lines: list[dict[str, Any]]  # emptied once the batch is over
    total: int
    fault: FaultSpec | None
    invalid: list[dict[str, Any]]
    status: str = "validating"
    times: dict[str, float] = field(default_factory=dict)
    done: int = 0
    completed: int = 0
    failed: int = 0
    output: list[tuple[str, bytes]] = field(default_factory=list)
    errors: list[tuple[str, bytes]] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None


def batch_id(seed: str) -> str:
    """`batch_` and 19 digits, the platform's batch id format."""
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % (9 * 10**18)
    return f"batch_{10**18 + number}"


class BatchStore:
    """Every account's batches, advanced on read."""

    def __init__(self, clock: Callable[[], float], seconds: float, files: FileStore, call: LineCall) -> None:
        self._clock = clock
        self._seconds = seconds
        self._files = files
        self._call = call
        self._batches: dict[str, Batch] = {}
        self._count = 0

    async def create(self, owner: str, origin: str, body: dict[str, Any], fault: FaultSpec | None) -> dict[str, Any]:
        """`POST /batches`: check the body, start the batch (status `validating`)."""
        for name in list(body):
            if name not in BATCH_FIELDS:
                raise bad_field(f"{name}: unknown field; the batches API accepts {', '.join(BATCH_FIELDS)}")
            if body[name] is None:
                del body[name]
        file = body.get("input_file_id")
        if not isinstance(file, str) or not file:
            raise bad_field("input_file_id: required, the id of a file uploaded with purpose batch")
        endpoint = body.get("endpoint")
        if endpoint not in BATCH_URLS:
            raise bad_field(f"endpoint: must be one of {', '.join(BATCH_URLS)}, got {endpoint!r}")
        window = body.get("completion_window")
        if window is not None and not isinstance(window, str):
            raise bad_field("completion_window: must be a string (it is deprecated; omit it)")
        auto_delete = body.get("auto_delete_input_file", True)
        if not isinstance(auto_delete, bool):
            raise bad_field("auto_delete_input_file: must be a boolean (true or false)")
        metadata = _metadata(body.get("metadata"))
        stored = self._files.get(owner, file)
        if stored.purpose != "batch":
            raise bad_field(f"input_file_id: {file} is a {stored.purpose} file, not a batch file")
        lines = batch_lines(stored.content)
        now = self._clock()
        self._count += 1
        invalid = [
            {"code": "1210", "line": number, "message": f"url {line['url']} does not match endpoint", "param": "url"}
            for number, line in enumerate(lines, start=1)
            if line["url"] != endpoint
        ][:10]
        if fault is not None and fault.name == "batch_invalid" and not invalid:
            invalid = [{"code": "1210", "line": 1, "message": "the file failed validation (emulated)", "param": None}]
        batch = Batch(
            id=batch_id(f"{owner}\0{file}\0{now}\0{self._count}"),
            owner=owner,
            origin=origin,
            endpoint=endpoint,
            input_file_id=file,
            completion_window=window,
            auto_delete=auto_delete,
            metadata=metadata,
            created=now,
            lines=lines,
            total=len(lines),
            fault=fault,
            invalid=invalid,
        )
        self._batches[batch.id] = batch
        return self.describe(batch)

    async def retrieve(self, owner: str, batch: str) -> dict[str, Any]:
        found = self._get(owner, batch)
        await self._advance(found)
        return self.describe(found)

    async def listing(self, owner: str, query: dict[str, str]) -> dict[str, Any]:
        """`GET /batches`: newest first, paged by `after` and `limit`."""
        mine = [batch for batch in reversed(self._batches.values()) if batch.owner == owner]
        for batch in mine:
            await self._advance(batch)
        return page([self.describe(batch) for batch in mine], query)

    async def cancel(self, owner: str, batch: str) -> dict[str, Any]:
        """`POST /batches/{id}/cancel`: `cancelling` now, `cancelled` a moment later."""
        found = self._get(owner, batch)
        await self._advance(found)
        if found.status in FINAL or found.status == "cancelling":
            raise bad_request(f"batch_id: {batch} is {found.status} and cannot be cancelled")
        found.status = "cancelling"
        found.times["cancelling_at"] = self._clock()
        return self.describe(found)

    def describe(self, batch: Batch) -> dict[str, Any]:
        """The batch object as the wire has it: milliseconds, `request_counts` an object."""
        final = batch.status in FINAL
        started = "in_progress_at" in batch.times
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "input_file_id": batch.input_file_id,
            "completion_window": (batch.completion_window or "") if final else batch.completion_window,
            "status": batch.status,
            "output_file_id": (batch.output_file_id or "") if final else None,
            "error_file_id": (batch.error_file_id or "") if final else None,
            "created_at": _ms(batch.created),
            **{name: _ms(batch.times[name]) if name in batch.times else None for name in _TIMES},
            "request_counts": {
                "total": batch.total,
                "completed": batch.completed if started else None,
                "failed": batch.failed if started else None,
            },
            "metadata": batch.metadata,
            **({"errors": {"object": "list", "data": batch.invalid}} if batch.status == "failed" else {}),
        }

    # -- the lifecycle ---------------------------------------------------------------------

    def _get(self, owner: str, batch: str) -> Batch:
        found = self._batches.get(batch)
        if found is None or found.owner != owner:
            raise ApiError(404, "1214", f"batch_id: no batch {batch!r}")
        return found

    async def _advance(self, batch: Batch) -> None:
        """Bring `batch` to where the clock says it is, computing the lines due by now."""
        if batch.status in FINAL:
            return
        now = self._clock()
        span = self._seconds
        validated = batch.created + VALIDATING_SHARE * span
        running_end = batch.created + RUNNING_END_SHARE * span
        if "cancelling_at" in batch.times:
            cancelled = batch.times["cancelling_at"] + CANCELLING_SHARE * span
            if now >= cancelled:
                self._finish(batch, "cancelled", cancelled)
            return
        if now < validated:
            return
        if batch.invalid:
            batch.status = "failed"
            batch.times["failed_at"] = validated
            batch.lines = []
            self._discard_input(batch)
            return
        batch.status = "in_progress"
        batch.times["in_progress_at"] = validated
        expires = batch.created + EXPIRY_SHARE * span if self._fault_name(batch) == "batch_expired" else None
        horizon = min(now, expires) if expires is not None else now
        total = batch.total
        if horizon >= running_end:
            due = total
        else:
            due = int(total * (horizon - validated) / ((RUNNING_END_SHARE - VALIDATING_SHARE) * span))
        await self._run_lines(batch, due)
        if expires is not None and now >= expires:
            self._finish(batch, "expired", expires)
        elif now >= running_end:
            batch.status = "finalizing"
            batch.times["finalizing_at"] = running_end
            if now >= batch.created + span:
                self._finish(batch, "completed", batch.created + span)

    def _fault_name(self, batch: Batch) -> str | None:
        return batch.fault.name if batch.fault is not None else None

    async def _run_lines(self, batch: Batch, due: int) -> None:
        fault = batch.fault if self._fault_name(batch) == "failed_lines" else None
        while batch.done < due:
            line = batch.lines[batch.done]
            batch.done += 1
            custom_id = line["custom_id"]
            reply: dict[str, Any]
            if fault is not None and (fault.times is None or batch.done <= fault.times):
                status, reply = LINE_FAULT[0], {"error": {"code": LINE_FAULT[1], "message": LINE_FAULT[2]}}
            else:
                status, reply = await self._call(line["url"], json.loads(json.dumps(line["body"])), batch.origin)
            if status == 200:
                if line["url"] == "/v4/chat/completions":
                    reply.pop("object", None)  # the platform's batch output has none
                reply["request_id"] = f"{batch.done}-{custom_id}"
                batch.completed += 1
                target = batch.output
            else:
                batch.failed += 1
                target = batch.errors
            envelope = {"response": {"status_code": status, "body": reply}, "custom_id": custom_id, "id": batch.id}
            target.append((custom_id, json.dumps(envelope, ensure_ascii=False).encode() + b"\n"))

    def _finish(self, batch: Batch, status: str, at: float) -> None:
        batch.status = status
        batch.times[f"{status}_at"] = at
        for lines, attribute, suffix in (
            (batch.output, "output_file_id", "output"),
            (batch.errors, "error_file_id", "error"),
        ):
            if lines:
                # The platform does not keep the input order; neither does the emulator.
                ordered = sorted(lines, key=lambda item: hashlib.sha256(item[0].encode()).digest())
                content = b"".join(line for _, line in ordered)
                stored = self._files.add(batch.owner, f"{batch.id}_{suffix}.jsonl", "batch", content)
                setattr(batch, attribute, stored.id)
        batch.output, batch.errors, batch.lines = [], [], []
        self._discard_input(batch)

    def _discard_input(self, batch: Batch) -> None:
        if batch.auto_delete:
            self._files.discard(batch.input_file_id)


def batch_lines(content: bytes) -> list[dict[str, Any]]:
    """The request lines of a batch file that passed the upload checks."""
    return [json.loads(line) for line in content.split(b"\n") if line.strip()]


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _metadata(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 16:
        raise bad_field("metadata: must be an object of at most 16 key/value pairs")
    for key, item in value.items():
        if len(key) > 64 or not isinstance(item, str) or len(item) > 512:
            raise bad_field("metadata: keys at most 64 characters, values strings of at most 512")
    return value
