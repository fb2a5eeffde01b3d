"""The Zhipu API's failures as one small class hierarchy, classified by business code first.

The platform answers a failure with an HTTP status *and* a business code in the body
(`{"error": {"code": "1113", "message": "..."}}`, or the unwrapped `{code, message}` of the Z.AI
spec). The status alone is ambiguous — a 429 means "slow down" for 1302 but "your balance is
gone" for 1113 — so the code decides the class and the status is only the fallback. Each class
says whether trying again can help (`retryable`); the retry policy reads nothing else.

Every message passes through `scrub()`: a server (or proxy) that echoes the key back must not
put it in front of a user.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from zhipu_connector.host.errors import ActionFailedError, ConnectorError
from zhipu_connector.host.secrets import scrub

_MAX_MESSAGE_CHARS = 1000  # a server message longer than this is noise, not help
_MAX_EXCERPT_CHARS = 200  # how much of an unreadable body to quote
_MAX_CODE_CHARS = 32


class ZhipuError(ActionFailedError):
    """Any failure of a call to the Zhipu API.

    `retryable` says whether the same request may succeed if sent again; `retry_after` is the
    server's own wait hint in seconds (from a `Retry-After` header) when it gave one, and
    `attempts` how many times the call was sent before giving up.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(
            scrub(message),
            status=status,
            code=scrub(code) if code else None,
            request_id=request_id,
        )
        if retryable is not None:
            self.retryable = retryable
        self.retry_after: float | None = None
        self.attempts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "retryable": self.retryable}


class ClientConfigError(ConnectorError, ValueError):
    """A client setting that cannot work (base URL, timeouts, retries, auth mode); nothing was sent."""


class AuthenticationError(ZhipuError):
    """The platform did not accept the credentials (HTTP 401, codes 1000–1004)."""


class InvalidApiKeyError(AuthenticationError):
    """The API key cannot be used at all (blank, malformed); raised before any request is sent."""


class PermissionDeniedError(ZhipuError):
    """The key works but may not use this API or model (HTTP 403, 434, code 1220)."""


class RateLimitError(ZhipuError):
    """Too many requests in flight or per minute, or the platform or model is overloaded (429: 1302,
    1303, 1305, 1312).

    These limits are on *concurrent* requests, so waiting and trying again is the cure.
    """

    retryable = True


class QuotaExceededError(ZhipuError):
    """No balance (1113), a locked or inactive account (1112, 1121, 1110, 1111, 1120), a spent
    daily quota (1304), or a plan's cap, expiry, model or fair-use limit (1308–1311, 1313).

    The platform sends these with HTTP 429 too, but no retry within a call can fix them:
    retrying only burns time and, for a batch, the rate limit of every other request.
    `resets_at` is the time a usage cap (1308) lifts, as the platform wrote it, when it said.
    """

    resets_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        result = super().to_dict()
        if self.resets_at is not None:
            result["resetsAt"] = self.resets_at
        return result


class InvalidRequestError(ZhipuError):
    """The request itself is wrong: bad parameters (1210–1215), unknown model (1211), prompt too
    long (1261), duplicate request id (1231), file too large (435) or another final 4xx."""


class ContentFilteredError(ZhipuError):
    """The platform refused or cut the content as unsafe (code 1301, or finish_reason `sensitive`)."""


class ConflictError(ZhipuError):
    """HTTP 409 without a business code that says more; the SDKs retry it, so do we."""

    retryable = True


class ServerError(ZhipuError):
    """The platform failed on its side (5xx); a later attempt may succeed."""

    retryable = True


class ZhipuTimeoutError(ZhipuError):
    """No connection or no answer within the configured time (also HTTP 408)."""

    retryable = True


class ZhipuConnectionError(ZhipuError):
    """The request could not be delivered or its answer not received (DNS, refused, reset)."""

    retryable = True


class InvalidJsonAnswerError(ZhipuError):
    """The model was asked for a JSON object (`response_format: json_object`) and wrote something else.

    Not retried: the call succeeded and was billed; the message shows the finish reason and the
    answer's first characters, so the prompt (or Max tokens) can be fixed.
    """


class MalformedResponseError(ZhipuError):
    """A success answer that is not JSON, is cut short, or is not the documented shape.

    Not retried: the platform may already have done (and billed) the work.
    """


