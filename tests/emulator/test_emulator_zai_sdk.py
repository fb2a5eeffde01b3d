"""The SDK Zhipu now recommends, `zai-sdk`, unchanged, against the emulator over a real socket.

Both of its clients: `ZhipuAiClient` (the mainland platform) and `ZaiClient` (the international
one, which always sends `Accept-Language: en-US,en`), each against an emulator of its platform.
Every chat call of this SDK sends `response_format: null, thinking: null` with
`x-request-sdk: z-ai-sdk-python`; the platform accepts that, and so must the emulator.
"""

from __future__ import annotations

import json

import httpx
import pytest
import zai  # a test dependency: its absence is a failure, not a skip

from zhipu_connector.emulator import EmulatorConfig, running_emulator

KEY = "zaikeyid.zaiKeySecret0042"
HELLO = [{"role": "user", "content": "Hello"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
PLATFORMS = {"ZhipuAiClient": "mainland", "ZaiClient": "international"}


@pytest.fixture(scope="module", params=sorted(PLATFORMS))
def client_class(request):
    return request.param


@pytest.fixture(scope="module")
def base_url(client_class):
    config = EmulatorConfig(api_keys=frozenset({KEY}), platform=PLATFORMS[client_class], max_prompt_chars=2000)
    with running_emulator(config) as url:
        yield url


@pytest.fixture
def sdk(client_class, base_url):
    """The client as its users make it, pointed at the emulator; no retries (they sleep)."""
    client = getattr(zai, client_class)(api_key=KEY, base_url=base_url + "/", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def mainland(client_class) -> bool:
    return PLATFORMS[client_class] == "mainland"


def test_a_chat_completion(sdk) -> None:
    completion = sdk.chat.completions.create(model="glm-4.6", messages=HELLO)
    [choice] = completion.choices
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert '"Hello"' in choice.message.content and "glm-4.6" in choice.message.content
    assert choice.message.reasoning_content  # GLM-4.6 thinks by default
    usage = completion.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.completion_tokens_details.reasoning_tokens > 0
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert completion.model == "glm-4.6" and completion.created == 1735689600


def test_thinking_disabled_and_reasoning_effort(sdk) -> None:
    plain = sdk.chat.completions.create(model="glm-4.6", messages=HELLO, thinking={"type": "disabled"})
    assert plain.choices[0].message.reasoning_content is None
    brief = sdk.chat.completions.create(model="glm-5.3", messages=HELLO, reasoning_effort="low")
    full = sdk.chat.completions.create(model="glm-5.3", messages=HELLO, reasoning_effort="max")
    assert len(brief.choices[0].message.reasoning_content) < len(full.choices[0].message.reasoning_content)


def test_a_streamed_completion_keeps_reasoning_and_content_apart(sdk) -> None:
    whole = sdk.chat.completions.create(model="glm-4.6", messages=HELLO).choices[0].message
    chunks = list(sdk.chat.completions.create(model="glm-4.6", messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.reasoning_content or "" for c in chunks) == whole.reasoning_content
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.content
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage.total_tokens > 0


def test_json_output(sdk) -> None:
    completion = sdk.chat.completions.create(
        model="glm-4.6", messages=HELLO, response_format={"type": "json_object"}, thinking={"type": "disabled"}
    )
    assert json.loads(completion.choices[0].message.content)["model"] == "glm-4.6"


def test_a_tool_call_and_its_answer(sdk) -> None:
    asked = [{"role": "user", "content": "get_weather for Paris"}]
    completion = sdk.chat.completions.create(model="glm-4.6", messages=asked, tools=[WEATHER], tool_choice="auto")
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "get_weather for Paris"}
    answered = [
        *asked,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "content": '{"celsius": 21}', "tool_call_id": call.id},
    ]
    reply = sdk.chat.completions.create(model="glm-4.6", messages=answered, tools=[WEATHER])
    assert reply.choices[0].message.content.startswith('The tool returned "{"celsius": 21}"')


def test_tool_call_deltas_with_tool_stream(sdk) -> None:
    asked = [{"role": "user", "content": "get_weather for Paris"}]
    chunks = list(
        sdk.chat.completions.create(model="glm-4.6", messages=asked, tools=[WEATHER], stream=True, tool_stream=True)
    )
    deltas = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or []]
    assert len(deltas) > 1 and deltas[0].function.name == "get_weather" and deltas[0].id.startswith("call_")
    arguments = "".join(delta.function.arguments or "" for delta in deltas)
    assert json.loads(arguments) == {"city": "get_weather for Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_web_search(sdk, mainland) -> None:
    engine = "search_pro" if mainland else "search_pro_jina"
    tool = {"type": "web_search", "web_search": {"search_engine": engine, "count": 2, "search_query": "GLM"}}
    completion = sdk.chat.completions.create(model="glm-4.6", messages=HELLO, tools=[tool])
    results = completion.model_dump()["web_search"]
    assert [result["refer"] for result in results] == ["ref_1", "ref_2"]
    assert completion.choices[0].message.content.startswith("According to 2 web search results")


def test_content_filter_on_the_mainland_only(sdk, mainland) -> None:
    completion = sdk.chat.completions.create(model="glm-4.6", messages=HELLO).model_dump()
    assert ("content_filter" in completion) is mainland


def test_image_generation(sdk, mainland) -> None:
    answer = sdk.images.generations(model="glm-image", prompt="a red fox in the snow", size="1728x960")
    [image] = answer.data
    png = httpx.get(image.url, timeout=5)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    unmarked = sdk.images.generations(model="cogview-4-250304", prompt="a red fox", watermark_enabled=False)
    assert unmarked.data[0].url != image.url


def test_the_jwt_it_signs_is_verified(client_class, base_url) -> None:
    client = getattr(zai, client_class)(api_key=KEY, base_url=base_url + "/", max_retries=0, disable_token_cache=False)
    try:
        assert client.chat.completions.create(model="glm-4.6", messages=HELLO).choices[0].finish_reason == "stop"
    finally:
        client.close()


@pytest.mark.parametrize(
    ("fault", "error_class", "status", "code"),
    [
        ("rate_limit", "APIReachLimitError", 429, "1302"),
        ("no_balance", "APIReachLimitError", 429, "1113"),
        ("sensitive", "APIRequestFailedError", 400, "1301"),
        ("server_error", "APIInternalError", 500, "500"),
        ("unavailable", "APIServerFlowExceedError", 503, "503"),
    ],
)
def test_faults_raise_the_sdk_s_error_classes(sdk, fault, error_class, status, code) -> None:
    with pytest.raises(zai.core.APIStatusError) as caught:
        sdk.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": f"Hi [[fault:{fault}]]"}])
    assert type(caught.value) is getattr(zai.core, error_class)
    assert caught.value.status_code == status
    assert caught.value.response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("arguments", "code", "words"),
    [
        ({"model": "glm-99", "messages": HELLO}, "1211", "unknown model"),
        ({"model": "glm-4.6", "messages": HELLO, "stop": ["a", "b"]}, "1214", "stop:最大只能有1个停止词"),
        ({"model": "glm-5.3", "messages": HELLO, "thinking": {"type": "disabled"}}, "1214", "always thinks"),
        ({"model": "glm-4.6", "messages": HELLO, "max_tokens": 131073}, "1214", "max_tokens"),
    ],
)
def test_refused_requests_are_the_sdk_s_request_failed_error(sdk, arguments, code, words) -> None:
    with pytest.raises(zai.core.APIRequestFailedError) as caught:
        sdk.chat.completions.create(**arguments)
    assert caught.value.status_code == 400
    error = caught.value.response.json()["error"]
    assert error["code"] == code and words in error["message"]


def test_a_mainland_only_model_on_the_international_platform(sdk, mainland) -> None:
    if mainland:
        assert sdk.chat.completions.create(model="glm-4-plus", messages=HELLO).choices[0].finish_reason == "stop"
        return
    with pytest.raises(zai.core.APIRequestFailedError) as caught:
        sdk.chat.completions.create(model="glm-4-plus", messages=HELLO)
    assert caught.value.response.json()["error"]["code"] == "1211"


def test_an_unknown_key_is_the_sdk_s_authentication_error(client_class, base_url) -> None:
    client = getattr(zai, client_class)(api_key="otherid.otherSecret1234", base_url=base_url + "/", max_retries=0)
    try:
        with pytest.raises(zai.core.APIAuthenticationError) as caught:
            client.chat.completions.create(model="glm-4.6", messages=HELLO)
    finally:
        client.close()
    assert caught.value.status_code == 401 and caught.value.response.json()["error"]["code"] == "1002"


def test_an_error_event_mid_stream(sdk) -> None:
    stream = sdk.chat.completions.create(
        model="glm-4-32b-0414-128k", messages=[{"role": "user", "content": "Hi [[fault:stream_error]]"}], stream=True
    )
    received = []
    with pytest.raises(zai.core.APIResponseError, match="An error occurred during streaming"):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content)
    assert len(received) == 2
