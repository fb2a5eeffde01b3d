"""One call to a route, written once: a sans-IO generator of steps that the two clients run.

A call is a retry loop around attempts; an attempt sends a request, reads a bounded answer and
judges it. All of that — what to send, when to retry and how long to wait, how much to read, the
deadlines, what an answer means — is decided here, in generators that do no I/O. They yield
*steps* (`Send`, `Read`, `Sleep`) and are sent back each step's outcome; `ZhipuClient` performs
the steps with `httpx.Client` and `time.sleep`, `AsyncZhipuClient` with `await`. So the await
points are the only lines written twice (the sans-IO pattern of h11 and hyper-h2).

Outcomes come back as values, never raised into the generator: a `Send` gives the response
(headers read, body not) or the `httpx.RequestError`; a `Read` gives `None` or the failure that
stopped it. The drivers send them from outside any `except` block, so no httpx exception — whose
request holds the `Authorization` header — is ever chained to an error raised here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from zhipu_connector import __version__
from zhipu_connector.host.secrets import Secret
from zhipu_connector.zhipu.auth import AuthMode, make_auth
from zhipu_connector.zhipu.config import (
    ERROR_BODY_BYTES,
    Deadlines,
    Timeouts,
    display_url,
    resolve_base_url,
    resolve_deadlines,
    resolve_max_answer_bytes,
    resolve_timeouts,
)
from zhipu_connector.zhipu.errors import (
    InvalidRequestError,
    MalformedResponseError,
    ZhipuError,
    ZhipuTimeoutError,
    error_from_response,
)
from zhipu_connector.zhipu.protocol import error_for_json_instead_of_stream, read_answer, transport_error
from zhipu_connector.zhipu.retry import RetryPolicy
from zhipu_connector.zhipu.routes import Route
from zhipu_connector.zhipu.sse import ChatStreamReader

logger = logging.getLogger("zhipu_connector.zhipu.client")

_USER_AGENT = f"zhipu-connector/{__version__}"
_STREAM_ACCEPT = "text/event-stream"
_JSON = "application/json"

T = TypeVar("T")


# --- steps ------------------------------------------------------------------------------------


class Send(NamedTuple):
    """Send `request` with `stream=True`; the outcome is the `httpx.Response` or the `httpx.RequestError`."""

    request: httpx.Request


class Read(NamedTuple):
    """Feed the body of `response` to `body` until it says stop, then close the response.

    The outcome is `None`, or the `httpx.RequestError` / `ZhipuError` that stopped the reading.
    """

    response: httpx.Response
    body: BodyReader


class Sleep(NamedTuple):
    """Wait `seconds` before the next attempt; the outcome is `None`."""

    seconds: float


Step = Send | Read | Sleep
#: A call's steps; its return value (`StopIteration.value`) is the call's result.
Steps = Generator[Step, Any, T]


QUEUED_SECONDS = "zhipu_connector.queued_seconds"
"""A response extension: how long the request waited in this process before it was sent.

