"""One description per action: both handlers derived from it, and one request id from context to wire.

A new endpoint is one row (`Route`), a new action one `OneRequest`: the test below adds both
here, outside the package, and runs the derived sync and async handlers against them.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import PluginError
from zhipu_connector.host.secrets import Secret
from zhipu_connector.zhipu import connections
from zhipu_connector.zhipu.client import ZhipuClient
from zhipu_connector.zhipu.errors import InvalidRequestError, MalformedResponseError, QuotaExceededError
from zhipu_connector.zhipu.one_request import OneRequest, one_request_handler
from zhipu_connector.zhipu.routes import CHAT, ROUTES, AnswerShape, Route

KEY = "onereqid.oneRequestSecret42"
BASE_URL = "http://emulator.test/api/paas/v4"
CONNECTION = Connection("bearer_token", {"token": Secret(KEY), "baseUrl": BASE_URL})
CONTEXT_ID = "ctx-request-000042"


# --- an endpoint and an action that the package does not have, added as a row and a description ---

#: A GET route with a path parameter, whose answer must carry a `status` string.
THING = Route("thing", "GET", "/things/{id}", AnswerShape("thing", "status", str), request_id_in_body=False)


def thing_body(inputs: Mapping[str, Any], request_id: str, streams: bool) -> dict[str, Any]:
    return {"id": inputs["id"]}


def thing_output(answer: Mapping[str, Any], request_id: str, context: ActionContext, inputs: Mapping[str, Any]) -> Any:
    return {"status": answer["status"], "requestId": request_id}


#: A POST route of chat's shape: the description is all an action needs.
SHOUT = OneRequest(
    CHAT,
    lambda inputs, request_id, streams: {
        "model": "glm-4-flash",
        "messages": [{"role": "user", "content": inputs["text"].upper()}],
        "request_id": request_id,
    },
    lambda answer, request_id, context, inputs: answer["choices"][0]["message"]["content"],
)


def run_both(target: str, inputs: dict[str, Any], context_id: str = CONTEXT_ID) -> list[Any]:
    """The sync and the async handler derived from `target`, each run once; their results."""
    handler = one_request_handler(target)
    assert callable(handler.run) and inspect.iscoroutinefunction(handler.arun)
    results = [handler.run(inputs, CONNECTION, ActionContext("zhipu", "test", request_id=context_id))]

    async def go() -> Any:
        try:
            return await handler.arun(inputs, CONNECTION, ActionContext("zhipu", "test", request_id=context_id))
        finally:
            await connections.aclose_all()

    results.append(asyncio.run(go()))
    return results


def test_both_handlers_come_from_one_description(emulator):
    sync_result, async_result = run_both("test_one_request:SHOUT", {"text": "hello there"})
    assert isinstance(sync_result, str) and sync_result and sync_result == async_result
    assert [body["messages"][0]["content"] for body in emulator.bodies] == ["HELLO THERE"] * 2
    assert [body["request_id"] for body in emulator.bodies] == [CONTEXT_ID] * 2


def test_a_new_get_route_is_one_row_and_its_path_parameter_is_quoted():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "SUCCESS"})

    with ZhipuClient(KEY, BASE_URL, transport=httpx.MockTransport(answer)) as client:
        assert client.call(THING, path_params={"id": "a/b c"}, request_id=CONTEXT_ID) == {"status": "SUCCESS"}
        with pytest.raises(InvalidRequestError, match="needs the path parameter 'id'"):
            client.call(THING)
    [request] = seen
    assert request.method == "GET" and request.content == b""
    assert request.url.raw_path == b"/api/paas/v4/things/a%2Fb%20c"


def test_an_answer_without_what_its_row_requires_is_malformed():
    answer = lambda request: httpx.Response(200, json={"status": 7})  # noqa: E731
    with ZhipuClient(KEY, BASE_URL, transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(MalformedResponseError, match="the thing has no 'status' string"):
            client.call(THING, path_params={"id": "1"})


def test_a_pasted_endpoint_url_of_any_fixed_route_is_cut_back_to_the_root():
    for route in ROUTES.values():
        if not route.templated:
            with ZhipuClient(KEY, BASE_URL + route.path + "/") as client:
                assert client.base_url == BASE_URL


def test_a_description_that_cannot_be_loaded_fails_clearly():
    with pytest.raises(PluginError, match="cannot be loaded"):
        one_request_handler("test_one_request:MISSING").run({}, CONNECTION, ActionContext("zhipu", "test"))
    with pytest.raises(PluginError, match="is not a OneRequest"):
        one_request_handler("test_one_request:THING").run({}, CONNECTION, ActionContext("zhipu", "test"))
    with pytest.raises(PluginError, match="not of the form 'module:NAME'"):
        one_request_handler("no_colon")
    with pytest.raises(PluginError, match="does not stream"):
        OneRequest(THING, thing_body, thing_output, stream=lambda context: None)  # type: ignore[arg-type,return-value]


# --- one request id: context → wire, logs, errors ---------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_the_context_request_id_is_the_one_sent_with_ask(host, emulator, asynchronous):
    inputs = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "Hi"}]}
    context = ActionContext("zhipu", "ask", request_id=CONTEXT_ID)
    if asynchronous:
        asyncio.run(host.arun_action("zhipu", "ask", inputs, CONNECTION, context=context))
    else:
        host.run_action("zhipu", "ask", inputs, CONNECTION, context=context)
    [body] = emulator.bodies
    assert body["request_id"] == CONTEXT_ID


def test_the_context_request_id_is_in_the_error_and_the_retry_log(host, caplog):
    attempts: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        attempts.append(json.loads(request.content))
        if len(attempts) == 1:
            return httpx.Response(503, json={"error": {"message": "busy"}})
        return httpx.Response(429, json={"error": {"code": "1113", "message": "no balance"}})

    inputs = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "Hi"}]}
    with (
        connections.configured(
            transport_factory=lambda kind: httpx.MockTransport(answer), client_options={"sleep": lambda s: None}
        ),
        caplog.at_level(logging.INFO, logger="zhipu_connector.zhipu.client"),
    ):
        with pytest.raises(QuotaExceededError) as caught:
            host.run_action(
                "zhipu", "ask", inputs, CONNECTION, context=ActionContext("zhipu", "ask", request_id=CONTEXT_ID)
            )
    assert caught.value.request_id == CONTEXT_ID and f"request id {CONTEXT_ID}" in str(caught.value)
    assert [attempt["request_id"] for attempt in attempts] == [CONTEXT_ID, CONTEXT_ID]
    assert any(CONTEXT_ID in record.getMessage() for record in caplog.records)


def test_a_user_set_request_id_wins_over_the_context_one(host, emulator):
    inputs = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "Hi"}], "requestId": "user-chosen-id-7"}
    host.run_action("zhipu", "ask", inputs, CONNECTION, context=ActionContext("zhipu", "ask", request_id=CONTEXT_ID))
    assert emulator.bodies[0]["request_id"] == "user-chosen-id-7"


def test_create_image_sends_no_request_id_but_its_errors_quote_the_context_one(host):
    bodies: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(400, json={"error": {"code": "1214", "message": "bad size"}})

    inputs = {"model": "cogview-4", "imageMessages": [{"content": "a fox"}]}
    with connections.configured(transport_factory=lambda kind: httpx.MockTransport(answer)):
        with pytest.raises(InvalidRequestError) as caught:
            host.run_action(
                "zhipu",
                "createImage",
                inputs,
                CONNECTION,
                context=ActionContext("zhipu", "createImage", request_id=CONTEXT_ID),
            )
    assert "request_id" not in bodies[0]  # the image reference lists no request_id
    assert caught.value.request_id == CONTEXT_ID
