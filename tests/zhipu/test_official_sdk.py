"""The official `zhipuai` SDK, unchanged, against the emulator over a real socket.

If the platform's own client works against the emulator, the emulator speaks the platform's
protocol, and what the connector does against it carries over. Each test also compares the
SDK's answer with the connector's for the same request.
"""

from __future__ import annotations

import httpx
import pytest
import zhipuai  # a test dependency: its absence is a failure, not a skip

from zhipu_connector.emulator import EmulatorConfig, running_emulator
from zhipu_connector.zhipu import connections

KEY = "sdkkeyid.sdkKeySecret0042"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture(scope="module")
def base_url():
    with running_emulator(EmulatorConfig(api_keys=frozenset({KEY}), max_prompt_chars=2000)) as url:
        yield url


@pytest.fixture
def sdk(base_url):
    """The SDK as its users make it: the base URL with its trailing slash; no retries (they sleep)."""
    client = zhipuai.ZhipuAI(api_key=KEY, base_url=base_url + "/", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def connector(host, base_url):
    with connections.configured():
        yield lambda action, inputs: host.run_action("zhipu", action, inputs, {"token": KEY, "baseUrl": base_url})


def test_a_chat_completion_reads_as_the_connector_reads_it(sdk, connector):
    completion = sdk.chat.completions.create(model="glm-4-flash", messages=HELLO)
    [choice] = completion.choices
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content == connector("ask", {"model": "glm-4-flash", "messages": HELLO})
    assert completion.model == "glm-4-flash" and completion.created == 1735689600
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_every_option_the_sdk_sends_is_accepted(sdk, connector):
    completion = sdk.chat.completions.create(
        model="glm-4-plus",
        messages=HELLO,
        temperature=0.5,
        top_p=0.7,
        max_tokens=20,
        stop=["emulator"],
        request_id="sdk-request-0001",
        user_id="user-123456",
        do_sample=True,
    )
    assert completion.request_id == "sdk-request-0001"
    assert completion.choices[0].message.content == connector(
        "ask",
        {
            "model": "glm-4-plus",
            "messages": HELLO,
            "temperature": 0.5,
            "topP": 0.7,
            "maxTokens": 20,
            "stop": ["emulator"],
            "requestId": "sdk-request-0002",
            "doSample": True,
            "user": "user-123456",
        },
    )


def test_a_streamed_completion_joins_to_the_plain_one(sdk):
    plain = sdk.chat.completions.create(model="glm-4-flash", messages=HELLO).choices[0].message.content
    chunks = list(sdk.chat.completions.create(model="glm-4-flash", messages=HELLO, stream=True))
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == plain
    assert len(chunks) > 2 and chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage is not None


def test_the_sdk_signs_jwts_the_emulator_verifies(base_url):
    client = zhipuai.ZhipuAI(api_key=KEY, base_url=base_url + "/", max_retries=0, disable_token_cache=False)
    try:
        assert client.chat.completions.create(model="glm-4-flash", messages=HELLO).choices[0].finish_reason == "stop"
    finally:
        client.close()


def test_an_image_generation_gives_the_same_image_as_the_connector(sdk, connector):
    answer = sdk.images.generations(model="cogview-4", prompt="a red fox in the snow", size="1344x768")
    [image] = answer.data
    ours = connector(
        "createImage",
        {"model": "cogview-4", "imageMessages": [{"content": "a red fox in the snow"}], "size": "1344x768"},
    )
    verdicts = [
        {"role": item["role"], "level": item["level"]}
        if isinstance(item, dict)
        else {"role": item.role, "level": item.level}
        for item in answer.content_filter or ()
    ]
    assert ours == {"created": answer.created, "data": [{"url": image.url}], "contentFilter": verdicts}
    png = httpx.get(image.url)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")


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
def test_injected_faults_raise_the_sdk_s_own_error_classes(sdk, fault, error_class, status, code):
    with pytest.raises(zhipuai.APIStatusError) as caught:
        sdk.chat.completions.create(
            model="glm-4-flash", messages=[{"role": "user", "content": f"Hello [[fault:{fault}]]"}]
        )
    assert type(caught.value) is getattr(zhipuai, error_class)
    assert caught.value.status_code == status
    assert caught.value.response.json()["error"]["code"] == code


def test_a_fault_asked_for_by_header_applies_to_image_generation_too(sdk):
    with pytest.raises(zhipuai.APIReachLimitError):
        sdk.images.generations(model="cogview-4", prompt="a fox", extra_headers={"X-Emulator-Fault": "overloaded"})


def test_an_unknown_key_is_the_sdk_s_authentication_error(base_url):
    client = zhipuai.ZhipuAI(api_key="otherid.otherSecret1234", base_url=base_url + "/", max_retries=0)
    try:
        with pytest.raises(zhipuai.APIAuthenticationError) as caught:
            client.chat.completions.create(model="glm-4-flash", messages=HELLO)
    finally:
        client.close()
    assert caught.value.status_code == 401 and caught.value.response.json()["error"]["code"] == "1002"


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"model": "glm-99-turbo", "messages": HELLO}, "1211"),
        ({"model": "glm-4-flash", "messages": [{"role": "user", "content": "x" * 2001}]}, "1261"),
        ({"model": "glm-4-flash", "messages": HELLO, "max_tokens": 5000}, "1214"),
    ],
)
def test_refused_requests_are_the_sdk_s_request_failed_error(sdk, arguments, code):
    with pytest.raises(zhipuai.APIRequestFailedError) as caught:
        sdk.chat.completions.create(**arguments)
    assert caught.value.status_code == 400 and caught.value.response.json()["error"]["code"] == code


def test_an_error_event_mid_stream_is_the_sdk_s_streaming_error(sdk):
    stream = sdk.chat.completions.create(
        model="glm-4-flash", messages=[{"role": "user", "content": "Hi [[fault:stream_error]]"}], stream=True
    )
    received = []
    with pytest.raises(zhipuai.APIResponseError, match="An error occurred during streaming"):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content)
    assert len(received) == 2
