"""How one emulator instance behaves: accepted keys, default faults, limits, its clock.

Frozen, so an app's behaviour is fixed when it is created; tests build a new config (cheap)
rather than mutating a shared one.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ..host.errors import ConnectorError
from .errors import ApiError
from .faults import FaultSpec, parse_fault
from .fields import REQUEST_FIELDS
from .models import PLATFORMS

API_KEY_ENV = "ZHIPUAI_API_KEY"
API_KEY_SHAPE = re.compile(r"[^.\s]+\.[^.\s]+")

# 2025-01-01T00:00:00Z: a fixed `created`, so identical requests get byte-identical replies.
DEFAULT_CREATED = 1_735_689_600


class EmulatorConfigError(ConnectorError, ValueError):
    """A configuration the emulator cannot run with; the message names the field."""


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that shapes an emulator's replies.

    api_keys: keys accepted as `Bearer <key>` and used to verify JWTs; empty accepts any key
        of shape `<id>.<secret>` and any well-formed unexpired JWT (its signature unchecked).
    fault: a fault spec (`<fault>[;times=N][;seconds=S]`) applied to every request that does
        not ask for its own; `fault_first_requests` limits it to the first N requests that
        pass authentication and validation.
    retry_after_seconds: when set, every 429 carries `Retry-After` with this many seconds.
    max_prompt_chars: total characters of all messages (or of an image prompt) above which
        a request fails with 1261.
    max_concurrent_requests: when set, API requests beyond this many in flight get 429/1302,
        as the platform limits concurrency per account.
    created: the `created` timestamp of every reply (fixed, for deterministic replies).
    clock: wall clock in epoch seconds: JWT expiry, and the progress of tasks and batches
        (inject a fake clock to move them on without sleeping).
    stream_chunk_tokens: tokens per streamed content chunk.
    stream_chunk_delay: seconds to wait between streamed chunks (0 = as fast as possible).
    allow_null_fields: top-level fields for which `null` is accepted (treated as absent);
        empty by default because the API reference says never to send `null`. Requests from
        either official SDK (`zhipuai` and `zai-sdk` name themselves in `x-request-sdk`) may
        always send `OFFICIAL_SDK_NULL_FIELDS` as null, as both do on every chat call.
    fault_memory: how many recent requests' `times=N` attempt counters are remembered.
    image_memory: how many generated images stay downloadable.
    platform: which platform is emulated, `mainland` (open.bigmodel.cn) or `international`
        (api.z.ai); an endpoint the platform lacks answers 404 there, a mainland-only model id
        is refused (1211), web search has that platform's engines, and chat replies carry no
        `content_filter` there.
    task_seconds: how long a video or async image task stays PROCESSING.
    batch_seconds: how long a batch takes from creation to `completed`.
    """

    api_keys: frozenset[str] = frozenset()
    fault: str | None = None
    fault_first_requests: int | None = None
    retry_after_seconds: float | None = None
    max_prompt_chars: int = 128_000
    max_concurrent_requests: int | None = None
    created: int = DEFAULT_CREATED
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)
    stream_chunk_tokens: int = 4
    stream_chunk_delay: float = 0.0
    allow_null_fields: frozenset[str] = frozenset()
    fault_memory: int = 10_000
    image_memory: int = 4_096
    platform: str = "mainland"
    task_seconds: float = 3.0
    batch_seconds: float = 6.0

    def __post_init__(self) -> None:
        keys = frozenset(_strings(self.api_keys, "api_keys"))
        for key in keys:
            if not API_KEY_SHAPE.fullmatch(key):
                raise EmulatorConfigError("api_keys: every key must look like <id>.<secret> (one '.', no spaces)")
        object.__setattr__(self, "api_keys", keys)
        nullable = frozenset(_strings(self.allow_null_fields, "allow_null_fields"))
        unknown = sorted(nullable - REQUEST_FIELDS)
        if unknown:
            raise EmulatorConfigError(
                f"allow_null_fields: {', '.join(unknown)} is not a request field; "
                f"known fields: {', '.join(sorted(REQUEST_FIELDS))}"
            )
        object.__setattr__(self, "allow_null_fields", nullable)
        self.default_fault()  # fail now, not on the first request
        _at_least(self.fault_first_requests, 0, "fault_first_requests", optional=True)
        _at_least(self.max_concurrent_requests, 1, "max_concurrent_requests", optional=True)
        _at_least(self.max_prompt_chars, 1, "max_prompt_chars")
        _at_least(self.stream_chunk_tokens, 1, "stream_chunk_tokens")
        _at_least(self.fault_memory, 1, "fault_memory")
        _at_least(self.image_memory, 1, "image_memory")
        if self.platform not in PLATFORMS:
            raise EmulatorConfigError(f"platform: must be one of {', '.join(PLATFORMS)}, got {self.platform!r}")
        for name in ("retry_after_seconds", "stream_chunk_delay", "task_seconds", "batch_seconds"):
            value = getattr(self, name)
            valid = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if value is not None and (not valid or value < 0):
                raise EmulatorConfigError(f"{name}: must be a finite number >= 0, got {value!r}")

    def default_fault(self) -> FaultSpec | None:
        """The parsed `fault`, or None."""
        if self.fault is None:
            return None
        try:
            return parse_fault(self.fault, source="fault")
        except ApiError as error:
            raise EmulatorConfigError(error.message) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **settings: object) -> EmulatorConfig:
        """A config whose `api_keys`, when not given, come from `ZHIPUAI_API_KEY`."""
        if not settings.get("api_keys"):
            settings["api_keys"] = api_keys_from_env(environ)
        return cls(**settings)  # type: ignore[arg-type]


OFFICIAL_SDK_NULL_FIELDS = frozenset({"response_format", "thinking"})
# The `x-request-sdk` values of the two official Python SDKs: `zhipuai` and `zai-sdk`.
OFFICIAL_SDKS = frozenset({"zhipu-sdk-python", "z-ai-sdk-python"})


def api_keys_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Keys listed in `ZHIPUAI_API_KEY` (one key, or several separated by commas)."""
    raw = (os.environ if environ is None else environ).get(API_KEY_ENV, "")
    return frozenset(key.strip() for key in raw.split(",") if key.strip())


def _strings(values: Iterable[str], name: str) -> list[str]:
    if isinstance(values, str):
        raise EmulatorConfigError(f"{name}: must be a collection of strings, not one string")
    items = list(values)
    if not all(isinstance(item, str) for item in items):
        raise EmulatorConfigError(f"{name}: every item must be a string")
    return items


def _at_least(value: object, minimum: int, name: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise EmulatorConfigError(f"{name}: must be an integer >= {minimum}, got {value!r}")
