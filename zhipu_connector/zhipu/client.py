"""`ZhipuClient` and `AsyncZhipuClient`: the one way this package talks HTTP to the Zhipu API.

Both share `_ClientCore` — URLs, headers, authorization, timeouts, the retry policy, and the
interpretation of every answer (in `protocol.py`, `errors.py` and `sse.py`). Only sending and
sleeping differ between them, so each retry loop is a dozen lines written twice.

Each client owns one httpx connection pool for its lifetime: create it once, share it across
calls (and threads, or tasks), close it at the end — `with ZhipuClient(...) as client:`.

The key goes into one header and nowhere else: not into a repr, an exception or a log line.
"""

from __future__ import annotations

import logging
import random as _random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from zhipu_connector import __version__
from zhipu_connector.host.secrets import Secret
from zhipu_connector.zhipu.auth import AuthMode, make_auth
from zhipu_connector.zhipu.config import (
    CHAT_COMPLETIONS_PATH,
    IMAGE_GENERATIONS_PATH,
    Timeouts,
    display_url,
    resolve_base_url,
    resolve_timeouts,
)
from zhipu_connector.zhipu.errors import InvalidRequestError, ZhipuError, error_from_response
from zhipu_connector.zhipu.protocol import (
    AnswerReader,
    error_for_json_instead_of_stream,
    prepare_body,
    read_chat,
    read_image,
    transport_error,
)
from zhipu_connector.zhipu.retry import DEFAULT_MAX_RETRIES, RetryPolicy
from zhipu_connector.zhipu.sse import aiter_chat_chunks, iter_chat_chunks
from zhipu_connector.zhipu.transport import AsyncSpreadTransport

logger = logging.getLogger("zhipu_connector.zhipu.client")

# Zhipu bounds the requests in flight per account itself (429, code 1302, retried), so a pool
# smaller than the caller's concurrency only makes calls queue for a socket (and fail with a
# pool timeout when calls are long). Connections open on demand and close after 5 s idle, so
# a large pool costs nothing until used; 500 stays below the 1,024 open files many systems
# allow a process.
DEFAULT_LIMITS = httpx.Limits(max_connections=500, max_keepalive_connections=500)
_USER_AGENT = f"zhipu-connector/{__version__}"
_STREAM_ACCEPT = "text/event-stream"


