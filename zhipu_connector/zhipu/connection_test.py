"""Zhipu's connection test: one free request, and a precise reason when it fails.

The request is a one-token chat completion on `glm-4.5-flash`. Why this one (the facts are in
the API reference, `zhipu-api.md` and `zhipu-api-endpoints.md`):

- it costs nothing: flash models are free, even on an account whose balance is zero, and one
  token of output is the least a completion can ask for;
- `POST /chat/completions` is documented on both platforms and on every compatible proxy;
  `GET /models`, the other candidate, is in neither platform's OpenAPI description, is absent
  on the international platform and lists only some chat models, so its answer proves less;
- on a free model, code 1113 has a single meaning: the key is not one of this platform's
  pay-as-you-go keys — it belongs to the other platform, or to a GLM Coding Plan, whose keys
  work only on the coding endpoint (the platform says "insufficient balance" for both).

Each failure is raised as a `ConnectionTestError` whose `reason` a program can branch on and
whose message says what to do; the token is never part of it.
"""

from __future__ import annotations

from typing import Any

from zhipu_connector.errors import ActionFailedError, ConnectorError

MODEL = "glm-4.5-flash"
BODY: dict[str, Any] = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "ping"}],
    "max_tokens": 1,
    "stream": False,
}
PLATFORMS = "https://open.bigmodel.cn/api/paas/v4 (mainland) or https://api.z.ai/api/paas/v4 (international)"
AUTHENTICATION_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})
ACCOUNT_CODES = frozenset({"1110", "1111", "1112", "1120", "1121", "1304", "1308", "1309", "1310"})


class ConnectionTestError(ActionFailedError):
    """A connection that does not work, with the `reason` in one word.

    Reasons: `bad_key`, `key_of_another_platform_or_plan`, `no_balance_or_quota`,
    `wrong_base_url`, `unreachable`, `platform_error`.
    """

    def __init__(self, reason: str, message: str, cause: ConnectorError | None = None) -> None:
        self.reason = reason
        super().__init__(
            message,
            status=getattr(cause, "status", None),
            code=getattr(cause, "code", None),
            request_id=getattr(cause, "request_id", None),
        )

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "reason": self.reason}


def check(connection: Any, context: Any) -> dict[str, Any]:
    """The sync connection test: one free request through the shared client."""
    from zhipu_connector.zhipu.connections import sync_client

    base_url = _base_url(connection)
    try:
        with sync_client(connection) as client:
            answer = client.chat({**BODY, "request_id": context.request_id})
    except ConnectorError as error:
        raise explain(error, base_url) from None
    return _passed(answer, base_url)


async def acheck(connection: Any, context: Any) -> dict[str, Any]:
    """The async connection test, the same request."""
    from zhipu_connector.zhipu.connections import async_client

    base_url = _base_url(connection)
    try:
        async with async_client(connection) as client:
            answer = await client.chat({**BODY, "request_id": context.request_id})
    except ConnectorError as error:
        raise explain(error, base_url) from None
    return _passed(answer, base_url)


def explain(error: ConnectorError, base_url: str) -> ConnectionTestError:
    """What a failed test request means for the connection, from its class, business code and status."""
    from zhipu_connector.zhipu import errors as zhipu_errors

    code = getattr(error, "code", None)
    status = getattr(error, "status", None)
    detail = getattr(error, "message", None) or str(error)
    if isinstance(error, zhipu_errors.InvalidApiKeyError):
        return ConnectionTestError("bad_key", f"the token cannot be used: {detail}", error)
    if isinstance(error, (zhipu_errors.ZhipuConnectionError, zhipu_errors.ZhipuTimeoutError)):
        return ConnectionTestError("unreachable", f"cannot reach {base_url}: {detail}", error)
    if isinstance(error, zhipu_errors.ClientConfigError):
        return ConnectionTestError("wrong_base_url", f"the base URL cannot be used: {detail}", error)
    if code in AUTHENTICATION_CODES or status == 401:
        return ConnectionTestError(
            "bad_key",
            f"the platform at {base_url} refused the key ({detail}): check that it is a whole "
            "<id>.<secret> API key from that platform's console, and that it has not been deleted",
            error,
        )
    if code == "1113":
        return ConnectionTestError(
            "key_of_another_platform_or_plan",
            f"the platform at {base_url} does not accept this key for API calls (code 1113, even for a free "
            "model): it belongs to the other platform — mainland open.bigmodel.cn and international api.z.ai "
            "keys work only on their own — or it is a GLM Coding Plan key, which works only on the coding endpoint",
            error,
        )
    if code in ACCOUNT_CODES:
        return ConnectionTestError(
            "no_balance_or_quota", f"the key is valid, but its account cannot make calls now: {detail}", error
        )
    if status in (404, 405) or isinstance(error, zhipu_errors.MalformedResponseError):
        return ConnectionTestError(
            "wrong_base_url",
            f"{base_url} does not answer as the Zhipu API ({detail}); the platforms' base URLs are {PLATFORMS}",
            error,
        )
    return ConnectionTestError("platform_error", f"the test request failed: {detail}", error)


def _passed(answer: Any, base_url: str) -> dict[str, Any]:
    model = answer.get("model", MODEL) if isinstance(answer, dict) else MODEL
    return {
        "message": f"the key works at {base_url} (a free one-token request to {model} answered)",
        "baseUrl": base_url,
    }


def _base_url(connection: Any) -> str:
    from zhipu_connector.zhipu.config import display_url, resolve_base_url

    try:
        return display_url(resolve_base_url(connection.get("baseUrl")))
    except ConnectorError as error:
        raise explain(error, str(connection.get("baseUrl"))) from None
