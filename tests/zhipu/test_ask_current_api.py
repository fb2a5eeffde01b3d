"""Ask on today's API, driven as a user would: models per platform, thinking, JSON, the full
reply, vision parts, tools, web search, streaming and the bad inputs refused before sending."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from zhipu_recording import RecordingApp

from zhipu_connector.emulator import EmulatorConfig, create_app
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import InputValidationError
from zhipu_connector.host.host import Host
from zhipu_connector.zhipu import connections
from zhipu_connector.zhipu.ask import StreamedReply, reply_output
from zhipu_connector.zhipu.errors import InvalidJsonAnswerError, ZhipuError

KEY = "askkeyid.askKeySecret0042"
BASE_URL = "http://emulator.test/api/paas/v4"
MAINLAND = "https://open.bigmodel.cn/api/paas/v4"
INTERNATIONAL = "https://api.z.ai/api/paas/v4"
CONNECTION = {"token": KEY, "baseUrl": BASE_URL}
HELLO = [{"role": "user", "content": "Hello"}]
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def ask(host: Host, inputs: dict[str, Any], connection: dict[str, Any] | None = None, **context_args: Any) -> Any:
    context = ActionContext("zhipu", "ask", **context_args)
    return host.run_action("zhipu", "ask", inputs, connection or CONNECTION, context=context)


def refused(host: Host, emulator: RecordingApp, inputs: dict[str, Any], connection: dict[str, Any] | None = None):
    with pytest.raises(InputValidationError) as caught:
        ask(host, inputs, connection)
    assert emulator.requests == []  # nothing was sent
    return {problem.location: problem.message for problem in caught.value.problems}


# --- models per platform ------------------------------------------------------------------------


def test_the_model_options_hold_every_current_id_and_a_current_example(host):
    model = host.component("zhipu").action("ask").property("model")
    ids = {option.value for option in model.options or ()}
    assert {"glm-5.3", "glm-5.2", "glm-4.7", "glm-4.7-flash", "glm-4.6v", "glm-4.5v", "glm-5v-turbo"} <= ids
    assert model.example_value == "glm-4.7-flash" and model.example_value in ids
    image_ids = {o.value for o in host.component("zhipu").action("createImage").property("model").options or ()}
    assert {"glm-image", "cogview-4-250304", "cogview-4", "cogview-3-flash"} <= image_ids


def test_a_mainland_only_model_is_refused_on_the_international_platform_before_sending(host, emulator):
    problems = refused(
        host, emulator, {"model": "glm-4-plus", "messages": HELLO}, {"token": KEY, "baseUrl": INTERNATIONAL}
    )
    assert problems["model"].startswith("'glm-4-plus' is not served with baseUrl International platform (api.z.ai)")
    assert "Mainland platform (open.bigmodel.cn)" in problems["model"]


def test_platform_engines_are_refused_on_the_other_platform(host, emulator):
    inputs = {"model": "glm-4.6", "messages": HELLO, "webSearch": True, "searchEngine": "search_pro_jina"}
    problems = refused(host, emulator, inputs, {"token": KEY, "baseUrl": MAINLAND + "/"})
    assert "not served with baseUrl Mainland platform" in problems["searchEngine"]


def test_a_custom_base_url_is_not_judged(host, emulator):
    assert isinstance(ask(host, {"model": "glm-4-plus", "messages": HELLO}), str)
    assert emulator.bodies[0]["model"] == "glm-4-plus"


# --- thinking -----------------------------------------------------------------------------------


def test_thinking_and_its_settings_are_sent_as_the_api_spells_them(host, emulator):
    ask(host, {"model": "glm-5.2", "messages": HELLO, "thinking": "disabled", "reasoningEffort": "low"})
    ask(host, {"model": "glm-4.6", "messages": HELLO, "clearThinking": False})
    first, second = emulator.bodies
    assert first["thinking"] == {"type": "disabled"} and first["reasoning_effort"] == "low"
    assert second["thinking"] == {"type": "enabled", "clear_thinking": False}


@pytest.mark.parametrize(
    ("inputs", "location", "words"),
    [
        ({"model": "glm-5.3", "thinking": "disabled"}, "thinking", "GLM-5.3 always thinks"),
        ({"model": "glm-4.7-flash", "thinking": "disabled"}, "thinking", "GLM-4.7 always thinks"),
        ({"model": "glm-4.5v", "thinking": "disabled"}, "thinking", "GLM-4.5V always thinks"),
        ({"model": "glm-4-plus", "thinking": "enabled"}, "thinking", "GLM-4.5 and later"),
        ({"model": "glm-5.3", "reasoningEffort": "medium"}, "reasoningEffort", "low, high, max only"),
        ({"model": "glm-4.6", "reasoningEffort": "high"}, "reasoningEffort", "GLM-5.2 and later"),
        ({"model": "glm-4.6v", "responseFormat": "JSON"}, "responseFormat", "text models only"),
        ({"model": "glm-4.5", "maxTokens": 100000}, "maxTokens", "at most 98304 tokens"),
        ({"model": "glm-4.6", "stop": ["a", "b"]}, "stop", "is too long"),  # maxItems 1, checked by dispatch
    ],
)
def test_what_a_model_cannot_take_is_refused_naming_the_field_and_rule(host, emulator, inputs, location, words):
    problems = refused(host, emulator, {"messages": HELLO, **inputs})
    assert words in problems[location]


def test_the_reasoning_is_in_the_full_reply_and_not_in_the_text(host, emulator):
    result = ask(host, {"model": "glm-4.6", "messages": HELLO, "output": "FULL"})
    assert result["reasoning"] and result["reasoning"] not in result["text"]
    assert result["usage"]["completionTokens"] > 0 and result["usage"]["reasoningTokens"] > 0


# --- JSON and the full reply --------------------------------------------------------------------


def test_a_json_answer_comes_back_parsed(host, emulator):
    result = ask(
        host,
        {"model": "glm-4.6", "messages": [{"role": "user", "content": "Answer in JSON"}], "responseFormat": "JSON"},
    )
    assert isinstance(result, dict) and result["model"] == "glm-4.6"
    assert emulator.bodies[0]["response_format"] == {"type": "json_object"}


def test_an_answer_that_is_not_json_is_an_error_with_finish_reason_and_excerpt():
    completion = {"choices": [{"finish_reason": "length", "message": {"content": '{"answer": "cut he'}}]}
    with pytest.raises(InvalidJsonAnswerError) as caught:
        reply_output(completion, {"responseFormat": "JSON"}, "req-123456", ActionContext("zhipu", "ask"))
    message = str(caught.value)
    assert "not valid JSON" in message and "'length'" in message and "raise Max tokens" in message
    assert '{"answer": "cut he' in message and caught.value.request_id == "req-123456"


def test_a_json_answer_in_a_code_fence_is_parsed():
    completion = {"choices": [{"finish_reason": "stop", "message": {"content": '```json\n{"a": 1}\n```'}}]}
    assert reply_output(completion, {"responseFormat": "JSON"}, "r" * 8, ActionContext("zhipu", "ask")) == {"a": 1}


def test_the_full_reply_holds_everything_and_dispatch_checks_its_schema(host, emulator):
    result = ask(
        host,
        {
            "model": "glm-4.6",
            "messages": [{"role": "user", "content": "Answer in JSON"}],
            "output": "FULL",
            "responseFormat": "JSON",
        },
    )
    assert set(result) >= {"text", "json", "reasoning", "toolCalls", "finishReason", "usage", "requestId", "model"}
    assert result["json"] == json.loads(result["text"]) and result["toolCalls"] == []
    assert result["finishReason"] == "stop" and result["requestId"] == emulator.bodies[0]["request_id"]
    assert "cachedTokens" in result["usage"]
    bound = host.action("zhipu", "ask")
    schema, validator = bound.output_for({"output": "FULL"})
    assert validator.is_valid(result) and not bound.output_for({})[1].is_valid(result)
    assert schema["properties"]["usage"]["properties"]["cachedTokens"]["type"] == "integer"


def test_the_simple_output_is_still_a_string(host, emulator):
    assert isinstance(ask(host, {"model": "glm-4.6", "messages": HELLO}), str)
    assert host.action("zhipu", "ask").output_for({"format": "ADVANCED"})[0]["type"] == "string"


# --- vision parts -------------------------------------------------------------------------------

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _png(width: int, height: int) -> bytes:
    return PNG_1X1[:16] + width.to_bytes(4, "big") + height.to_bytes(4, "big") + PNG_1X1[24:]


def test_parts_are_sent_as_the_content_list_and_a_data_url_as_the_sdk_sends_it(host, emulator):
    data = base64.b64encode(PNG_1X1).decode()
    parts = [
        {"type": "image_url", "url": "https://example.com/cat.png"},
        {"type": "image_url", "url": f"data:image/png;base64,{data}"},
        {"type": "video_url", "url": "https://example.com/clip.mp4"},
        {"type": "file", "url": "https://example.com/report.pdf"},
    ]
    ask(host, {"model": "glm-4.6v", "messages": [{"role": "user", "content": "What is this?", "parts": parts}]})
    assert emulator.bodies[0]["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": data}},
        {"type": "video_url", "video_url": {"url": "https://example.com/clip.mp4"}},
        {"type": "file", "file": {"file_url": "https://example.com/report.pdf"}},
    ]


@pytest.mark.parametrize(
    ("part", "words"),
    [
        (
            {"type": "image_url", "url": "data:image/png;base64," + base64.b64encode(_png(6001, 10)).decode()},
            "6001×10 pixels",
        ),
        (
            {"type": "image_url", "url": base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024)).decode()},
            "at most 5 MB",
        ),
        ({"type": "image_url", "url": "https://example.com/cat.webp"}, "images must be jpg, jpeg, png, not webp"),
        ({"type": "image_url", "url": "data:image/gif;base64,R0lGOD=="}, "not image/gif"),
        ({"type": "image_url", "url": "not base64 at all!"}, "http(s) URL, a data: URL or base64"),
        ({"type": "video_url", "url": "https://example.com/clip.avi"}, "videos must be mp4, mkv, mov"),
        ({"type": "text"}, "Text is required"),
    ],
)
def test_parts_over_the_documented_limits_are_refused(host, emulator, part, words):
    problems = refused(
        host, emulator, {"model": "glm-4.6v", "messages": [{"role": "user", "content": "Look", "parts": [part]}]}
    )
    assert any(words in message for message in problems.values()), problems


def test_an_image_part_on_a_text_model_is_refused(host, emulator):
    message = {"role": "user", "content": "Look", "parts": [{"type": "image_url", "url": "https://example.com/a.png"}]}
    problems = refused(host, emulator, {"model": "glm-4.7", "messages": [message]})
    assert "needs a vision model; glm-4.7 reads text only" in problems["messages[0].parts[0].type"]


# --- tools and web search -----------------------------------------------------------------------


def test_a_tool_call_comes_back_in_the_full_reply_and_the_loop_goes_on(host, emulator):
    asked = [{"role": "user", "content": "Use get_weather for Paris"}]
    first = ask(
        host, {"model": "glm-4.6", "messages": asked, "tools": [WEATHER], "toolChoice": "auto", "output": "FULL"}
    )
    assert emulator.bodies[0]["tools"] == [{"type": "function", "function": WEATHER}]
    assert emulator.bodies[0]["tool_choice"] == "auto"
    [call] = first["toolCalls"]
    assert first["finishReason"] == "tool_calls" and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == call["parsedArguments"]
    follow_up = [
        *asked,
        {"role": "assistant", "toolCalls": first["toolCalls"]},
        {"role": "tool", "toolCallId": call["id"], "content": '{"celsius": 21}'},
    ]
    second = ask(host, {"model": "glm-4.6", "messages": follow_up, "tools": [WEATHER], "output": "FULL"})
    sent = emulator.bodies[1]["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call["id"], "type": "function", "function": {"name": "get_weather", "arguments": call["arguments"]}}
        ],
    }
    assert sent[2] == {"role": "tool", "content": '{"celsius": 21}', "tool_call_id": call["id"]}
    assert second["finishReason"] == "stop" and second["text"] and second["toolCalls"] == []


@pytest.mark.parametrize(
    ("tools", "location", "words"),
    [
        ([{**WEATHER, "name": "get weather"}], "tools[0].name", "does not match"),
        (
            [{**WEATHER, "name": f"tool_{n}"} for n in range(129)],
            "tools",
            "maxItems",
        ),  # at most 128, checked by dispatch
        ([{**WEATHER, "parameters": {"type": "array"}}], "tools[0].parameters", "must describe an object"),
        (
            [{**WEATHER, "parameters": {"type": "object", "properties": 3}}],
            "tools[0].parameters",
            "not a valid JSON Schema",
        ),
        ([WEATHER, WEATHER], "tools[1].name", "already the name of tools[0]"),
    ],
)
def test_bad_tools_are_refused(host, emulator, tools, location, words):
    problems = refused(host, emulator, {"model": "glm-4.6", "messages": HELLO, "tools": tools, "output": "FULL"})
    assert words in problems[location], problems


def test_tools_need_the_full_output(host, emulator):
    problems = refused(host, emulator, {"model": "glm-4.6", "messages": HELLO, "tools": [WEATHER]})
    assert "tools need Output FULL" in problems["tools"]


def test_web_search_is_a_toggle_with_its_options_and_its_results_come_back(host, emulator):
    inputs = {
        "model": "glm-4.6",
        "messages": [{"role": "user", "content": "News about lighthouses"}],
        "output": "FULL",
        "webSearch": True,
        "searchEngine": "search_pro",
        "searchCount": 3,
        "searchRecency": "oneWeek",
        "searchDomainFilter": "www.example.com",
        "searchContentSize": "high",
    }
    result = ask(host, inputs)
    assert emulator.bodies[0]["tools"] == [
        {
            "type": "web_search",
            "web_search": {
                "enable": True,
                "search_result": True,
                "search_engine": "search_pro",
                "count": 3,
                "search_recency_filter": "oneWeek",
                "search_domain_filter": "www.example.com",
                "content_size": "high",
            },
        }
    ]
    assert result["webSearch"] and {"title", "link"} <= set(result["webSearch"][0])


def test_web_search_needs_an_engine(host, emulator):
    problems = refused(host, emulator, {"model": "glm-4.6", "messages": HELLO, "webSearch": True})
    assert any("searchEngine" in location or "searchEngine" in message for location, message in problems.items())


# --- streaming ----------------------------------------------------------------------------------


def test_a_streamed_full_reply_equals_the_unstreamed_one_with_reasoning_apart(host, emulator):
    inputs = {
        "model": "glm-4.6",
        "messages": [{"role": "user", "content": "Use get_weather for Paris"}],
        "tools": [WEATHER],
        "output": "FULL",
    }
    plain = ask(host, inputs)
    pieces: list[str] = []
    thoughts: list[str] = []
    streamed = ask(host, inputs, on_partial=pieces.append, on_reasoning=thoughts.append)
    assert emulator.bodies[1]["tool_stream"] is True and "tool_stream" not in emulator.bodies[0]
    assert "".join(thoughts) == streamed["reasoning"] == plain["reasoning"]
    assert "".join(pieces) == streamed["text"]
    for key in ("text", "toolCalls", "finishReason", "usage"):
        assert streamed[key] == plain[key], key


def test_tool_call_deltas_are_assembled_by_index():
    reply = StreamedReply(lambda piece: None)
    chunks = [
        {
            "request_id": "r1",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}
                        ]
                    },
                }
            ],
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "g", "arguments": '{"b"'}}]},
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 1, "function": {"arguments": ": 2}"}}]},
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        },
    ]
    for chunk in chunks:
        reply.add(chunk)
    result = reply_output(reply.completion(), {"output": "FULL"}, "fallback", ActionContext("zhipu", "ask"))
    assert [(c["id"], c["name"], c["parsedArguments"]) for c in result["toolCalls"]] == [
        ("c1", "f", {"a": 1}),
        ("c2", "g", {"b": 2}),
    ]
    assert result["text"] == "" and result["requestId"] == "r1" and result["usage"]["totalTokens"] == 3


def test_a_tool_call_in_the_answer_mode_is_an_error_that_points_to_full():
    completion = {
        "choices": [{"finish_reason": "tool_calls", "message": {"content": None, "tool_calls": [{"id": "c"}]}}]
    }
    with pytest.raises(ZhipuError, match="set Output to FULL"):
        reply_output(completion, {}, "r" * 8, ActionContext("zhipu", "ask"))


def test_run_ask_stream_shows_the_reasoning_apart_and_ends_with_the_same_result(capsys, monkeypatch):
    from zhipu_connector import cli

    app = create_app(EmulatorConfig(api_keys=frozenset({KEY})))
    inputs = json.dumps({"model": "glm-4.6", "messages": HELLO})
    with connections.configured(transport_factory=connections.InProcessTransports(app)):
        assert cli.main(["run", "ask", "--base-url", BASE_URL, "--token", KEY, "--input", inputs]) == 0
        plain = capsys.readouterr()
        assert cli.main(["run", "ask", "--stream", "--base-url", BASE_URL, "--token", KEY, "--input", inputs]) == 0
        streamed = capsys.readouterr()
    answer = json.loads(plain.out)
    assert streamed.out == plain.out  # the same result on stdout, reasoning never in it
    reasoning_line, answer_line = streamed.err.splitlines()[:2]
    assert reasoning_line.startswith("reasoning: ") and len(reasoning_line) > len("reasoning: ")
    assert answer_line == answer and answer_line not in reasoning_line


@pytest.mark.parametrize("name", ["structured-answer", "tool-call"])
def test_the_json_and_tool_call_examples_run_against_the_emulator(name):
    from zhipu_connector.workflow.checks import check_workflow
    from zhipu_connector.workflow.examples import examples_directory
    from zhipu_connector.workflow.model import load_workflow
    from zhipu_connector.workflow.runner import run_workflow

    host = Host(entry_points=False)  # the built-in plugins: zhipu and core
    workflow = load_workflow(examples_directory() / f"{name}.yaml")
    assert check_workflow(host, workflow) == []
    app = RecordingApp(create_app(EmulatorConfig(api_keys=frozenset({KEY}))))
    with connections.configured(transport_factory=connections.InProcessTransports(app)):
        result = run_workflow(host, workflow, {}, {"zhipu": CONNECTION})
    if name == "structured-answer":
        assert app.bodies[0]["response_format"] == {"type": "json_object"}
        assert result.outputs["answer"] == result.outputs["reply"]["answer"]
    else:
        call = result.outputs["toolCall"]
        assert call["name"] == "get_weather" and "Lisbon" in call["parsedArguments"]["city"]
        tool_message = app.bodies[1]["messages"][2]
        assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == call["id"]
        assert "light rain" in tool_message["content"] and result.outputs["reply"]


def test_the_language_of_errors_is_a_connection_setting_sent_as_accept_language(host, emulator):
    ask(host, {"model": "glm-4.6", "messages": HELLO}, {**CONNECTION, "acceptLanguage": "zh-CN,zh"})
    ask(host, {"model": "glm-4.6", "messages": HELLO})
    (chosen, _), (default, _) = emulator.requests
    assert chosen["accept-language"] == "zh-CN,zh" and "accept-language" not in default


def test_final_quota_and_plan_codes_are_not_retried_and_a_usage_cap_says_when_it_lifts():
    from zhipu_connector.zhipu.errors import QuotaExceededError, error_from_response
    from zhipu_connector.zhipu.retry import RetryPolicy

    for code in ("1308", "1309", "1310", "1311", "1313", "1121", "1110", "1111", "1120"):
        error = error_from_response(429, json.dumps({"error": {"code": code, "message": "no"}}).encode(), "r" * 8)
        assert isinstance(error, QuotaExceededError) and RetryPolicy().delay_before_retry(0, error) is None, code
    cap = "Usage limit reached for 5 hour. Your limit will reset at 2026-08-27 21:31:39"
    error = error_from_response(429, json.dumps({"error": {"code": "1308", "message": cap}}).encode(), None)
    assert "2026-08-27 21:31:39" in str(error) and error.resets_at == "2026-08-27 21:31:39"
    assert error.to_dict()["resetsAt"] == "2026-08-27 21:31:39"
    bare = error_from_response(429, b'{"error": {"code": "1308"}}', None)
    assert "did not say when the cap lifts" in str(bare)
    balance = error_from_response(429, b'{"error": {"code": "1113", "message": "Insufficient balance"}}', None)
    assert "other platform" in str(balance) and "GLM Coding Plan key" in str(balance)
