"""Request bodies out, answers in: everything about a call that does not depend on sync or async.

The exchange (`exchange.py`) calls these functions around the I/O, so the rules for what goes
on the wire and what counts as a good answer are written once, for every route. They are kept lean on
purpose — plain `json`, `type()` checks, no models — because every workflow step passes here.
"""

from __future__ import annotations

import json
import os
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
from zhipu_connector.zhipu.routes import AnswerShape, Route

REQUEST_ID_MIN_LENGTH = 6
REQUEST_ID_MAX_LENGTH = 64

# What `json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)` uses,
# built once: `json.dumps` with non-default options constructs a new encoder on every call.
# Stateless between calls, so one instance serves every thread.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def new_request_id() -> str:
    """32 random hex characters (the host's format, within the API's 6–64), without a UUID object."""
    return os.urandom(16).hex()


def prepare_body(
    body: dict[str, Any] | None, route: Route, *, stream: bool, request_id: str | None = None
) -> tuple[bytes | None, str]:
    """The JSON bytes to send to `route` and the call's request id.

    The id is the body's own `request_id`, else `request_id` (the action context's), else a
    fresh one; it goes into the body only where the route's reference lists the field. The
    caller's dict is never modified: a field to add goes into a shallow copy. The same bytes are
    sent on every retry, so every attempt carries the same `request_id`. A call without a body
    (a `GET`) passes `None` and sends nothing.
    """
    if body is None and not stream:
        return None, request_id if request_id is not None else new_request_id()
    if not isinstance(body, dict):
        raise InvalidRequestError(f"the request body must be a JSON object (a dict), got {type(body).__name__}")
    given = body.get("request_id")
    if given is not None:
        if type(given) is not str or not REQUEST_ID_MIN_LENGTH <= len(given) <= REQUEST_ID_MAX_LENGTH:
            raise InvalidRequestError(
                f"request_id must be a string of {REQUEST_ID_MIN_LENGTH}–{REQUEST_ID_MAX_LENGTH} characters"
            )
        request_id = given
    else:
        if request_id is None:
            request_id = new_request_id()
        if route.request_id_in_body:
            body = {**body, "request_id": request_id}
    if stream:
        if not route.streams:
            raise InvalidRequestError(f"{route.method} {route.path} does not stream", request_id=request_id)
        if body.get("stream") is not True:
            body = {**body, "stream": True}
    elif body.get("stream"):
        raise InvalidRequestError(
            "stream is true in the body of a non-streaming call; use stream() (chat_stream() for chat) to stream",
            request_id=request_id,
        )
    try:
        payload = _ENCODER.encode(body).encode()
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError too
        raise InvalidRequestError(
            f"the request body cannot be sent as JSON: {scrub(str(exc))}", request_id=request_id
        ) from None
    return payload, request_id


def read_answer(shape: AnswerShape, content: bytes, status: int, request_id: str) -> dict[str, Any]:
    """A 2xx answer parsed and checked against its route's `AnswerShape`, or the `ZhipuError` it is.

    A chat completion must be `{..., choices: [{message: {...}}, ...]}`, an image generation
    `{created, data: [{url}]}`, and so on for each route: what each needs is its row in
    `routes.ROUTES`, checked here with a few type tests (this runs on every call).
    """
    data = _load(content, status, request_id, shape.what)
    if type(data) is dict:
        value = data.get(shape.field)
        if shape.field_type is list:
            if type(value) is list and value:
                item_field = shape.item_field
                for item in value:
                    if type(item) is not dict or (
                        item_field is not None and type(item.get(item_field)) is not shape.item_type
                    ):
                        raise _malformed(
                            f"{_article(shape.what)} {shape.what} {shape.item} has no '{item_field}' "
                            f"{_TYPE_WORDS.get(shape.item_type, shape.item_type.__name__)}",
                            status,
                            request_id,
                        )
                    if item.get("finish_reason") == "sensitive":
                        raise content_filtered(request_id, status=status)
                return data
        elif type(value) is shape.field_type:
            return data
        _raise_if_error_body(data, status, request_id)
    if shape.field_type is list:
        problem = f"the {shape.what} has no non-empty '{shape.field}' list"
    else:
        problem = (
            f"the {shape.what} has no '{shape.field}' {_TYPE_WORDS.get(shape.field_type, shape.field_type.__name__)}"
        )
    raise _malformed(problem, status, request_id)


_TYPE_WORDS: dict[type, str] = {dict: "object", str: "string", list: "list", int: "integer", float: "number"}


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


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