# Business codes whose meaning is known. Anything else falls back to the HTTP status.
_AUTHENTICATION_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})
_PERMISSION_CODES = frozenset({"1220"})
_RATE_LIMIT_CODES = frozenset({"1302", "1303", "1305", "1312"})
_QUOTA_CODES = frozenset(
    {"1110", "1111", "1112", "1113", "1120", "1121", "1304", "1308", "1309", "1310", "1311", "1313"}
)
_INVALID_REQUEST_CODES = frozenset({"1210", "1211", "1212", "1213", "1214", "1215", "1221", "1222", "1231", "1261"})
_CONTENT_CODES = frozenset({"1301"})

_CLASS_BY_CODE: dict[str, type[ZhipuError]] = {
    **dict.fromkeys(_AUTHENTICATION_CODES, AuthenticationError),
    **dict.fromkeys(_PERMISSION_CODES, PermissionDeniedError),
    **dict.fromkeys(_RATE_LIMIT_CODES, RateLimitError),
    **dict.fromkeys(_QUOTA_CODES, QuotaExceededError),
    **dict.fromkeys(_INVALID_REQUEST_CODES, InvalidRequestError),
    **dict.fromkeys(_CONTENT_CODES, ContentFilteredError),
}

# What to say when the body gives a code but no message.
_CODE_DESCRIPTIONS: dict[str, str] = {
    "1000": "authentication failed",
    "1001": "the Authorization header is missing",
    "1002": "the API key or token is invalid",
    "1003": "the token has expired",
    "1004": "the token failed verification",
    "1110": "the account is inactive",
    "1111": "the account does not exist",
    "1112": "the account is locked",
    "1113": "the account balance is exhausted",
    "1120": "the account cannot be reached",
    "1121": "the account is locked for violations",
    "1210": "invalid request parameters",
    "1211": "the model does not exist",
    "1212": "the request uses an unsupported parameter",
    "1213": "a required parameter is missing",
    "1214": "a parameter has an invalid value",
    "1215": "invalid request parameters",
    "1220": "no permission to use this API",
    "1221": "this API has been taken offline",
    "1222": "this API does not exist",
    "1231": "the request_id has already been used",
    "1261": "the prompt is too long for the model",
    "1301": "the content was flagged as unsafe",
    "1302": "too many concurrent requests",
    "1303": "too many requests per unit of time",
    "1304": "the daily quota is spent",
    "1305": "the platform is overloaded",
    "1308": "the usage cap is reached",
    "1309": "the plan has expired",
    "1310": "the weekly or monthly usage cap is reached",
    "1311": "the plan does not include this model",
    "1312": "the model is overloaded",
    "1313": "the plan's fair-use limit is reached",
}

# What the user should also be told, by code: the cause a message does not say.
_CODE_HINTS: dict[str, str] = {
    "1113": "or the key belongs to the other platform (open.bigmodel.cn or api.z.ai), or is a GLM Coding Plan key",
}
# "Your limit will reset at 2026-08-27 21:31:39": the reset time of a usage cap (1308)
_RESET_AT = re.compile(r"reset (?:at|on)\s+(?P<at>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?)", re.IGNORECASE)
_RESET_AT_ZH = re.compile(r"(?P<at>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?)")

