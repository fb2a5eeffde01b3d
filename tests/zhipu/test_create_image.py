"""The Create image action: the prompt rule, the exact request, and every image returned."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from zhipu_connector.host.errors import InputValidationError
from zhipu_connector.host.host import Host
from zhipu_connector.zhipu import connections
from zhipu_connector.zhipu.create_image import image_prompt
from zhipu_connector.zhipu.errors import MalformedResponseError

KEY = "imgkeyid.imgKeySecret0042"
BASE_URL = "http://emulator.test/api/paas/v4"
CONNECTION = {"token": KEY, "baseUrl": BASE_URL}
HEX32 = re.compile(r"[0-9a-f]{32}")


def create_image(host: Host, inputs: dict[str, Any], *, asynchronous: bool = False) -> Any:
    if not asynchronous:
        return host.run_action("zhipu", "createImage", inputs, CONNECTION)

    async def go() -> Any:
        try:
            return await host.arun_action("zhipu", "createImage", inputs, CONNECTION)
        finally:
            await connections.aclose_all()

    return asyncio.run(go())


# --- the prompt rule ---------------------------------------------------------------------------


def test_one_message_is_the_prompt_as_written():
    assert image_prompt([{"content": "A red fox in the snow"}]) == "A red fox in the snow"
    assert image_prompt([{"content": "  A red fox \n", "weight": 3}]) == "A red fox"


def test_equal_weights_keep_the_given_order_without_marks():
    messages = [
        {"content": "a lighthouse"},
        {"content": "at dusk", "weight": 1},
        {"content": "oil painting", "weight": 1.0},
    ]
    assert image_prompt(messages) == "a lighthouse\nat dusk\noil painting"


def test_weights_order_the_messages_and_mark_the_lesser_ones():
    messages = [
        {"content": "watercolour style", "weight": 1},
        {"content": "a cat asleep on a windowsill", "weight": 4},
        {"content": "rain outside", "weight": 2},
        {"content": "a teacup", "weight": 1.9},
        {"content": "no text in the image", "weight": 0},
        {"content": "warm light"},
        {"content": "a second main subject: a dog", "weight": 4},
    ]
    assert image_prompt(messages) == "\n".join(
        [
            "a cat asleep on a windowsill",
            "a second main subject: a dog",
            "Secondary: rain outside",
            "Minor detail: a teacup",
            "Minor detail: watercolour style",
            "Minor detail: warm light",
            "Optional: no text in the image",
        ]
    )


def test_a_zero_weight_is_mentioned_last_not_dropped():
    prompt = image_prompt([{"content": "background: plain", "weight": 0}, {"content": "a red apple"}])
    assert prompt == "a red apple\nOptional: background: plain"


def test_all_zero_weights_are_equal_weights():
    assert image_prompt([{"content": "a", "weight": 0}, {"content": "b", "weight": 0}]) == "a\nb"


def test_the_rule_is_deterministic_and_order_only_matters_between_equal_weights():
    messages = [{"content": "x", "weight": 2}, {"content": "y", "weight": 1}, {"content": "z", "weight": 2}]
    assert image_prompt(messages) == image_prompt(list(messages)) == "x\nz\nSecondary: y"
    assert image_prompt([messages[2], messages[1], messages[0]]) == "z\nx\nSecondary: y"


def test_blank_messages_are_refused_naming_each(host, emulator):
    inputs = {"model": "cogview-4", "imageMessages": [{"content": "a fox"}, {"content": "   "}, {"content": "\n\t"}]}
    with pytest.raises(InputValidationError) as caught:
        create_image(host, inputs)
    assert [p.location for p in caught.value.problems] == ["imageMessages[1].content", "imageMessages[2].content"]
    assert "Content is blank" in caught.value.problems[0].message
    assert emulator.requests == []


# --- what is sent ---------------------------------------------------------------------------------


def test_several_weighted_messages_become_one_prompt_on_the_wire(host, emulator):
    result = create_image(
        host,
        {
            "model": "cogview-4-250304",
            "imageMessages": [
                {"content": "soft pastel colours", "weight": 0.5},
                {"content": "a lighthouse on a cliff", "weight": 2},
                {"content": "stormy sea"},
            ],
        },
    )
    [(headers, body)] = emulator.requests
    assert body == {
        "model": "cogview-4-250304",
        "prompt": "a lighthouse on a cliff\nSecondary: stormy sea\nMinor detail: soft pastel colours",
    }  # no request_id: the image reference does not list it
    assert headers["path"] == "/api/paas/v4/images/generations"
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["content-type"] == "application/json"
    assert set(result) == {"created", "data", "contentFilter"} and result["created"] == 1735689600
    [image] = result["data"]
    assert set(image) == {"url"} and re.fullmatch(
        r"http://emulator\.test/emulator/images/[0-9a-f]{32}\.png", image["url"]
    )


def test_size_quality_and_user_are_sent_under_the_api_names(host, emulator):
    create_image(
        host,
        {
            "model": "cogview-4-250304",
            "imageMessages": [{"content": "a fox"}],
            "size": "768x1344",
            "quality": "hd",
            "watermarkEnabled": False,
            "user": "user-12345",
        },
    )
    [body] = emulator.bodies
    assert body == {
        "model": "cogview-4-250304",
        "prompt": "a fox",
        "size": "768x1344",
        "quality": "hd",
        "watermark_enabled": False,
        "user_id": "user-12345",
    }


def test_the_image_url_serves_a_png(host, emulator):
    result = create_image(host, {"model": "glm-image", "imageMessages": [{"content": "a fox"}]})

    async def download() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator)) as client:
            return await client.get(result["data"][0]["url"])

    response = asyncio.run(download())
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    ("model", "size", "words"),
    [
        ("glm-image", "1024x1000", "each side must be 1024–2048 and divisible by 32"),
        ("glm-image", "2048x4096", "each side must be 1024–2048"),
        ("cogview-4", "2048x2048", "at most 2097152 pixels"),
        ("cogview-4", "1000x1000", "divisible by 16"),
    ],
)
def test_a_size_the_model_cannot_make_is_refused_before_sending(host, emulator, model, size, words):
    with pytest.raises(InputValidationError) as caught:
        create_image(host, {"model": model, "imageMessages": [{"content": "a fox"}], "size": size})
    [problem] = caught.value.problems
    assert problem.location == "size" and words in problem.message and emulator.requests == []


@pytest.mark.parametrize(
    "size", ["1280x1280", "1568x1056", "1056x1568", "1472x1088", "1088x1472", "1728x960", "960x1728"]
)
def test_every_glm_image_preset_is_accepted(host, emulator, size):
    result = create_image(host, {"model": "glm-image", "imageMessages": [{"content": "a fox"}], "size": size})
    assert emulator.bodies[0]["size"] == size and result["data"]


@pytest.mark.parametrize(
    ("model", "quality", "words"),
    [
        ("glm-image", "standard", "glm-image makes 'hd' images only"),
        ("cogview-4", "hd", "only cogview-4-250304 and glm-image do"),
        ("cogview-3-flash", "standard", "takes no quality"),
    ],
)
def test_a_quality_the_model_does_not_take_is_refused(host, emulator, model, quality, words):
    with pytest.raises(InputValidationError) as caught:
        create_image(host, {"model": model, "imageMessages": [{"content": "a fox"}], "quality": quality})
    assert words in caught.value.problems[0].message and emulator.requests == []


def test_a_mainland_only_image_model_is_refused_on_the_international_platform(host, emulator):
    with pytest.raises(InputValidationError) as caught:
        host.run_action(
            "zhipu",
            "createImage",
            {"model": "cogview-3-flash", "imageMessages": [{"content": "a fox"}]},
            {"token": KEY, "baseUrl": "https://api.z.ai/api/paas/v4"},
        )
    assert "not served with baseUrl International platform" in caught.value.problems[0].message


def test_sync_and_async_send_the_same_body_and_return_the_same_result(host, emulator):
    inputs = {"model": "cogview-3-flash", "imageMessages": [{"content": "a fox", "weight": 2}, {"content": "snow"}]}
    assert create_image(host, inputs) == create_image(host, inputs, asynchronous=True)
    first, second = emulator.bodies
    assert first == second and "request_id" not in first


# --- what is returned -----------------------------------------------------------------------------


@pytest.fixture
def platform():
    """A scripted platform answering every image call with `platform.answer`."""

    class Platform:
        answer: Any = None

        def __call__(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json=self.answer)

    scripted = Platform()
    with connections.configured(transport_factory=lambda kind: httpx.MockTransport(scripted)):
        yield scripted


@pytest.mark.parametrize("asynchronous", [False, True])
def test_every_image_is_returned_and_nothing_else(host, platform, asynchronous):
    platform.answer = {
        "created": 1760000000,
        "data": [
            {"url": "https://cdn.example/1.png", "revised_prompt": "a fox"},
            {"url": "https://cdn.example/2.png"},
            {"url": "https://cdn.example/3.png", "b64_json": "AAAA"},
        ],
        "content_filter": [{"role": "assistant", "level": 3}],
        "request_id": "img-request-1",
    }
    result = create_image(
        host, {"model": "cogview-4", "imageMessages": [{"content": "a fox"}]}, asynchronous=asynchronous
    )
    assert result == {
        "created": 1760000000,
        "data": [
            {"url": "https://cdn.example/1.png"},
            {"url": "https://cdn.example/2.png"},
            {"url": "https://cdn.example/3.png"},
        ],
        "contentFilter": [{"role": "assistant", "level": 3}],
    }


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"created": 1, "data": []}, "no non-empty 'data' list"),
        ({"created": 1}, "no non-empty 'data' list"),
        ({"data": [{"url": "https://cdn.example/1.png"}]}, "no integer 'created' timestamp"),
        ({"created": "yesterday", "data": [{"url": "https://cdn.example/1.png"}]}, "no integer 'created' timestamp"),
        ({"created": 1, "data": [{"url": ""}]}, "has no 'url'"),
    ],
)
def test_an_answer_without_images_is_malformed(host, platform, answer, message):
    platform.answer = answer
    with pytest.raises(MalformedResponseError, match=message):
        create_image(host, {"model": "cogview-4", "imageMessages": [{"content": "a fox"}]})


def test_the_result_matches_the_closed_output_schema(host, emulator):
    bound = host.action("zhipu", "createImage")
    result = create_image(host, {"model": "cogview-4", "imageMessages": [{"content": "a fox"}]})
    assert bound.output.is_valid(result)
    assert not bound.output.is_valid({**result, "content_filter": []})
    assert not bound.output.is_valid({**result, "data": [{"url": "u", "b64Json": "x"}]})
