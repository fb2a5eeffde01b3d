"""Request bodies out, answers in: everything about a call that does not depend on sync or async.

Both clients call these functions around their one differing line (`send`), so the rules for
what goes on the wire and what counts as a good answer are written once. They are kept lean on
purpose — plain `json`, `type()` checks, no models — because every workflow step passes here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import httpx

from zhipu_connector.host.secrets import scrub
from zhipu_connector.zhipu.config import Timeouts
from zhipu_connector.zhipu.errors import (
    InvalidRequestError,
    MalformedResponseError,
    ZhipuConnectionError,
    ZhipuError,
    ZhipuTimeoutError,
    content_filtered,
    error_from_payload,
    excerpt,
)

REQUEST_ID_MIN_LENGTH = 6
REQUEST_ID_MAX_LENGTH = 64

#: Reads a 2xx body into the result a method returns, raising `ZhipuError` if it is not one.
AnswerReader = Callable[[bytes, int, str], dict[str, Any]]

# What `json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)` uses,
# built once: `json.dumps` with non-default options constructs a new encoder on every call.
# Stateless between calls, so one instance serves every thread.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def new_request_id() -> str:
    """32 random hex characters (the host's format, within the API's 6–64), without a UUID object."""
    return os.urandom(16).hex()


def prepare_body(body: dict[str, Any], *, stream: bool) -> tuple[bytes, str]:
    """The JSON bytes to send and the call's request id (the caller's, or a fresh one).

    The caller's dict is never modified: a field to add goes into a shallow copy. The same
    bytes are sent on every retry, so every attempt carries the same `request_id`.
    """
    if not isinstance(body, dict):
        raise InvalidRequestError(f"the request body must be a JSON object (a dict), got {type(body).__name__}")
    request_id = body.get("request_id")
    if request_id is None:
        request_id = new_request_id()
        body = {**body, "request_id": request_id}
    elif type(request_id) is not str or not REQUEST_ID_MIN_LENGTH <= len(request_id) <= REQUEST_ID_MAX_LENGTH:
        raise InvalidRequestError(
            f"request_id must be a string of {REQUEST_ID_MIN_LENGTH}–{REQUEST_ID_MAX_LENGTH} characters"
        )
    if stream:
        if body.get("stream") is not True:
            body = {**body, "stream": True}
    elif body.get("stream"):
        raise InvalidRequestError("stream is true in the body of a non-streaming call; use chat_stream() to stream")
    try:
        payload = _ENCODER.encode(body).encode()
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError too
        raise InvalidRequestError(
            f"the request body cannot be sent as JSON: {scrub(str(exc))}", request_id=request_id
        ) from None
    return payload, request_id


def read_chat(content: bytes, status: int, request_id: str) -> dict[str, Any]:
    """A chat completion: `{..., choices: [{message: {...}, finish_reason}, ...]}`."""
    data = _load(content, status, request_id, "chat completion")
    if type(data) is dict:
        choices = data.get("choices")
        if type(choices) is list and choices:
            for choice in choices:
                if type(choice) is not dict or type(choice.get("message")) is not dict:
                    raise _malformed("a chat completion choice has no 'message' object", status, request_id)
                if choice.get("finish_reason") == "sensitive":
                    raise content_filtered(request_id, status=status)
            return data
        _raise_if_error_body(data, status, request_id)
    raise _malformed("the chat completion has no non-empty 'choices' list", status, request_id)


def read_image(content: bytes, status: int, request_id: str) -> dict[str, Any]:
    """An image generation: `{created, data: [{url}], content_filter?}`."""
    data = _load(content, status, request_id, "image generation")
    if type(data) is dict:
        images = data.get("data")
        if type(images) is list and images:
            for image in images:
                if type(image) is not dict or type(image.get("url")) is not str:
                    raise _malformed("an image generation item has no 'url' string", status, request_id)
            return data
        _raise_if_error_body(data, status, request_id)
    raise _malformed("the image generation has no non-empty 'data' list", status, request_id)


def error_for_json_instead_of_stream(content: bytes, status: int, request_id: str) -> ZhipuError:
    """A 2xx answer to a streaming call that came back as one JSON document, not events."""
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):
        data = None
    if type(data) is dict and _looks_like_error(data):
        return error_from_payload(data, status=status, request_id=request_id)
    return _malformed(
        f"a streaming call got a JSON document instead of an event stream: {excerpt(content)!r}",
        status,
        request_id,
    )


def transport_error(exc: httpx.RequestError, request_id: str, host: str, timeouts: Timeouts) -> ZhipuError:
    """What a user should read when httpx could not complete the exchange.

    Built from the exception's class and scrubbed text only: the request it carries (with its
    `Authorization` header) stays behind.
    """
    detail = scrub(str(exc)) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        if isinstance(exc, httpx.ConnectTimeout):
            message = f"could not connect to {host} {_within(timeouts.connect)} (connect timeout)"
        elif isinstance(exc, httpx.ReadTimeout):
            message = f"{host} sent nothing {_within(timeouts.read, 'for')} (read timeout)"
        elif isinstance(exc, httpx.WriteTimeout):
            message = f"could not send the request to {host} {_within(timeouts.write)} (write timeout)"
        elif isinstance(exc, httpx.PoolTimeout):
            message = (
                f"no free connection to {host} {_within(timeouts.pool)} (pool timeout): "
                "too many calls are in flight on this client"
            )
        else:
            message = f"the request to {host} timed out: {detail}"
        return ZhipuTimeoutError(message, request_id=request_id)
    if isinstance(exc, httpx.DecodingError):
        return MalformedResponseError(f"the answer from {host} could not be decoded: {detail}", request_id=request_id)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ZhipuConnectionError(
            f"the base URL's scheme is not supported: {detail}",
            request_id=request_id,
            retryable=False,
        )
    if isinstance(exc, httpx.LocalProtocolError):
        return ZhipuConnectionError(
            f"the request could not be sent to {host}: {detail}",
            request_id=request_id,
            retryable=False,
        )
    if isinstance(exc, httpx.ConnectError):
        return ZhipuConnectionError(f"could not connect to {host}: {detail}", request_id=request_id)
    if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)):
        return ZhipuConnectionError(f"the connection to {host} failed: {detail}", request_id=request_id)
    return ZhipuConnectionError(
        f"the request to {host} failed: {type(exc).__name__}: {detail}",
        request_id=request_id,
        retryable=False,
    )


def _within(seconds: float | None, word: str = "within") -> str:
    return f"{word} {seconds:g} s" if seconds is not None else "in time"


def _load(content: bytes, status: int, request_id: str, what: str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        if not content:
            raise _malformed(f"the {what} answer is empty", status, request_id) from None
        raise _malformed(
            f"the {what} answer is not JSON (or was cut short): {excerpt(content)!r}",
            status,
            request_id,
        ) from None


def _raise_if_error_body(data: dict[str, Any], status: int, request_id: str) -> None:
    """Some gateways answer 200 with an error object; treat it as the error it describes."""
    if _looks_like_error(data):
        raise error_from_payload(data, status=status, request_id=request_id)


def _looks_like_error(data: dict[str, Any]) -> bool:
    """`{"error": {...}}`, or the unwrapped `{code, message}` shape."""
    return data.get("error") is not None or ("code" in data and ("message" in data or "msg" in data))


def _malformed(message: str, status: int, request_id: str) -> MalformedResponseError:
    return MalformedResponseError(message, status=status, request_id=request_id)