class _ClientCore:
    """Everything both clients share; no I/O happens here."""

    def __init__(
        self,
        api_key: Secret | str,
        base_url: str | None,
        *,
        auth: AuthMode | str,
        timeout: Timeouts | httpx.Timeout | float | None,
        max_retries: int,
        random: Callable[[], float],
        clock: Callable[[], float],
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self._auth = make_auth(api_key, auth, clock=clock)
        self.auth_mode: AuthMode = self._auth.mode
        self.timeouts = resolve_timeouts(timeout)
        self.retry_policy = RetryPolicy(max_retries=max_retries, random=random, clock=clock)
        self._host = urlsplit(self.base_url).hostname or self.base_url
        # Parsed once: httpx would otherwise parse the URL string again on every call.
        self._chat_url = httpx.URL(self.base_url + CHAT_COMPLETIONS_PATH)
        self._image_url = httpx.URL(self.base_url + IMAGE_GENERATIONS_PATH)
        self._constant_headers: dict[str, str] = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        if self._auth.constant:
            self._constant_headers["Authorization"] = self._auth.header()

    # --- per-request pieces -------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str] | None:
        """Headers to add to one request: nothing in API-key mode (they are on the pool)."""
        if self._auth.constant:
            return None
        return {"Authorization": self._auth.header()}

    def _stream_headers(self) -> dict[str, str]:
        headers = {"Accept": _STREAM_ACCEPT}
        if not self._auth.constant:
            headers["Authorization"] = self._auth.header()
        return headers

    def _error_for_status(self, status: int, content: bytes, headers: httpx.Headers, request_id: str) -> ZhipuError:
        error = error_from_response(status, content, request_id)
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            error.retry_after = self.retry_policy.parse_retry_after(retry_after)
        return error

    def _transport_error(self, exc: httpx.RequestError, request_id: str) -> ZhipuError:
        return transport_error(exc, request_id, self._host, self.timeouts)

    def _delay_before_retry(self, retries_done: int, error: ZhipuError) -> float | None:
        delay = self.retry_policy.delay_before_retry(retries_done, error)
        # INFO, not WARNING: a retry that then succeeds is routine, and a batch hitting a rate
        # limit must not flood stderr through logging's last-resort handler.
        if delay is not None and logger.isEnabledFor(logging.INFO):
            logger.info(
                "Zhipu call failed (%s); retry %d of %d in %.2f s",
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


class ZhipuClient(_ClientCore):
    """The synchronous client. Thread-safe; keep one per key and base URL."""

    def __init__(
        self,
        api_key: Secret | str,
        base_url: str | None = None,
        *,
        auth: AuthMode | str = "api_key",
        timeout: Timeouts | httpx.Timeout | float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.BaseTransport | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            random=random,
            clock=clock,
        )
        self._sleep = sleep
        self._http = httpx.Client(
            headers=self._constant_headers,
            timeout=self.timeouts.to_httpx(),
            transport=transport,
            limits=limits,
            follow_redirects=False,
        )

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /chat/completions`; the parsed completion, or a `ZhipuError`."""
        payload, request_id = prepare_body(body, stream=False)
        return self._call(self._chat_url, payload, request_id, read_chat)

    def generate_image(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /images/generations`; the parsed answer (`data[].url`), or a `ZhipuError`."""
        payload, request_id = prepare_body(body, stream=False)
        return self._call(self._image_url, payload, request_id, read_image)

    def chat_stream(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """`POST /chat/completions` with `stream: true`; yields each parsed chunk.

        Failures before the first chunk are retried like any call; once chunks have been
        yielded nothing is retried (the reply cannot be resumed), and a failure — an error event,
        a broken connection, a stream cut before its end — is raised where it happens.
        The request is sent when iteration starts; leaving the loop early closes the connection.
        """
        payload, request_id = prepare_body(body, stream=True)
        response = self._open_stream(payload, request_id)
        try:
            yield from iter_chat_chunks(self._guarded_bytes(response, request_id), request_id)
        finally:
            response.close()

    def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self._http.close()

    def __enter__(self) -> ZhipuClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- I/O ----------------------------------------------------------------------------

    def _call(self, url: httpx.URL, payload: bytes, request_id: str, read: AnswerReader) -> dict[str, Any]:
        retries = 0
        while True:
            try:
                response = self._http.post(url, content=payload, headers=self._auth_headers())
            except httpx.RequestError as exc:
                error = self._transport_error(exc, request_id)
            else:
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        return read(response.content, status, request_id)
                    except ZhipuError as exc:
                        error = exc
                else:
                    error = self._error_for_status(status, response.content, response.headers, request_id)
            delay = self._delay_before_retry(retries, error)
            if delay is None:
                raise self._final_error(error, retries + 1)
            self._sleep(delay)
            retries += 1

    def _open_stream(self, payload: bytes, request_id: str) -> httpx.Response:
        """Send until a 2xx event stream starts (retrying like `_call`) and return it, open."""
        retries = 0
        while True:
            request = self._http.build_request("POST", self._chat_url, content=payload, headers=self._stream_headers())
            try:
                response = self._http.send(request, stream=True)
            except httpx.RequestError as exc:
                error = self._transport_error(exc, request_id)
            else:
                error = self._check_stream_start(response, request_id)
                if error is None:
                    return response
            delay = self._delay_before_retry(retries, error)
            if delay is None:
                raise self._final_error(error, retries + 1)
            self._sleep(delay)
            retries += 1

    def _check_stream_start(self, response: httpx.Response, request_id: str) -> ZhipuError | None:
        """`None` for a 2xx event stream; otherwise the error, with the response read and closed."""
        status = response.status_code
        is_json = response.headers.get("content-type", "").startswith("application/json")
        if 200 <= status < 300 and not is_json:
            return None
        try:
            content = response.read()
        except httpx.RequestError as exc:
            return self._transport_error(exc, request_id)
        finally:
            response.close()
        if 200 <= status < 300:
            return error_for_json_instead_of_stream(content, status, request_id)
        return self._error_for_status(status, content, response.headers, request_id)

    def _guarded_bytes(self, response: httpx.Response, request_id: str) -> Iterator[bytes]:
        """The body's chunks, with httpx's mid-stream failures turned into `ZhipuError`s."""
        error: ZhipuError | None = None
        try:
            yield from response.iter_bytes()
        except httpx.RequestError as exc:
            error = self._transport_error(exc, request_id)
        if error is not None:
            raise error


class AsyncZhipuClient(_ClientCore):
    """The asyncio (and trio, through anyio) client. Keep one per key and base URL."""

    def __init__(
        self,
        api_key: Secret | str,
        base_url: str | None = None,
        *,
        auth: AuthMode | str = "api_key",
        timeout: Timeouts | httpx.Timeout | float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            random=random,
            clock=clock,
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

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /chat/completions`; the parsed completion, or a `ZhipuError`."""
        payload, request_id = prepare_body(body, stream=False)
        return await self._call(self._chat_url, payload, request_id, read_chat)

    async def generate_image(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /images/generations`; the parsed answer (`data[].url`), or a `ZhipuError`."""
        payload, request_id = prepare_body(body, stream=False)
        return await self._call(self._image_url, payload, request_id, read_image)

    async def chat_stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The async twin of `ZhipuClient.chat_stream`.

        To release the connection promptly when leaving the loop early, close the iterator
        (`contextlib.aclosing(client.chat_stream(body))`).
        """
        payload, request_id = prepare_body(body, stream=True)
        response = await self._open_stream(payload, request_id)
        byte_chunks = self._guarded_bytes(response, request_id)
        try:
            async with aclosing(aiter_chat_chunks(byte_chunks, request_id)) as chunks:
                async for chunk in chunks:
                    yield chunk
        finally:
            await byte_chunks.aclose()
            await response.aclose()

    async def aclose(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncZhipuClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- I/O ----------------------------------------------------------------------------

    async def _call(self, url: httpx.URL, payload: bytes, request_id: str, read: AnswerReader) -> dict[str, Any]:
        retries = 0
        while True:
            try:
                response = await self._http.post(url, content=payload, headers=self._auth_headers())
            except httpx.RequestError as exc:
                error = self._transport_error(exc, request_id)
            else:
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        return read(response.content, status, request_id)
                    except ZhipuError as exc:
                        error = exc
                else:
                    error = self._error_for_status(status, response.content, response.headers, request_id)
            delay = self._delay_before_retry(retries, error)
            if delay is None:
                raise self._final_error(error, retries + 1)
            await self._sleep(delay)
            retries += 1

    async def _open_stream(self, payload: bytes, request_id: str) -> httpx.Response:
        retries = 0
        while True:
            request = self._http.build_request("POST", self._chat_url, content=payload, headers=self._stream_headers())
            try:
                response = await self._http.send(request, stream=True)
            except httpx.RequestError as exc:
                error = self._transport_error(exc, request_id)
            else:
                error = await self._check_stream_start(response, request_id)
                if error is None:
                    return response
            delay = self._delay_before_retry(retries, error)
            if delay is None:
                raise self._final_error(error, retries + 1)
            await self._sleep(delay)
            retries += 1

    async def _check_stream_start(self, response: httpx.Response, request_id: str) -> ZhipuError | None:
        status = response.status_code
        is_json = response.headers.get("content-type", "").startswith("application/json")
        if 200 <= status < 300 and not is_json:
            return None
        try:
            content = await response.aread()
        except httpx.RequestError as exc:
            return self._transport_error(exc, request_id)
        finally:
            await response.aclose()
        if 200 <= status < 300:
            return error_for_json_instead_of_stream(content, status, request_id)
        return self._error_for_status(status, content, response.headers, request_id)

    async def _guarded_bytes(self, response: httpx.Response, request_id: str) -> AsyncIterator[bytes]:
        error: ZhipuError | None = None
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        except httpx.RequestError as exc:
            error = self._transport_error(exc, request_id)
        if error is not None:
            raise error
