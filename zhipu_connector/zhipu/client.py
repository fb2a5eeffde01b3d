"""`ZhipuClient` and `AsyncZhipuClient`: the one way this package talks HTTP to the Zhipu API.

Every decision of a call — the URL from the route table, headers, authorization, the retry
loop, deadlines, the answer cap and what an answer means — is made once, in the sans-IO
generators of `exchange.py`. The two classes here only perform the steps those generators
yield: `ZhipuClient` with `httpx.Client` and `time.sleep`, `AsyncZhipuClient` with `await`.

Any route of `routes.ROUTES` is called the same way: `client.call(route, body)` for an answer,
`client.stream(route, body)` for a route that streams. `chat`, `chat_stream` and
`generate_image` are shorthands for the two routes the actions use.

Each client owns one httpx connection pool for its lifetime: create it once, share it across
calls (and threads, or tasks), close it at the end — `with ZhipuClient(...) as client:`.

The key goes into one header and nowhere else: not into a repr, an exception or a log line.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Generator, Mapping
from typing import Any, Generic, TypeVar

import anyio
import httpx

from zhipu_connector.host.secrets import Secret
from zhipu_connector.zhipu.auth import AuthMode
from zhipu_connector.zhipu.config import Deadlines, Timeouts
from zhipu_connector.zhipu.errors import ZhipuError
from zhipu_connector.zhipu.exchange import EventStream, ExchangeCore, Read, Send, Step, Steps
from zhipu_connector.zhipu.protocol import prepare_body
from zhipu_connector.zhipu.retry import DEFAULT_MAX_RETRIES
from zhipu_connector.zhipu.routes import CHAT, IMAGES, Route
from zhipu_connector.zhipu.transport import AsyncSpreadTransport, SpreadTransport

# Zhipu bounds the requests in flight per account itself (429, code 1302, retried), so a pool
# smaller than the caller's concurrency only makes calls queue for a socket (and fail with a
# pool timeout when calls are long). Connections open on demand and close after 5 s idle, so
# a large pool costs nothing until used; 500 stays below the 1,024 open files many systems
# allow a process.
DEFAULT_LIMITS = httpx.Limits(max_connections=500, max_keepalive_connections=500)

T = TypeVar("T")
AnswerT = TypeVar("AnswerT")
StreamT = TypeVar("StreamT")


class _Shorthands(Generic[AnswerT, StreamT]):
    """`chat`, `chat_stream` and `generate_image`, written once for both clients over `call`/`stream`."""

    def call(
        self,
        route: Route,
        body: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
        path_params: Mapping[str, str] | None = None,
    ) -> AnswerT:
        raise NotImplementedError

    def stream(
        self,
        route: Route,
        body: dict[str, Any],
        *,
        request_id: str | None = None,
        path_params: Mapping[str, str] | None = None,
    ) -> StreamT:
        raise NotImplementedError

    def chat(self, body: dict[str, Any]) -> AnswerT:
        """`POST /chat/completions`; the parsed completion, or a `ZhipuError`."""
        return self.call(CHAT, body)

    def chat_stream(self, body: dict[str, Any]) -> StreamT:
        """`POST /chat/completions` with `stream: true`; each parsed chunk (see `stream`)."""
        return self.stream(CHAT, body)

    def generate_image(self, body: dict[str, Any]) -> AnswerT:
        """`POST /images/generations`; the parsed answer (`data[].url`), or a `ZhipuError`."""
        return self.call(IMAGES, body)


class ZhipuClient(ExchangeCore, _Shorthands[dict[str, Any], Generator[dict[str, Any], None, None]]):
    """The synchronous client. Thread-safe; keep one per key and base URL."""

    _http: httpx.Client

    def __init__(
        self,
        api_key: Secret | str,
        base_url: str | None = None,
        *,
        auth: AuthMode | str = "api_key",
        timeout: Timeouts | httpx.Timeout | float | None = None,
        deadline: Deadlines | float | None = None,
        max_answer_bytes: int | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.BaseTransport | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.time,
        accept_language: str | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            auth=auth,
            timeout=timeout,
            deadline=deadline,
            max_answer_bytes=max_answer_bytes,
            max_retries=max_retries,
            random=random,
            clock=clock,
            accept_language=accept_language,
        )
        self._sleep = sleep
        self._http = httpx.Client(
            headers=self._constant_headers,
            timeout=self.timeouts.to_httpx(),
            # One pool per connection, as for the async client: many threads calling one client
            # would otherwise meet httpcore's pool cost (see transport.py).
            transport=transport if transport is not None else SpreadTransport(limits),
            limits=limits,
            follow_redirects=False,
        )

    def call(
        self,
        route: Route,
        body: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
        path_params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send `body` to `route`; its answer, checked against the route's shape, or a `ZhipuError`.

        `request_id` (the action context's, say) is used when the body has none; see
        `protocol.prepare_body`. A route without a body (`GET`) takes `body=None`.
        """
        payload, request_id = prepare_body(body, route, stream=False, request_id=request_id)
        return self._run(self.call_steps(route, payload, request_id, path_params))

    def stream(
        self,
        route: Route,
        body: dict[str, Any],
        *,
        request_id: str | None = None,
        path_params: Mapping[str, str] | None = None,
    ) -> Generator[dict[str, Any], None, None]:
        """Send `body` with `stream: true` to a route that streams; yields each parsed chunk.

        Failures before the first chunk are retried like any call; once chunks have been
        yielded nothing is retried (the reply cannot be resumed), and a failure — an error event,
        a broken connection, a stream cut before its end, the idle limit — is raised where it
        happens. The request is sent when iteration starts; leaving the loop early closes the
        connection.
        """
        payload, request_id = prepare_body(body, route, stream=True, request_id=request_id)
        response, events = self._run(self.stream_steps(route, payload, request_id, path_params))
        try:
            yield from self._chunks(response, events)
        finally:
            response.close()

    def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self._http.close()

    def __enter__(self) -> ZhipuClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the steps' I/O -----------------------------------------------------------------------

    def _run(self, steps: Steps[T]) -> T:
        outcome: Any = None
        while True:
            try:
                step = steps.send(outcome)
            except StopIteration as stop:
                return stop.value
            outcome = self._perform(step)

    def _perform(self, step: Step) -> Any:
        if isinstance(step, Send):
            try:
                return self._http.send(step.request, stream=True)
            except httpx.RequestError as exc:
                return exc
        if isinstance(step, Read):
            response = step.response
            try:
                for chunk in response.iter_bytes():
                    if not step.body.add(chunk):
                        break
            except (httpx.RequestError, ZhipuError) as exc:
                return exc
            finally:
                response.close()
            return None
        self._sleep(step.seconds)
        return None

    @staticmethod
    def _chunks(response: httpx.Response, events: EventStream) -> Generator[dict[str, Any], None, None]:
        error: ZhipuError | None = None
        try:
            for data in response.iter_bytes():
                yield from events.feed(data)
                if events.done:
                    break
        except httpx.RequestError as exc:
            error = events.transport_error(exc)
        if error is not None:
            raise error
        yield from events.finish()