_CLASS_BY_STATUS: dict[int, type[ZhipuError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    408: ZhipuTimeoutError,
    409: ConflictError,
    429: RateLimitError,
    434: PermissionDeniedError,
    435: InvalidRequestError,
}


def error_class_for(status: int | None, code: str | None) -> type[ZhipuError]:
    """The class for a failure: by business code when it is a known one, else by HTTP status.

    A status of `None` means the failure arrived inside a 200 event stream.
    """
    if code is not None:
        by_code = _CLASS_BY_CODE.get(code)
        if by_code is not None:
            return by_code
    if status is None:
        return ServerError
    by_status = _CLASS_BY_STATUS.get(status)
    if by_status is not None:
        return by_status
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return InvalidRequestError
    return ZhipuError  # a redirect or other status the API never documents


def error_from_response(status: int, body: bytes, request_id: str | None) -> ZhipuError:
    """The error for a non-2xx answer, whatever its body: either documented shape, or garbage."""
    try:
        parsed: Any = json.loads(body) if body else None
    except (ValueError, RecursionError):
        return _error_for_unreadable_body(status, body, request_id)
    code, message = _code_and_message(parsed)
    if code is None and message is None and body and not isinstance(parsed, dict):
        return _error_for_unreadable_body(status, body, request_id)
    return _build(status, code, message, request_id)


def error_from_payload(payload: Any, *, status: int | None, request_id: str | None) -> ZhipuError:
    """The error for an already parsed error object: a mid-stream `{"error": ...}` event or a
    2xx body that carries an error instead of a result."""
    code, message = _code_and_message(payload)
    return _build(status, code, message, request_id)


def content_filtered(request_id: str | None, *, status: int | None = None) -> ContentFilteredError:
    """The error for a reply the platform stopped with finish_reason `sensitive`."""
    return ContentFilteredError(
        "the platform stopped the reply because it flagged the content as unsafe (finish_reason 'sensitive')",
        status=status,
        request_id=request_id,
    )


def excerpt(body: bytes) -> str:
    """A short, scrubbed, printable quote of a body, for messages about unreadable answers."""
    text = body[: _MAX_EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    # Scrub before cutting: a secret cut in half by the limit would no longer be recognised.
    text = scrub(" ".join(text.split()))
    if len(text) > _MAX_EXCERPT_CHARS:
        text = text[:_MAX_EXCERPT_CHARS] + "…"
    return text


def _code_and_message(parsed: Any) -> tuple[str | None, str | None]:
    """Pull the code and message out of `{"error": {code, message}}` or `{code, message}`."""
    if not isinstance(parsed, dict):
        return None, None
    inner = parsed.get("error")
    if isinstance(inner, dict):
        source: dict[str, Any] = inner
    elif isinstance(inner, str):  # some gateways send {"error": "text"}
        return _normalise_code(parsed.get("code")), _normalise_message(inner)
    else:
        source = parsed
    message = source.get("message")
    if message is None:
        message = source.get("msg")
    return _normalise_code(source.get("code")), _normalise_message(message)


def _normalise_code(code: Any) -> str | None:
    if isinstance(code, bool) or code is None:
        return None
    if isinstance(code, int):
        return str(code)
    if isinstance(code, str):
        code = code.strip()
        return code[:_MAX_CODE_CHARS] or None
    return None


def _normalise_message(message: Any) -> str | None:
    if message is None:
        return None
    text = message if isinstance(message, str) else json.dumps(message, ensure_ascii=False)
    text = scrub(text.strip())  # before cutting: a secret cut in half would not be recognised
    if not text:
        return None
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[:_MAX_MESSAGE_CHARS] + "…"
    return text


def _build(status: int | None, code: str | None, message: str | None, request_id: str | None) -> ZhipuError:
    error_class = error_class_for(status, code)
    server_message = message
    if message is None:
        message = _CODE_DESCRIPTIONS.get(code or "") or _describe_status(status)
    resets_at = usage_cap_reset(server_message) if code == "1308" else None
    if code == "1308" and resets_at is None:
        message += "; the platform did not say when the cap lifts"
    elif resets_at is not None and resets_at not in message:
        message += f"; the cap lifts at {resets_at}"
    hint = _CODE_HINTS.get(code or "")
    if hint:
        message += f"; {hint}"
    error = error_class(message, status=status, code=code, request_id=request_id)
    if resets_at is not None and isinstance(error, QuotaExceededError):
        error.resets_at = resets_at
    return error


def usage_cap_reset(message: str | None) -> str | None:
    """The reset time a 1308 message carries ("... will reset at 2026-08-27 21:31:39"), or None."""
    if not message:
        return None
    found = _RESET_AT.search(message) or _RESET_AT_ZH.search(message)
    return found["at"] if found else None


def _error_for_unreadable_body(status: int, body: bytes, request_id: str | None) -> ZhipuError:
    error_class = error_class_for(status, None)
    message = f"{_describe_status(status)}; the body is not a Zhipu error object: {excerpt(body)!r}"
    return error_class(message, status=status, request_id=request_id)


def _describe_status(status: int | None) -> str:
    if status is None:
        return "the platform reported an error in the event stream"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unexpected status"
    return f"the Zhipu API answered {status} {phrase}"
