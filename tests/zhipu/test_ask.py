"""The Ask action against the emulator in process: exact requests, finish reasons, streaming."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Any

import httpx
import pytest

from zhipu_connector import __version__
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import ActionCancelledError, InputValidationError
from zhipu_connector.host.host import Host
from zhipu_connector.zhipu import connections
from zhipu_connector.zhipu.errors import ContentFilteredError, MalformedResponseError, ServerError, ZhipuError

KEY = "askkeyid.askKeySecret0042"
BASE_URL = "http://emulator.test/api/paas/v4"
CONNECTION = {"token": KEY, "baseUrl": BASE_URL}
HEX32 = re.compile(r"[0-9a-f]{32}")
HELLO = [{"role": "user", "content": "Hello"}]


def ask(
    host: Host,
    inputs: dict[str, Any],
    *,
    stream: bool = False,
    asynchronous: bool = False,
    context: ActionContext | None = None,
) -> tuple[str, ActionContext, list[str]]:
    """Run Ask (sync or async, streamed or not); the result, the context and the streamed pieces."""
    pieces: list[str] = []
    context = context or ActionContext("zhipu", "ask")
    if stream:
        context.on_partial = pieces.append
    if asynchronous:

        async def go() -> str:
            try:
                return await host.arun_action("zhipu", "ask", inputs, CONNECTION, context=context)
            finally:
                await connections.aclose_all()

        result = asyncio.run(go())
    else:
        result = host.run_action("zhipu", "ask", inputs, CONNECTION, context=context)
    return result, context, pieces


def no_nulls(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(no_nulls(item) for item in value.values())
    if isinstance(value, list):
        return all(no_nulls(item) for item in value)
    return True


# --- what is sent -------------------------------------------------------------------------------


def test_a_minimal_ask_sends_model_messages_and_a_request_id_only(host, emulator):
    result, context, _ = ask(host, {"model": "glm-4-flash", "messages": HELLO})
    assert result == (
        'Here is a short answer about "Hello" from glm-4-flash. The Zhipu emulator composes it '
        "from your message, so the same request always gets the same reply."
    )
    assert context.warnings == []
    [(headers, body)] = emulator.requests
    assert body == {"model": "glm-4-flash", "messages": HELLO, "request_id": body["request_id"]}
    assert HEX32.fullmatch(body["request_id"])
    assert headers["path"] == "/api/paas/v4/chat/completions"
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"] == f"zhipu-connector/{__version__}"
    assert "x-emulator-fault" not in headers


def test_temperature_and_top_p_are_not_sent_unless_set(host, emulator, zhipu_component):
    ask_action = zhipu_component.action("ask")
    assert not ask_action.property("temperature").has_default and not ask_action.property("topP").has_default
    ask(host, {"model": "glm-4-flash", "messages": HELLO})
    assert set(emulator.bodies[0]) == {"model", "messages", "request_id"}


def test_every_option_maps_to_the_api_name(host, emulator):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    ask(
        host,
        {
            "model": "glm-4-plus",
            "messages": messages,
            "maxTokens": 100,
            "temperature": 0.3,
            "topP": 0.8,
            "stop": ["END"],
            "requestId": "wf-request-000001",
            "doSample": True,
            "user": "user-12345",
        },
    )
    assert emulator.bodies == [
        {
            "model": "glm-4-plus",
            "messages": messages,
            "max_tokens": 100,
            "temperature": 0.3,
            "top_p": 0.8,
            "stop": ["END"],
            "request_id": "wf-request-000001",
            "do_sample": True,
            "user_id": "user-12345",
        }
    ]


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("maxTokens", 7, "max_tokens"),
        ("temperature", 0, "temperature"),
        ("temperature", 1, "temperature"),
        ("topP", 0.01, "top_p"),
        ("stop", ["a"], "stop"),
        ("requestId", "abcdef", "request_id"),
        ("doSample", False, "do_sample"),
        ("user", "u-1234", "user_id"),
    ],
)
def test_each_option_alone_adds_exactly_its_field(host, emulator, key, value, field):
    ask(host, {"model": "glm-4-flash", "messages": HELLO, key: value})
    [body] = emulator.bodies
    expected = {"model": "glm-4-flash", "messages": HELLO, "request_id": body["request_id"], field: value}
    assert body == expected and no_nulls(body)


def test_a_whole_float_max_tokens_is_sent_as_an_integer(host, emulator):
    ask(host, {"model": "glm-4-flash", "messages": HELLO, "maxTokens": 100.0})
    assert emulator.bodies[0]["max_tokens"] == 100 and type(emulator.bodies[0]["max_tokens"]) is int


def test_an_empty_stop_list_is_not_sent(host, emulator):
    ask(host, {"model": "glm-4-flash", "messages": HELLO, "stop": []})
    assert "stop" not in emulator.bodies[0]


def test_simple_format_sends_the_system_prompt_then_the_user_prompt(host, emulator):
    result, _, _ = ask(
        host,
        {
            "format": "SIMPLE",
            "model": "glm-4-flash",
            "systemPrompt": "You are terse.",
            "userPrompt": "Name a colour",
            "messages": [{"role": "user", "content": "ignored"}],
        },
    )
    assert emulator.bodies[0]["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Name a colour"},
    ]
    assert '"Name a colour"' in result


@pytest.mark.parametrize("system_prompt", [None, "", "  \n"])
def test_simple_format_without_a_system_prompt_sends_the_user_message_alone(host, emulator, system_prompt):
    inputs = {"format": "SIMPLE", "model": "glm-4-flash", "userPrompt": "Hi"}
    if system_prompt is not None:
        inputs["systemPrompt"] = system_prompt
    ask(host, inputs)
    assert emulator.bodies[0]["messages"] == [{"role": "user", "content": "Hi"}]


def test_advanced_format_ignores_the_prompts(host, emulator):
    ask(
        host,
        {"format": "ADVANCED", "model": "glm-4-flash", "messages": HELLO, "userPrompt": "other", "systemPrompt": "x"},
    )
    assert emulator.bodies[0]["messages"] == HELLO


def test_a_tool_message_carries_its_tool_call_id(host, emulator):
    messages = [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": "Let me look it up."},
        {"role": "tool", "content": "18 degrees, sunny", "toolCallId": "call_abc123"},
    ]
    result, _, _ = ask(host, {"model": "glm-4-flash", "messages": messages})
    assert emulator.bodies[0]["messages"] == [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": "Let me look it up."},
        {"role": "tool", "content": "18 degrees, sunny", "tool_call_id": "call_abc123"},
    ]
    assert result.startswith('The tool returned "18 degrees, sunny".')


def test_a_tool_message_without_a_tool_call_id_is_refused_before_sending(host, emulator):
    messages = [{"role": "user", "content": "Hi"}, {"role": "tool", "content": "42"}]
    with pytest.raises(InputValidationError) as caught:
        ask(host, {"model": "glm-4-flash", "messages": messages})
    [problem] = caught.value.problems
    assert problem.location == "messages[1].toolCallId"
    assert "Tool call ID is required for a message whose role is 'tool'" in problem.message
    assert str(caught.value).startswith("zhipu.ask: invalid inputs (1 problem)")
    assert emulator.requests == []


def test_a_tool_call_id_on_another_role_is_refused_and_every_problem_is_reported(host, emulator):
    messages = [
        {"role": "user", "content": "Hi", "toolCallId": "call_1"},
        {"role": "tool", "content": "42", "toolCallId": ""},
        {"role": "tool", "content": "43"},
    ]
    with pytest.raises(InputValidationError) as caught:
        ask(host, {"model": "glm-4-flash", "messages": messages})
    assert [p.location for p in caught.value.problems] == [
        "messages[0].toolCallId",
        "messages[1].toolCallId",
        "messages[2].toolCallId",
    ]
    assert "belongs on a 'tool' message only, not on a 'user' message" in caught.value.problems[0].message
    assert emulator.requests == []


def test_a_conversation_without_a_user_message_is_refused_before_sending(host, emulator):
    messages = [{"role": "system", "content": "Be kind."}, {"role": "assistant", "content": "Hello!"}]
    with pytest.raises(InputValidationError) as caught:
        ask(host, {"model": "glm-4-flash", "messages": messages})
    [problem] = caught.value.problems
    assert problem.location == "messages" and "must include a 'user' (or 'tool') message" in problem.message
    assert emulator.requests == []


def test_sync_and_async_send_the_same_body(host, emulator):
    inputs = {
        "model": "glm-4-flash",
        "messages": HELLO,
        "maxTokens": 50,
        "temperature": 0.5,
        "requestId": "same-id-0001",
    }
    sync_result, _, _ = ask(host, inputs)
    async_result, _, _ = ask(host, inputs, asynchronous=True)
    assert sync_result == async_result
    assert emulator.bodies[0] == emulator.bodies[1]


# --- finish reasons -----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_reply_cut_by_max_tokens_is_returned_with_a_warning(host, emulator, stream):
    result, context, _ = ask(host, {"model": "glm-4-flash", "messages": HELLO, "maxTokens": 5}, stream=stream)
    assert result == "Here is a short answer"
    assert context.warnings == [
        "the reply was cut short: it reached the token limit (finish_reason 'length'); raise Max tokens for a longer reply"
    ]


@pytest.mark.parametrize("stream", [False, True])
def test_finish_reason_length_from_the_platform_warns(host, emulator, stream):
    messages = [{"role": "user", "content": "Hello [[fault:finish_length]]"}]
    result, context, _ = ask(host, {"model": "glm-4-flash", "messages": messages}, stream=stream)
    assert result.startswith('Here is a short answer about "Hello" from glm-4-flash.')
    assert len(context.warnings) == 1 and "finish_reason 'length'" in context.warnings[0]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("asynchronous", [False, True])
def test_finish_reason_sensitive_is_a_content_filtered_error(host, emulator, stream, asynchronous):
    messages = [{"role": "user", "content": "Hello [[fault:finish_sensitive]]"}]
    with pytest.raises(ContentFilteredError) as caught:
        ask(
            host,
            {"model": "glm-4-flash", "messages": messages, "requestId": "sensitive-01"},
            stream=stream,
            asynchronous=asynchronous,
        )
    assert caught.value.request_id == "sensitive-01"
    assert "flagged the content as unsafe" in str(caught.value)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("asynchronous", [False, True])
def test_finish_reason_network_error_is_a_server_error(host, emulator, stream, asynchronous):
    messages = [{"role": "user", "content": "Hello [[fault:finish_network_error]]"}]
    with pytest.raises(ServerError) as caught:
        ask(
            host,
            {"model": "glm-4-flash", "messages": messages, "requestId": "network-01"},
            stream=stream,
            asynchronous=asynchronous,
        )
    error = caught.value
    assert error.request_id == "network-01" and error.retryable
    assert "finish_reason 'network_error'" in str(error)
    assert error.to_dict()["type"] == "ServerError"


def completion(content: str | None, finish_reason: str, **message: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "request_id": "mock-request-1",
        "created": 1,
        "model": "glm-4-flash",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content, **message},
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def event_stream(content: str | None, finish_reason: str, **delta: Any) -> bytes:
    chunks = []
    if content:
        chunks += [
            {
                "request_id": "mock-request-1",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}}],
            }
            for piece in (content[:3], content[3:])
        ]
    if delta:
        chunks.append(
            {"request_id": "mock-request-1", "choices": [{"index": 0, "delta": {"role": "assistant", **delta}}]}
        )
    chunks.append(
        {
            "request_id": "mock-request-1",
            "choices": [{"index": 0, "finish_reason": finish_reason, "delta": {"role": "assistant", "content": ""}}],
        }
    )
    return "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks).encode() + b"data: [DONE]\n\n"


@pytest.fixture
def platform():
    """A scripted platform answering every chat call with `platform.answer` (JSON or events)."""

    class Platform:
        answer: tuple[str | None, str, dict[str, Any]] = ("Hi", "stop", {})

        def __call__(self, request: httpx.Request) -> httpx.Response:
            content, finish_reason, extra = self.answer
            if json.loads(request.content).get("stream"):
                return httpx.Response(
                    200,
                    headers={"content-type": "text/event-stream"},
                    content=event_stream(content, finish_reason, **extra),
                )
            return httpx.Response(200, json=completion(content, finish_reason, **extra))

    scripted = Platform()
    with connections.configured(transport_factory=lambda kind: httpx.MockTransport(scripted)):
        yield scripted


@pytest.mark.parametrize("stream", [False, True])
def test_a_full_context_window_returns_the_text_with_a_warning(host, platform, stream):
    platform.answer = ("Partial answ", "model_context_window_exceeded", {})
    result, context, _ = ask(host, {"model": "glm-4-flash", "messages": HELLO}, stream=stream)
    assert result == "Partial answ"
    assert context.warnings == [
        "the reply was cut short: the conversation filled the model's context window "
        "(finish_reason 'model_context_window_exceeded'); shorten the messages or choose a model with a longer context"
    ]


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_call_instead_of_text_is_a_clear_error(host, platform, stream):
    call = [{"id": "call_1", "type": "function", "index": 0, "function": {"name": "f", "arguments": "{}"}}]
    platform.answer = (None, "tool_calls", {"tool_calls": call})
    with pytest.raises(ZhipuError) as caught:
        ask(host, {"model": "glm-4-flash", "messages": HELLO}, stream=stream)
    assert "answered with a tool call instead of text" in str(caught.value)
    assert "set Output to FULL to receive tool calls" in str(caught.value)
    assert caught.value.request_id == "mock-request-1"


def test_an_undocumented_finish_reason_returns_the_text_with_a_warning(host, platform):
    platform.answer = ("Hi there", "abort", {})
    result, context, _ = ask(host, {"model": "glm-4-flash", "messages": HELLO})
    assert result == "Hi there"
    assert context.warnings == ["the reply ended with an undocumented finish_reason 'abort'; it may be incomplete"]


def test_a_reply_without_text_and_without_a_tool_call_is_malformed(host, platform):
    platform.answer = (None, "stop", {})
    with pytest.raises(MalformedResponseError, match="has no text content"):
        ask(host, {"model": "glm-4-flash", "messages": HELLO})


def test_reasoning_is_not_part_of_the_streamed_text(host, platform):
    platform.answer = ("The answer", "stop", {"reasoning_content": "thinking..."})
    result, _, pieces = ask(host, {"model": "glm-4-flash", "messages": HELLO}, stream=True)
    assert result == "The answer" and pieces == ["The", " answer"]


# --- streaming ------------------------------------------------------------------------------------

SAME_REQUESTS = [
    {"model": "glm-4-flash", "messages": HELLO},
    {"format": "SIMPLE", "model": "glm-4.5", "systemPrompt": "Be brief.", "userPrompt": "Why is the sky blue?"},
    {"model": "glm-4-flash", "messages": [{"role": "user", "content": "用一句话介绍杭州"}]},
    {"model": "glm-4-flash", "messages": HELLO, "maxTokens": 9},
    {"model": "glm-4-flash", "messages": HELLO, "stop": ["emulator"]},
]


@pytest.mark.parametrize("inputs", SAME_REQUESTS)
@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_streamed_ask_returns_exactly_what_the_plain_one_returns(host, emulator, inputs, asynchronous):
    plain, plain_context, _ = ask(host, inputs, asynchronous=asynchronous)
    streamed, streamed_context, pieces = ask(host, inputs, stream=True, asynchronous=asynchronous)
    assert streamed == plain
    assert streamed_context.warnings == plain_context.warnings
    assert "".join(pieces) == streamed and len(pieces) > 1
    plain_body, streamed_body = emulator.bodies
    assert streamed_body.pop("stream") is True
    plain_body.pop("request_id"), streamed_body.pop("request_id")
    assert streamed_body == plain_body
    assert emulator.requests[1][0]["accept"] == "text/event-stream"


def test_a_stream_error_mid_reply_fails_after_the_pieces_before_it(host, emulator):
    messages = [{"role": "user", "content": "Tell me a long story [[fault:stream_error]]"}]
    pieces: list[str] = []
    context = ActionContext("zhipu", "ask", on_partial=pieces.append)
    with pytest.raises(ServerError) as caught:
        host.run_action("zhipu", "ask", {"model": "glm-4-flash", "messages": messages}, CONNECTION, context=context)
    assert caught.value.code == "1234" and len(pieces) == 2


# --- cancellation ---------------------------------------------------------------------------------


def test_a_cancelled_call_sends_nothing(host, emulator):
    context = ActionContext("zhipu", "ask", cancel_event=threading.Event())
    context.cancel_event.set()
    with pytest.raises(ActionCancelledError):
        ask(host, {"model": "glm-4-flash", "messages": HELLO}, context=context)
    assert emulator.requests == []


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_stream_stops_at_the_first_chunk_after_cancelling(host, emulator, asynchronous):
    cancel = threading.Event()
    pieces: list[str] = []

    def on_partial(piece: str) -> None:
        pieces.append(piece)
        cancel.set()

    context = ActionContext("zhipu", "ask", cancel_event=cancel, on_partial=on_partial)
    with pytest.raises(ActionCancelledError):
        ask(host, {"model": "glm-4-flash", "messages": HELLO}, context=context, asynchronous=asynchronous)
    assert len(pieces) == 1
