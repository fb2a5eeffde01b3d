"""The key (and any JWT made from it) never shows in an exception, a repr or a log line."""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

import httpx
import pytest

from zhipu_connector.host.secrets import MASK, Secret
from zhipu_connector.zhipu.client import AsyncZhipuClient, ZhipuClient
from zhipu_connector.zhipu.errors import AuthenticationError, ZhipuConnectionError, ZhipuError

KEY_ID = "leakkeyid31"
KEY_SECRET = "leakKeySecret31zz"
KEY = f"{KEY_ID}.{KEY_SECRET}"
BODY = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hi"}]}


def everything_shown(error: BaseException) -> str:
    """All the text a user or a log could see of an error, including its traceback and causes."""
    return "\n".join(
        [str(error), repr(error), str(getattr(error, "to_dict", dict)())] + traceback.format_exception(error)
    )


def echoing_handler(request: httpx.Request) -> httpx.Response:
    """A server that echoes whatever credential it got, in every place it can."""
    credential = request.headers["authorization"].removeprefix("Bearer ")
    return httpx.Response(
        401,
        json={"error": {"code": "1002", "message": f"invalid token {credential} (key {KEY})"}},
    )


@pytest.mark.parametrize("auth", ["api_key", "jwt"])
@pytest.mark.parametrize("key", [KEY, Secret(KEY)], ids=["str", "Secret"])
def test_an_echoed_credential_is_masked(auth: str, key: Any) -> None:
    tokens: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tokens.append(request.headers["authorization"].removeprefix("Bearer "))
        return echoing_handler(request)

    client = ZhipuClient(key, auth=auth, transport=httpx.MockTransport(handler))
    with pytest.raises(AuthenticationError) as caught:
        client.chat(BODY)
    shown = everything_shown(caught.value)
    assert MASK in caught.value.message
    for secret in (KEY, KEY_SECRET, *tokens):
        assert secret not in shown
    assert KEY not in repr(client) and KEY_SECRET not in repr(client)


def test_a_transport_error_that_quotes_the_key_is_masked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused {request.headers['authorization']}", request=request)

    client = ZhipuClient(KEY, transport=httpx.MockTransport(handler), max_retries=0)
    with pytest.raises(ZhipuConnectionError) as caught:
        client.chat(BODY)
    shown = everything_shown(caught.value)
    assert KEY not in shown and MASK in shown
    # The httpx exception (whose request holds the Authorization header) is not attached.
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_async_errors_and_reprs_do_not_show_the_key() -> None:
    async def scenario() -> ZhipuError:
        async with AsyncZhipuClient(KEY, auth="jwt", transport=httpx.MockTransport(echoing_handler)) as client:
            assert KEY not in repr(client)
            try:
                await client.chat(BODY)
            except ZhipuError as error:
                return error
        raise AssertionError("no error raised")

    error = asyncio.run(scenario())
    assert KEY not in everything_shown(error) and KEY_SECRET not in everything_shown(error)


def test_log_lines_do_not_show_the_key(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter(
        [
            httpx.Response(503, json={"error": {"message": f"upstream rejected {KEY}"}}),
            httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": "ok"}}]}),
        ]
    )
    client = ZhipuClient(KEY, transport=httpx.MockTransport(lambda r: next(answers)), sleep=lambda s: None)
    with caplog.at_level(logging.DEBUG):
        client.chat(BODY)
    assert caplog.records, "the retry should have been logged"
    assert KEY not in caplog.text


def test_a_bad_key_error_does_not_show_the_key() -> None:
    bad = "leakbadkey99.with space inside"
    with pytest.raises(AuthenticationError) as caught:
        ZhipuClient(bad)
    assert "with space inside" not in everything_shown(caught.value)