A limiting transport (`limiting.py`) holds a request until the account has room for it. That
wait is not the platform's time, so the attempt's deadline is moved by it: otherwise a request
queued behind a small account limit could pass its deadline while its answer, already made and
billed, is still being read — and a retry would pay for it twice.
"""


def _moved_by_queueing(deadline: float | None, response: httpx.Response) -> float | None:
    queued = response.extensions.get(QUEUED_SECONDS)
    return deadline + queued if deadline is not None and queued else deadline


# --- bounded reading --------------------------------------------------------------------------


class BodyReader:
    """An answer's bytes gathered up to a cap, and only until the attempt's deadline.

    The cap counts decoded bytes (httpx inflates gzip chunk by chunk), so neither a huge answer
    nor a small one that inflates to gigabytes is held whole: reading stops at the cap. An
    answer that must be whole (2xx) fails there; an error answer (`truncate`) is cut, as only its
    beginning is ever quoted.
    """

    __slots__ = ("_parts", "_size", "_limit", "_truncate", "_deadline", "_core", "_request_id")

    def __init__(
        self, core: ExchangeCore, request_id: str, deadline: float | None, *, limit: int, truncate: bool
    ) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._limit = limit
        self._truncate = truncate
        self._deadline = deadline
        self._core = core
        self._request_id = request_id

    def add(self, chunk: bytes) -> bool:
        """Keep `chunk`; `False` once enough has been read. Raises past the cap or the deadline."""
        self._size += len(chunk)
        if self._size > self._limit:
            if not self._truncate:
                raise self._core.too_large(self._request_id)
            self._parts.append(chunk[: len(chunk) - (self._size - self._limit)])
            return False
        self._parts.append(chunk)
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise self._core.past_deadline(self._request_id)
        return True

    def content(self) -> bytes:
        parts = self._parts
        return parts[0] if len(parts) == 1 else b"".join(parts)


class EventStream:
    """A chat stream's bytes turned into chunks, within the answer cap, the deadline and the idle limit.

    Idle time counts from the last *event*: keep-alive comments arrive as bytes but make no
    event, so a stream of `: ping` lines ends at the idle limit instead of holding the call.
    """

    __slots__ = ("_reader", "_core", "_request_id", "_size", "_deadline", "_idle", "_last_event")

    def __init__(self, core: ExchangeCore, request_id: str, deadline: float | None) -> None:
        self._reader = ChatStreamReader(request_id)
        self._core = core
        self._request_id = request_id
        self._size = 0
        self._deadline = deadline
        self._idle = core.deadlines.stream_idle
        self._last_event = time.monotonic()

    @property
    def done(self) -> bool:
        """`[DONE]` was read, or a failure waits for `finish()` to raise it: read no further."""
        return self._reader.done

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """The chunks that `chunk` completed; raises at the cap, the deadline or the idle limit."""
        self._size += len(chunk)
        if self._size > self._core.max_answer_bytes:
            raise self._core.too_large(self._request_id)
        chunks = self._reader.feed(chunk)
        now = time.monotonic()
        if chunks or self._reader.done:
            self._last_event = now
        elif self._idle is not None and now - self._last_event > self._idle:
            raise self._core.idle_too_long(self._request_id)
        if self._deadline is not None and now > self._deadline:
            raise self._core.past_deadline(self._request_id)
        return chunks

    def finish(self) -> Iterator[dict[str, Any]]:
        """At the end of the bytes: the last chunks, then the error of a stream cut short."""
        return self._reader.finish()

    def transport_error(self, exc: httpx.RequestError) -> ZhipuError:
        """The error for a failure of the connection in the middle of the stream."""
        read = self._core.timeouts.read
        if isinstance(exc, httpx.ReadTimeout) and self._idle is not None and (read is None or self._idle < read):
            if self._deadline is None or time.monotonic() < self._deadline - 0.01:
                return self._core.idle_too_long(self._request_id)
        return self._core.transport_error(exc, self._request_id, self._deadline)


# --- the shared core --------------------------------------------------------------------------


class ExchangeCore:
    """What both clients share: settings, the request builder and the call generators. No I/O."""

    _http: httpx.Client | httpx.AsyncClient  # set by each client

    def __init__(
        self,
        api_key: Secret | str,
        base_url: str | None,
        *,
        auth: AuthMode | str,
        timeout: Timeouts | httpx.Timeout | float | None,
        deadline: Deadlines | float | None,
        max_answer_bytes: int | None,
        max_retries: int,
        random: Callable[[], float],
        clock: Callable[[], float],
        accept_language: str | None = None,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self._auth = make_auth(api_key, auth, clock=clock)
        self.auth_mode: AuthMode = self._auth.mode
        self.timeouts = resolve_timeouts(timeout)
        self.deadlines = resolve_deadlines(deadline)
        self.max_answer_bytes = resolve_max_answer_bytes(max_answer_bytes)
        self.retry_policy = RetryPolicy(max_retries=max_retries, random=random, clock=clock)
        self._host = urlsplit(self.base_url).hostname or self.base_url
        # Parsed once per route: httpx would otherwise parse the URL string again on every call.
        self._urls: dict[str, httpx.URL] = {}
        phases = (self.timeouts.connect, self.timeouts.read, self.timeouts.write, self.timeouts.pool)
        self._longest_wait = float("inf") if None in phases else max(p for p in phases if p is not None)
        self._constant_headers: dict[str, str] = {
            "Content-Type": _JSON,
            "Accept": _JSON,
            "User-Agent": _USER_AGENT,
        }
        if accept_language:  # the language of the international platform's error messages
            self._constant_headers["Accept-Language"] = accept_language
        if self._auth.constant:
            self._constant_headers["Authorization"] = self._auth.header()

    # --- the calls, as steps ------------------------------------------------------------------

    def call_steps(
        self, route: Route, payload: bytes | None, request_id: str, path_params: Mapping[str, str] | None
    ) -> Steps[dict[str, Any]]:
        """A whole call: attempts until an answer passes the route's check, or a final error."""
        url = self.url(route, path_params)

        def attempt(deadline: float | None) -> Generator[Step, Any, dict[str, Any] | ZhipuError]:
            outcome = yield Send(self._request(route.method, url, payload, self._headers(), deadline))
            if not isinstance(outcome, httpx.Response):
                return self.transport_error(outcome, request_id, deadline)
            deadline = _moved_by_queueing(deadline, outcome)
            status = outcome.status_code
            ok = 200 <= status < 300
            body = self._body(request_id, deadline, ok)
            failure = yield Read(outcome, body)
            if failure is not None:
                return self._reading_error(failure, request_id, deadline)
            if not ok:
                return self._error_for_status(status, body.content(), outcome.headers, request_id)
            try:
                return read_answer(route.answer, body.content(), status, request_id)
            except ZhipuError as exc:
                return exc

        return self._retried(request_id, attempt)

    def stream_steps(
        self, route: Route, payload: bytes | None, request_id: str, path_params: Mapping[str, str] | None
    ) -> Steps[tuple[httpx.Response, EventStream]]:
        """Attempts until a 2xx event stream starts; the open response and the reader for its bytes.

        Failures before the stream starts are retried like any call; once it has started,
        nothing is (a reply cannot be resumed, and sending again would bill a second one).
        """
        url = self.url(route, path_params)
        idle = self.deadlines.stream_idle

        def attempt(
            deadline: float | None,
        ) -> Generator[Step, Any, tuple[httpx.Response, EventStream] | ZhipuError]:
            request = self._request(route.method, url, payload, self._stream_headers(), deadline, idle)
            outcome = yield Send(request)
            if not isinstance(outcome, httpx.Response):
                return self.transport_error(outcome, request_id, deadline)
            deadline = _moved_by_queueing(deadline, outcome)
            status = outcome.status_code
            ok = 200 <= status < 300
            if ok and not outcome.headers.get("content-type", "").startswith(_JSON):
                return outcome, EventStream(self, request_id, deadline)
            body = self._body(request_id, deadline, False)
            failure = yield Read(outcome, body)
            if failure is not None:
                return self._reading_error(failure, request_id, deadline)
            if ok:
                return error_for_json_instead_of_stream(body.content(), status, request_id)
            return self._error_for_status(status, body.content(), outcome.headers, request_id)

        return self._retried(request_id, attempt)

    def _retried(
        self, request_id: str, attempt: Callable[[float | None], Generator[Step, Any, T | ZhipuError]]
    ) -> Steps[T]:
        """Run `attempt` until it returns a result, retrying its errors as the policy allows.

        Each attempt gets its own deadline, never later than the call's; no retry starts whose
        wait would end past the call's deadline.
        """
        call_deadline = self._deadline_in(self.deadlines.call)
        retries = 0
        while True:
            attempt_deadline = self._deadline_in(self.deadlines.attempt)
            if call_deadline is not None and (attempt_deadline is None or call_deadline < attempt_deadline):
                attempt_deadline = call_deadline
            outcome = yield from attempt(attempt_deadline)
            if not isinstance(outcome, ZhipuError):
                return outcome
            delay = self._delay_before_retry(retries, outcome, call_deadline, request_id)
            if delay is None:
                raise self._final_error(outcome, retries + 1)
            yield Sleep(delay)
            retries += 1

    # --- per-request pieces -------------------------------------------------------------------

    def url(self, route: Route, path_params: Mapping[str, str] | None = None) -> httpx.URL:
        """The route's URL on this client's base URL, its `{parameters}` filled and quoted."""
        if not route.templated:
            url = self._urls.get(route.name)
            if url is None:
                url = self._urls[route.name] = httpx.URL(self.base_url + route.path)
            return url
        params = path_params or {}
        try:
            path = route.path.format_map({name: quote(str(value), safe="") for name, value in params.items()})
        except KeyError as missing:
            raise InvalidRequestError(f"{route.method} {route.path} needs the path parameter {missing}") from None
        return httpx.URL(self.base_url + path)

    def _request(
        self,
        method: str,
        url: httpx.URL,
        payload: bytes | None,
        headers: dict[str, str] | None,
        deadline: float | None,
        idle: float | None = None,
    ) -> httpx.Request:
        """The request, its waits shortened to what the deadline (and a stream's idle limit) leave."""
        request = self._http.build_request(method, url, content=payload, headers=headers)
        if deadline is not None or idle is not None:
            left = float("inf") if deadline is None else max(deadline - time.monotonic(), 0.001)
            if idle is not None and idle < left:
                read_left = idle
            else:
                read_left = left
            if left < self._longest_wait or idle is not None:
                t = self.timeouts
                request.extensions["timeout"] = {
                    "connect": _shorter(t.connect, left),
                    "read": _shorter(t.read, read_left),
                    "write": _shorter(t.write, left),
                    "pool": _shorter(t.pool, left),
                }
        return request

    def _headers(self) -> dict[str, str] | None:
        """Headers to add to one request: nothing in API-key mode (they are on the pool)."""
        if self._auth.constant:
            return None
        return {"Authorization": self._auth.header()}

    def _stream_headers(self) -> dict[str, str]:
        headers = {"Accept": _STREAM_ACCEPT}
        if not self._auth.constant:
            headers["Authorization"] = self._auth.header()
        return headers

    def _body(self, request_id: str, deadline: float | None, ok: bool) -> BodyReader:
        if ok:
            return BodyReader(self, request_id, deadline, limit=self.max_answer_bytes, truncate=False)
        return BodyReader(self, request_id, deadline, limit=ERROR_BODY_BYTES, truncate=True)

    @staticmethod
    def _deadline_in(seconds: float | None) -> float | None:
        return None if seconds is None else time.monotonic() + seconds

    # --- errors -------------------------------------------------------------------------------

    def _error_for_status(self, status: int, content: bytes, headers: httpx.Headers, request_id: str) -> ZhipuError:
        error = error_from_response(status, content, request_id)
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            error.retry_after = self.retry_policy.parse_retry_after(retry_after)
        return error

    def _reading_error(self, failure: Exception, request_id: str, deadline: float | None) -> ZhipuError:
        if isinstance(failure, ZhipuError):
            return failure
        assert isinstance(failure, httpx.RequestError)
        return self.transport_error(failure, request_id, deadline)

    def transport_error(self, exc: httpx.RequestError, request_id: str, deadline: float | None = None) -> ZhipuError:
        """What a user should read when httpx could not complete the exchange (or ran out of time)."""
        if isinstance(exc, httpx.TimeoutException) and deadline is not None and time.monotonic() >= deadline - 0.01:
            return self.past_deadline(request_id)
        return transport_error(exc, request_id, self._host, self.timeouts)

    def too_large(self, request_id: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"the answer from {self._host} is larger than the {self.max_answer_bytes} bytes a client reads "
            "(max_answer_bytes); it was not read further",
            status=200,
            request_id=request_id,
        )

    def past_deadline(self, request_id: str) -> ZhipuTimeoutError:
        d = self.deadlines
        return ZhipuTimeoutError(
            f"the call to {self._host} ran past its deadline ({_seconds(d.attempt)} per attempt, "
            f"{_seconds(d.call)} per call, retries included) while the answer was still arriving",
            request_id=request_id,
        )

    def idle_too_long(self, request_id: str) -> ZhipuTimeoutError:
        return ZhipuTimeoutError(
            f"the event stream from {self._host} sent no event for {_seconds(self.deadlines.stream_idle)} "
            "(keep-alive comments do not count): the stream idle limit",
            request_id=request_id,
        )

    def _delay_before_retry(
        self, retries_done: int, error: ZhipuError, call_deadline: float | None, request_id: str
    ) -> float | None:
        delay = self.retry_policy.delay_before_retry(retries_done, error)
        if delay is not None and call_deadline is not None and time.monotonic() + delay >= call_deadline:
            delay = None
        # INFO, not WARNING: a retry that then succeeds is routine, and a batch hitting a rate
        # limit must not flood stderr through logging's last-resort handler.
        if delay is not None and logger.isEnabledFor(logging.INFO):
            logger.info(
                "Zhipu call %s failed (%s); retry %d of %d in %.2f s",
                request_id,
                error,
                retries_done + 1,
                self.retry_policy.max_retries,
                delay,
            )
        return delay

    @staticmethod
    def _final_error(error: ZhipuError, attempts: int) -> ZhipuError:
        """The error to raise, with the attempt count; explains a 1231 caused by our own retry."""
        if attempts > 1 and error.code == "1231":
            explained = InvalidRequestError(
                f"{error.message}; an earlier attempt of this call (retried after a timeout or "
                "connection failure) probably reached the platform, which refuses the same "
                "request_id twice rather than run the request again",
                status=error.status,
                code=error.code,
                request_id=error.request_id,
            )
            explained.retry_after = error.retry_after
            error = explained
        error.attempts = attempts
        return error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={display_url(self.base_url)!r}, auth={self.auth_mode!r})"


def _shorter(phase: float | None, left: float) -> float | None:
    if left == float("inf"):
        return phase
    return left if phase is None or left < phase else phase


def _seconds(value: float | None) -> str:
    return "no limit" if value is None else f"{value:g} s"
