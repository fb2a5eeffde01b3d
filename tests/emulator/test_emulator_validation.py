"""Request validation: every documented 400 rule, with messages naming field and rule."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_support import Emulator, chat_body, error_of, image_body

from zhipu_connector.emulator import CHAT_MODELS, IMAGE_MODELS, OFFICIAL_SDK_NULL_FIELDS, EmulatorConfig

USER = {"role": "user", "content": "hi"}
VISION_PARTS = [
    {"type": "text", "text": "What is in this picture?"},
    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
]
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def _messages(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"model": "glm-4-flash", "messages": list(messages)}


@pytest.mark.parametrize(
    "content",
    [b"not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"model": NaN}', b'{"a": 1'],
)
def test_a_body_that_is_not_a_json_object_is_1214(emulator: Emulator, content: bytes) -> None:
    response = emulator.request("POST", "/chat/completions", content=content)
    status, code, message = error_of(response)
    assert (status, code) == (400, "1214")
    assert message.startswith("body:")


@pytest.mark.parametrize("model", sorted(CHAT_MODELS))
def test_every_chat_model_is_served(emulator: Emulator, model: str) -> None:
    response = emulator.chat(chat_body(model=model))
    assert response.status_code == 200
    assert response.json()["model"] == model


# The API reference's model table, both platforms and mainland only.
REFERENCE_TEXT_MODELS = [
    "glm-5.3",
    "glm-5.2",
    "glm-5.1",
    "glm-5",
    "glm-5-turbo",
    "glm-4.7",
    "glm-4.7-flash",
    "glm-4.7-flashx",
    "glm-4.6",
    "glm-4.5",
    "glm-4.5-air",
    "glm-4.5-x",
    "glm-4.5-airx",
    "glm-4.5-flash",
    "glm-4-32b-0414-128k",
]
REFERENCE_MAINLAND_TEXT_MODELS = [
    "glm-4-plus",
    "glm-4-air-250414",
    "glm-4-airx",
    "glm-4-flashx-250414",
    "glm-4-flash-250414",
    "glm-4-long",
    "glm-z1-air",
    "glm-z1-airx",
    "glm-z1-flash",
    "glm-z1-flashx",
    "glm-4-flash",
    "glm-4-flashx",
]
REFERENCE_VISION_MODELS = [
    "glm-5.3-flash",
    "glm-5.3-flashx",
    "glm-5v-turbo",
    "glm-4.6v",
    "glm-4.6v-flash",
    "glm-4.6v-flashx",
    "glm-4.5v",
]
REFERENCE_MAINLAND_VISION_MODELS = [
    "glm-4v-plus", "glm-4v-flash", "glm-4v", "glm-4.1v-thinking-flash", "glm-4.1v-thinking-flashx",
]  # fmt: skip


def test_the_chat_models_are_exactly_the_reference_s_table() -> None:
    mainland_only = {model for model, info in CHAT_MODELS.items() if info.mainland_only}
    vision = {model for model, info in CHAT_MODELS.items() if info.vision}
    assert set(CHAT_MODELS) == set(
        REFERENCE_TEXT_MODELS
        + REFERENCE_MAINLAND_TEXT_MODELS
        + REFERENCE_VISION_MODELS
        + REFERENCE_MAINLAND_VISION_MODELS
    )
    assert mainland_only == set(REFERENCE_MAINLAND_TEXT_MODELS + REFERENCE_MAINLAND_VISION_MODELS)
    assert vision == set(REFERENCE_VISION_MODELS + REFERENCE_MAINLAND_VISION_MODELS)


@pytest.mark.parametrize(
    ("model", "cap"),
    [("glm-5.3", 131072), ("glm-5", 131072), ("glm-4.7-flash", 131072), ("glm-4.6", 131072), ("glm-4.5-air", 98304),
     ("glm-4.6v", 32768), ("glm-4.5v", 16384), ("glm-4-32b-0414-128k", 16384), ("glm-4-plus", 4095)],
)  # fmt: skip
def test_max_tokens_above_the_model_s_output_cap_is_refused(emulator: Emulator, model: str, cap: int) -> None:
    assert emulator.chat(chat_body(model=model, max_tokens=cap)).status_code == 200
    status, code, message = error_of(emulator.chat(chat_body(model=model, max_tokens=cap + 1)))
    assert (status, code) == (400, "1214")
    assert f"max_tokens: must be an integer in [1, {cap}] for {model}" in message


def test_model_ids_compare_case_insensitively(emulator: Emulator) -> None:
    response = emulator.chat(chat_body(model="GLM-4-Flash"))
    assert response.status_code == 200
    assert response.json()["model"] == "glm-4-flash"


@pytest.mark.parametrize("model", ["glm-6", "gpt-4o", "cogview-4", "glm-4-flash ", "glm-4", "glm-3-turbo"])
def test_an_unknown_chat_model_is_1211(emulator: Emulator, model: str) -> None:
    status, code, message = error_of(emulator.chat(chat_body(model=model)))
    assert (status, code) == (400, "1211")
    assert repr(model) in message


def test_the_image_models_are_exactly_the_documented_ones() -> None:
    assert set(IMAGE_MODELS) == {
        "cogview-4-250304", "cogview-4", "cogview-3-flash", "cogview-3-plus", "cogview-3", "glm-image",
    }  # fmt: skip


@pytest.mark.parametrize("model", ["glm-4-flash", "cogview-5", "dall-e-3"])
def test_an_unknown_image_model_is_1211(emulator: Emulator, model: str) -> None:
    assert error_of(emulator.image(image_body(model=model)))[:2] == (400, "1211")


BAD_CHAT_FIELDS = [
    # (fields replaced in a valid body, words the message must contain)
    ({"model": 4}, "model: must be a non-empty string"),
    ({"model": ""}, "model: must be a non-empty string"),
    ({"messages": []}, "messages: must be a non-empty array"),
    ({"messages": "hi"}, "messages: must be a non-empty array"),
    ({"temperature": 1.5}, "temperature: must be a number in [0.0, 1.0]"),
    ({"temperature": -0.1}, "temperature: must be a number in [0.0, 1.0]"),
    ({"temperature": "0.5"}, "temperature: must be a number"),
    ({"temperature": True}, "temperature: must be a number"),
    ({"top_p": 0.0}, "top_p: must be a number in [0.01, 1.0]"),
    ({"top_p": 0.001}, "top_p: must be a number in [0.01, 1.0]"),
    ({"top_p": 1.01}, "top_p: must be a number in [0.01, 1.0]"),
    ({"max_tokens": 0}, "max_tokens: must be an integer in [1, 4095] for glm-4-flash"),
    ({"max_tokens": 4096}, "max_tokens: must be an integer in [1, 4095] for glm-4-flash"),
    ({"max_tokens": 10.5}, "max_tokens: must be an integer"),
    ({"max_tokens": 10.0}, "max_tokens: must be an integer"),
    ({"max_tokens": "10"}, "max_tokens: must be an integer"),
    ({"model": "glm-4v", "max_tokens": 1025}, "max_tokens: must be an integer in [1, 1024] for glm-4v"),
    ({"stop": "###"}, "stop: must be an array"),
    ({"stop": [""]}, "non-empty string"),
    ({"stop": [1]}, "non-empty string"),
    ({"request_id": "abc12"}, "request_id: must be a string of 6-64 characters"),
    ({"request_id": "r" * 65}, "request_id: must be a string of 6-64 characters"),
    ({"request_id": 123456}, "request_id: must be a string of 6-64 characters"),
    ({"user_id": "u" * 5}, "user_id: must be a string of 6-128 characters"),
    ({"user_id": "u" * 129}, "user_id: must be a string of 6-128 characters"),
    ({"do_sample": "true"}, "do_sample: must be a boolean"),
    ({"stream": 1}, "stream: must be a boolean"),
    ({"response_format": {"type": "xml"}}, 'response_format: must be {"type": "text" | "json_object"}'),
    ({"response_format": "json_object"}, "response_format: must be"),
    ({"response_format": {"type": "text", "schema": {}}}, "response_format: must be"),
    ({"model": "glm-4.5", "thinking": {"type": "on"}}, 'thinking: must be {"type": "enabled" | "disabled"'),
    ({"model": "glm-4.5", "thinking": {"type": "enabled", "budget": 5}}, 'thinking: must be {"type"'),
    ({"model": "glm-4.5", "thinking": {"type": "enabled", "clear_thinking": "no"}}, "thinking.clear_thinking: must be a boolean"),
    ({"model": "glm-5.3", "thinking": {"type": "disabled"}}, 'thinking.type: glm-5.3 always thinks and cannot be turned off; "disabled" is not accepted'),
    ({"model": "glm-5.3-flash", "thinking": {"type": "disabled"}}, "glm-5.3-flash always thinks"),
    ({"model": "glm-5.3", "reasoning_effort": "medium"}, "reasoning_effort: must be one of low, high, max for glm-5.3"),
    ({"model": "glm-5.3", "reasoning_effort": "none"}, "reasoning_effort: must be one of low, high, max for glm-5.3"),
    ({"model": "glm-5.2", "reasoning_effort": "extreme"}, "reasoning_effort: must be one of max, xhigh, high, medium, low, minimal, none for glm-5.2"),
    ({"model": "glm-5.2", "reasoning_effort": 3}, "reasoning_effort: must be one of"),
    ({"model": "glm-5.1", "reasoning_effort": "high"}, "reasoning_effort: supported by GLM-5.2 and later models only, not by glm-5.1"),
    ({"model": "glm-4.6v", "response_format": {"type": "json_object"}}, "response_format: supported by text models only"),
    ({"tool_stream": True}, "tool_stream: supported by GLM-4.6 and later models only, not by glm-4-flash"),
    ({"model": "glm-4.5", "tool_stream": True, "stream": True}, "tool_stream: supported by GLM-4.6 and later"),
    ({"model": "glm-4.6", "tool_stream": True}, "tool_stream: needs stream: true"),
    ({"model": "glm-4.6", "tool_stream": "yes", "stream": True}, "tool_stream: must be a boolean"),
    ({"thinking": {"type": "enabled"}}, "thinking: supported by GLM-4.5 and later models only"),
    ({"tool_choice": "required"}, 'tool_choice: must be "auto"'),
    ({"tool_choice": {"type": "function"}}, 'tool_choice: must be "auto"'),
    ({"tools": [TOOL] * 129}, "tools: must be an array of at most 128"),
    ({"tools": TOOL}, "tools: must be an array"),
    ({"tools": [{"type": "plugin"}]}, "tools[0].type: must be one of function, retrieval, web_search"),
    ({"tools": [{"type": "function"}]}, "tools[0].function: required"),
    ({"tools": [{"type": "function", "function": {"name": "get weather"}}]}, "tools[0].function.name: must match"),
    ({"tools": [{"type": "function", "function": {"name": "f" * 65}}]}, "tools[0].function.name: must match"),
    ({"tools": [{"type": "function", "function": {"name": "ok", "parameters": []}}]}, "parameters: must be a JSON Schema object"),
    ({"maxTokens": 10}, "maxTokens: unknown field (did you mean max_tokens?)"),
    ({"topP": 0.5}, "topP: unknown field (did you mean top_p?)"),
    ({"seed": 1}, "seed: unknown field;"),
    ({"temperature": None}, "temperature: do not send null"),
    ({"response_format": None}, "response_format: do not send null"),
    ({"model": None}, "model: do not send null"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "words"), BAD_CHAT_FIELDS)
def test_a_bad_chat_field_is_1214_naming_field_and_rule(emulator: Emulator, fields: dict[str, Any], words: str) -> None:
    status, code, message = error_of(emulator.chat(chat_body(**fields)))
    assert (status, code) == (400, "1214")
    assert words in message


def test_a_missing_model_is_1214(emulator: Emulator) -> None:
    status, code, message = error_of(emulator.chat({"messages": [USER]}))
    assert (status, code, message) == (400, "1214", "model: required")


def test_missing_messages_are_1214(emulator: Emulator) -> None:
    status, code, message = error_of(emulator.chat({"model": "glm-4-flash"}))
    assert (status, code) == (400, "1214")
    assert message.startswith("messages: required")


GOOD_CHAT_FIELDS = [
    {"temperature": 0},
    {"temperature": 1},
    {"temperature": 0.95},
    {"top_p": 0.01},
    {"top_p": 1},
    {"max_tokens": 1},
    {"max_tokens": 4095},
    {"model": "glm-4.6", "max_tokens": 131072},
    {"stop": ["a"]},
    {"stop": []},
    {"request_id": "r" * 6},
    {"request_id": "r" * 64},
    {"user_id": "u" * 6},
    {"user_id": "u" * 128},
    {"do_sample": False},
    {"stream": False},
    {"response_format": {"type": "text"}},
    {"response_format": {"type": "json_object"}},
    {"model": "glm-4.5", "thinking": {"type": "disabled"}},
    {"model": "glm-4.6", "thinking": {"type": "enabled"}},
    {"tools": [TOOL] * 128, "tool_choice": "auto"},
    {"tools": [{"type": "function", "function": {"name": "a-Z_0" * 12 + "abcd"}}]},
    {"tools": [{"type": "web_search", "web_search": {"enable": True, "search_engine": "search_pro"}}]},
    {"model": "glm-4.5", "thinking": {"type": "enabled", "clear_thinking": False}},
    {"model": "glm-4.7", "thinking": {"type": "disabled"}},
    {"model": "glm-5.3", "thinking": {"type": "enabled"}, "reasoning_effort": "low"},
    {"model": "glm-5.2", "reasoning_effort": "none"},
    {"model": "glm-4.6", "tool_stream": True, "stream": True},
    {"model": "glm-4.6", "tool_stream": False},
    {"tools": [{"type": "retrieval", "retrieval": {"knowledge_id": "kb1"}}]},
]


@pytest.mark.parametrize("fields", GOOD_CHAT_FIELDS)
def test_values_at_the_documented_limits_are_accepted(emulator: Emulator, fields: dict[str, Any]) -> None:
    assert emulator.chat(chat_body(**fields)).status_code == 200


BAD_MESSAGES = [
    ([{"role": "robot", "content": "hi"}], "messages[0].role: must be one of system, user, assistant, tool"),
    ([{"content": "hi"}], "messages[0].role: must be one of"),
    (["hi"], "messages[0]: must be an object"),
    ([{"role": "user"}], "messages[0].content: required"),
    ([{"role": "user", "content": ""}], "messages[0].content: must not be empty"),
    ([{"role": "user", "content": 42}], "messages[0].content: must be a string"),
    ([{"role": "user", "content": None}], "messages[0].content: do not send null"),
    ([{"role": "user", "content": "hi", "name": "bob"}], "messages[0].name: unknown field for a user message"),
    ([USER, {"role": "tool", "content": "42"}], "messages[1].tool_call_id: required for a tool message"),
    ([{"role": "system", "content": "be brief"}], "must contain a user (or tool) message, not only system/assistant"),
    ([{"role": "system", "content": "x"}, {"role": "assistant", "content": "y"}], "not only system/assistant"),
    ([{"role": "user", "content": VISION_PARTS}], "glm-4-flash reads text only"),
    ([USER, {"role": "assistant", "tool_calls": "call"}], "messages[1].tool_calls: must be a non-empty array"),
]  # fmt: skip


@pytest.mark.parametrize(("messages", "words"), BAD_MESSAGES)
def test_a_bad_message_is_1214(emulator: Emulator, messages: list[Any], words: str) -> None:
    status, code, message = error_of(emulator.chat(_messages(*messages)))
    assert (status, code) == (400, "1214")
    assert words in message


def test_a_whole_conversation_with_a_tool_round_trip_is_accepted(emulator: Emulator) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    body = {
        "model": "glm-4-plus",
        "tools": [TOOL],
        "messages": [
            {"role": "system", "content": "You are helpful."},
            USER,
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "content": '{"celsius": 21}', "tool_call_id": "call_1"},
        ],
    }
    response = emulator.chat(body)
    assert response.status_code == 200
    assert response.json()["choices"][0]["finish_reason"] == "stop"


class TestVisionContent:
    def test_a_vision_model_accepts_a_list_of_parts(self, emulator: Emulator) -> None:
        body = {"model": "glm-4v-flash", "messages": [{"role": "user", "content": VISION_PARTS}]}
        assert emulator.chat(body).status_code == 200

    @pytest.mark.parametrize(
        ("parts", "words"),
        [
            ([], "a list of parts must not be empty"),
            ([{"type": "audio"}], "type: must be one of text, image_url, video_url, file, file_url"),
            ([{"type": "text", "text": 1}], "a text part is"),
            ([{"type": "image_url", "image_url": "https://x/y.png"}], "an image part is"),
            ([{"type": "image_url", "image_url": {"url": ""}}], "an image part is"),
        ],
    )
    def test_bad_parts_are_1214(self, emulator: Emulator, parts: list[Any], words: str) -> None:
        body = {"model": "glm-4v", "messages": [{"role": "user", "content": parts}]}
        status, code, message = error_of(emulator.chat(body))
        assert (status, code) == (400, "1214")
        assert words in message

    def test_only_user_messages_may_be_parts(self, emulator: Emulator) -> None:
        body = {"model": "glm-4v", "messages": [{"role": "system", "content": VISION_PARTS}, USER]}
        assert "only user messages may be a list of parts" in error_of(emulator.chat(body))[2]


class TestNulls:
    SDK = {"x-request-sdk": "zhipu-sdk-python"}

    def test_the_official_sdk_nulls_are_refused_from_other_clients(self, emulator: Emulator) -> None:
        body = chat_body(response_format=None, thinking=None)
        assert error_of(emulator.chat(body))[:2] == (400, "1214")

    def test_the_official_sdk_may_send_its_two_nulls(self, emulator: Emulator) -> None:
        assert emulator.chat(chat_body(response_format=None, thinking=None), headers=self.SDK).status_code == 200

    def test_the_official_sdk_may_not_send_other_nulls(self, emulator: Emulator) -> None:
        status, code, message = error_of(emulator.chat(chat_body(top_p=None), headers=self.SDK))
        assert (status, code) == (400, "1214") and message.startswith("top_p: do not send null")

    def test_allowed_null_fields_count_as_absent(self) -> None:
        lenient = Emulator(EmulatorConfig(allow_null_fields=OFFICIAL_SDK_NULL_FIELDS))
        assert lenient.chat(chat_body(response_format=None, thinking=None)).status_code == 200
        assert error_of(lenient.chat(chat_body(temperature=None)))[2].startswith("temperature: do not send null")


class TestPromptLength:
    def test_messages_over_the_limit_are_1261(self) -> None:
        small = Emulator(EmulatorConfig(max_prompt_chars=20))
        body = _messages({"role": "system", "content": "x" * 15}, {"role": "user", "content": "y" * 6})
        status, code, message = error_of(small.chat(body))
        assert (status, code) == (400, "1261")
        assert "21 characters" in message and "limit is 20" in message

    def test_messages_at_the_limit_pass(self) -> None:
        small = Emulator(EmulatorConfig(max_prompt_chars=20))
        body = _messages({"role": "system", "content": "x" * 14}, {"role": "user", "content": "y" * 6})
        assert small.chat(body).status_code == 200

    def test_an_image_prompt_over_the_limit_is_1261(self) -> None:
        small = Emulator(EmulatorConfig(max_prompt_chars=20))
        assert error_of(small.image(image_body(prompt="z" * 21)))[:2] == (400, "1261")


BAD_IMAGE_FIELDS = [
    ({"prompt": ""}, "prompt: required, a non-empty string"),
    ({"prompt": "   "}, "prompt: required, a non-empty string"),
    ({"prompt": ["a", "b"]}, "prompt: required, a non-empty string"),
    ({"size": "1024*1024"}, 'size: must be "WIDTHxHEIGHT"'),
    ({"size": "1024X1024"}, 'size: must be "WIDTHxHEIGHT"'),
    ({"size": 1024}, 'size: must be "WIDTHxHEIGHT"'),
    ({"size": "496x1024"}, "size: 496x1024 is not accepted by cogview-4"),
    ({"size": "2064x1024"}, "each side 512-2048"),
    ({"size": "1000x1000"}, "divisible by 16"),
    ({"size": "2048x1040"}, "at most 2097152 pixels"),
    ({"model": "glm-image", "size": "1440x720"}, "size: 1440x720 is not accepted by glm-image"),
    ({"model": "glm-image", "size": "1008x1280"}, "each side 1024-2048"),
    ({"model": "glm-image", "size": "1040x1280"}, "divisible by 32"),
    ({"model": "glm-image", "size": "2048x2080"}, "each side 1024-2048"),
    ({"quality": "ultra"}, 'quality: must be "standard" or "hd"'),
    ({"user_id": "short"}, "user_id: must be a string of 6-128 characters"),
    ({"n": 2}, "n: unknown field"),
    ({"size": None}, "size: do not send null"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "words"), BAD_IMAGE_FIELDS)
def test_a_bad_image_field_is_1214(emulator: Emulator, fields: dict[str, Any], words: str) -> None:
    status, code, message = error_of(emulator.image(image_body(**fields)))
    assert (status, code) == (400, "1214")
    assert words in message


def test_a_missing_prompt_is_1214(emulator: Emulator) -> None:
    assert error_of(emulator.image({"model": "cogview-3"}))[:2] == (400, "1214")


GOOD_IMAGE_FIELDS = [
    {},
    {"size": "768x1344"}, {"size": "864x1152"}, {"size": "1344x768"}, {"size": "1152x864"},
    {"size": "1440x720"}, {"size": "720x1440"}, {"size": "512x512"}, {"size": "2048x1024"},
    {"size": "1024x2048"}, {"size": "1440x1440"},
    {"model": "cogview-3-flash", "size": "1024x1024", "quality": "hd"},
    {"model": "glm-image"}, {"model": "glm-image", "size": "1280x1280"},
    {"model": "glm-image", "size": "2048x2048"}, {"model": "glm-image", "size": "1024x2048"},
    {"model": "glm-image", "size": "1024x1024"},
    {"model": "CogView-4-250304", "quality": "standard", "user_id": "user-0001"},
    {"request_id": "image-request-1"},
]  # fmt: skip


@pytest.mark.parametrize("fields", GOOD_IMAGE_FIELDS)
def test_documented_image_sizes_and_fields_are_accepted(emulator: Emulator, fields: dict[str, Any]) -> None:
    assert emulator.image(image_body(**fields)).status_code == 200