class AsyncZhipuClient(
    ExchangeCore, _Shorthands[Coroutine[Any, Any, dict[str, Any]], AsyncGenerator[dict[str, Any], None]]
):
    """The asyncio (and trio, through anyio) client. Keep one per key and base URL."""

    _http: httpx.AsyncClient

    def __init__(
        self,
        api_key: Secret | str,
        base_url: str | None = None,
        *,
        auth: AuthMode | str = "api_key",
        timeout: Timeouts | httpx.Timeout | float | None = None,
        deadline: Deadlines | float | None = None,
        max_answer_bytes: int | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.time,
        accept_language: str | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            auth=auth,
            timeout=timeout,
            deadline=deadline,
            max_answer_bytes=max_answer_bytes,
            max_retries=max_retries,
            random=random,
            clock=clock,
            accept_language=accept_language,
        )
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            headers=self._constant_headers,
            timeout=self.timeouts.to_httpx(),
            # One pool per connection: httpcore's single pool costs per call what grows with
            # the square of its size (see transport.py).
            transport=transport if transport is not None else AsyncSpreadTransport(limits),
            limits=limits,
            follow_redirects=False,
        )

    async def call(
        self,
        route: Route,
        body: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
        path_params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The async `ZhipuClient.call`."""
        payload, request_id = prepare_body(body, route, stream=False, request_id=request_id)
        return await self._run(self.call_steps(route, payload, request_id, path_params))

    async def stream(
        self,
        route: Route,
        body: dict[str, Any],
        *,
        request_id: str | None = None,
        path_params: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The async `ZhipuClient.stream`.

        To release the connection promptly when leaving the loop early, close the iterator
        (`contextlib.aclosing(client.stream(route, body))`).
        """
        payload, request_id = prepare_body(body, route, stream=True, request_id=request_id)
        response, events = await self._run(self.stream_steps(route, payload, request_id, path_params))
        try:
            error: ZhipuError | None = None
            try:
                async for data in response.aiter_bytes():
                    for chunk in events.feed(data):
                        yield chunk
                    if events.done:
                        break
            except httpx.RequestError as exc:
                error = events.transport_error(exc)
            if error is not None:
                raise error
            for chunk in events.finish():
                yield chunk
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncZhipuClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- the steps' I/O -----------------------------------------------------------------------

    async def _run(self, steps: Steps[T]) -> T:
        outcome: Any = None
        while True:
            try:
                step = steps.send(outcome)
            except StopIteration as stop:
                return stop.value
            outcome = await self._perform(step)

    async def _perform(self, step: Step) -> Any:
        if isinstance(step, Send):
            try:
                return await self._http.send(step.request, stream=True)
            except httpx.RequestError as exc:
                return exc
        if isinstance(step, Read):
            response = step.response
            try:
                async for chunk in response.aiter_bytes():
                    if not step.body.add(chunk):
                        break
            except (httpx.RequestError, ZhipuError) as exc:
                return exc
            finally:
                await response.aclose()
            return None
        await self._sleep(step.seconds)
        return None
