"""Deterministic replies: shape, determinism, max_tokens, stop, usage, and SSE framing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from emulator_support import Emulator, chat_body, sse_events

from zhipu_connector.emulator import EmulatorConfig
from zhipu_connector.emulator.replies import count_tokens, split_for_stream

QUESTION = "What is the capital of France?"


def ascii_tokens(text: str) -> list[str]:
    """An independent tokenizer for ASCII text: runs of word characters, single punctuation."""
    return re.findall(r"\w+|[^\w\s]", text)


def reply_of(response: Any) -> tuple[str, str, dict[str, int]]:
    assert response.status_code == 200, response.text
    payload = response.json()
    choice = payload["choices"][0]
    return choice["message"]["content"], choice["finish_reason"], payload["usage"]


class TestShape:
    def test_the_reply_has_exactly_the_documented_fields(self, emulator: Emulator) -> None:
        payload = emulator.chat().json()
        assert set(payload) == {"id", "request_id", "created", "model", "choices", "usage", "content_filter"}
        assert payload["content_filter"] == [{"role": "assistant", "level": 3}]
        assert "object" not in payload
        (choice,) = payload["choices"]
        assert set(choice) == {"index", "finish_reason", "message"}
        assert choice["index"] == 0
        assert set(choice["message"]) == {"role", "content"}
        assert choice["message"]["role"] == "assistant"
        assert set(payload["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details"}
        assert payload["usage"]["prompt_tokens_details"] == {"cached_tokens": 0}
        assert emulator.chat().headers["content-type"].startswith("application/json")

    def test_the_request_id_sent_is_echoed(self, emulator: Emulator) -> None:
        payload = emulator.chat(chat_body(request_id="my-request-0001")).json()
        assert payload["request_id"] == "my-request-0001"

    def test_a_request_id_is_generated_when_none_is_sent(self, emulator: Emulator) -> None:
        payload = emulator.chat().json()
        assert re.fullmatch(r"[0-9a-f]{32}", payload["request_id"])
        assert payload["request_id"] == payload["id"]

    def test_created_is_the_configured_fixed_timestamp(self) -> None:
        assert Emulator().chat().json()["created"] == 1_735_689_600
        assert Emulator(EmulatorConfig(created=1_800_000_000)).chat().json()["created"] == 1_800_000_000


class TestDeterminism:
    def test_the_same_request_gets_byte_identical_replies(self, emulator: Emulator) -> None:
        first, second = emulator.chat(), Emulator().chat()
        assert first.content == second.content

    def test_the_reply_restates_the_last_user_message(self, emulator: Emulator) -> None:
        body = chat_body(messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Tell me about owls"},
            {"role": "assistant", "content": "Owls are birds."},
            {"role": "user", "content": QUESTION},
        ])  # fmt: skip
        content, finish_reason, _ = reply_of(emulator.chat(body))
        assert f'"{QUESTION}"' in content
        assert "owls" not in content
        assert "glm-4-flash" in content
        assert finish_reason == "stop"

    def test_different_requests_get_different_replies(self, emulator: Emulator) -> None:
        one = reply_of(emulator.chat(chat_body("Tell me about owls")))[0]
        other = reply_of(emulator.chat(chat_body("Tell me about bats")))[0]
        assert one != other

    def test_a_request_for_an_image_prompt_gets_a_usable_image_prompt(self, emulator: Emulator) -> None:
        content = reply_of(emulator.chat(chat_body("Write an image prompt for a red fox in the snow")))[0]
        assert content.startswith("A detailed illustration of a red fox in the snow,")
        assert "prompt" not in content.lower()

    def test_json_output_is_valid_json(self, emulator: Emulator) -> None:
        content = reply_of(emulator.chat(chat_body(response_format={"type": "json_object"})))[0]
        parsed = json.loads(content)
        assert QUESTION in parsed["answer"] and parsed["model"] == "glm-4-flash"

    def test_thinking_adds_reasoning_content(self, emulator: Emulator) -> None:
        body = chat_body(model="glm-4.5", thinking={"type": "enabled"})
        payload = emulator.chat(body).json()
        message = payload["choices"][0]["message"]
        assert QUESTION in message["reasoning_content"]
        tokens = len(ascii_tokens(message["reasoning_content"])) + len(ascii_tokens(message["content"]))
        assert payload["usage"]["completion_tokens"] == tokens

    def test_a_function_named_in_the_last_user_message_is_called(self, emulator: Emulator) -> None:
        tool = {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
        payload = emulator.chat(chat_body("get_weather in Paris", tools=[tool])).json()
        choice = payload["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        assert choice["message"]["content"] is None
        (call,) = choice["message"]["tool_calls"]
        assert call["type"] == "function" and call["id"].startswith("call_")
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "get_weather in Paris"}


class TestLimits:
    def test_usage_counts_match_the_text(self, emulator: Emulator) -> None:
        content, _, usage = reply_of(emulator.chat())
        assert usage["prompt_tokens"] == len(ascii_tokens(QUESTION)) == 7
        assert usage["completion_tokens"] == len(ascii_tokens(content))
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]

    @pytest.mark.parametrize("max_tokens", [1, 2, 5, 12])
    def test_max_tokens_truncates_with_finish_reason_length(self, emulator: Emulator, max_tokens: int) -> None:
        full = reply_of(emulator.chat())[0]
        content, finish_reason, usage = reply_of(emulator.chat(chat_body(max_tokens=max_tokens)))
        assert finish_reason == "length"
        assert full.startswith(content)
        assert ascii_tokens(content) == ascii_tokens(full)[:max_tokens]
        assert usage["completion_tokens"] == max_tokens

    def test_max_tokens_above_the_reply_length_changes_nothing(self, emulator: Emulator) -> None:
        full = reply_of(emulator.chat())
        assert reply_of(emulator.chat(chat_body(max_tokens=4000))) == full

    def test_stop_cuts_before_the_first_stop_sequence(self, emulator: Emulator) -> None:
        full = reply_of(emulator.chat())[0]
        content, finish_reason, usage = reply_of(emulator.chat(chat_body(stop=["capital"])))
        assert content == full[: full.index("capital")]
        assert finish_reason == "stop"
        assert usage["completion_tokens"] == len(ascii_tokens(content))

    def test_a_stop_sequence_that_never_occurs_changes_nothing(self, emulator: Emulator) -> None:
        assert reply_of(emulator.chat(chat_body(stop=["<<never>>"]))) == reply_of(emulator.chat())

    def test_whichever_of_stop_and_max_tokens_comes_first_wins(self, emulator: Emulator) -> None:
        early_stop = reply_of(emulator.chat(chat_body(stop=["short"], max_tokens=10)))
        assert early_stop[1] == "stop" and early_stop[0] == "Here is a "
        early_length = reply_of(emulator.chat(chat_body(stop=["emulator"], max_tokens=2)))
        assert early_length[1] == "length" and early_length[0] == "Here is"

    def test_cjk_characters_count_one_token_each(self) -> None:
        assert count_tokens("北京是首都。") == 6
        assert count_tokens("GLM-4 说：你好") == 7


class TestStreaming:
    def test_sse_framing_deltas_usage_and_done(self, emulator: Emulator) -> None:
        response = emulator.chat(chat_body(stream=True))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.text)
        assert events[-1] == "[DONE]"
        chunks = [json.loads(event) for event in events[:-1]]
        assert len(chunks) >= 3
        for chunk in chunks:
            assert set(chunk) >= {"id", "created", "model", "choices"}
            assert chunk["choices"][0]["delta"]["role"] == "assistant"
        *middle, last = chunks
        assert all("usage" not in c and "finish_reason" not in c["choices"][0] for c in middle)
        assert last["choices"][0]["finish_reason"] == "stop"
        streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        content, _, usage = reply_of(emulator.chat())
        assert streamed == content
        assert last["usage"] == usage

    def test_a_streamed_reply_honours_max_tokens(self, emulator: Emulator) -> None:
        chunks = [json.loads(e) for e in sse_events(emulator.chat(chat_body(stream=True, max_tokens=3)).text)[:-1]]
        streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        assert ascii_tokens(streamed) == ["Here", "is", "a"]
        assert chunks[-1]["choices"][0]["finish_reason"] == "length"
        assert chunks[-1]["usage"]["completion_tokens"] == 3

    def test_streamed_tool_calls_carry_an_index(self, emulator: Emulator) -> None:
        tool = {"type": "function", "function": {"name": "lookup"}}
        events = sse_events(emulator.chat(chat_body("lookup the capital", stream=True, tools=[tool])).text)
        chunks = [json.loads(e) for e in events[:-1]]
        (call,) = chunks[0]["choices"][0]["delta"]["tool_calls"]
        assert call["index"] == 0 and call["function"] == {"name": "lookup", "arguments": "{}"}
        assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    @pytest.mark.parametrize("size", [1, 3, 4])
    def test_stream_pieces_rebuild_the_text_exactly(self, size: int) -> None:
        text = "Hello,  world! 你好 — done."
        pieces = split_for_stream(text, size)
        assert "".join(pieces) == text
        assert all(count_tokens(piece) <= size for piece in pieces)
