"""Today's chat and image API: models per platform, thinking, JSON output, vision parts, tools,
web search, usage, content filter, streaming, and the fidelity fixes (stop, nulls, bare JWTs)."""

from __future__ import annotations

import base64
import datetime
import json
import struct
import time
import zlib
from typing import Any

import jwt
import pytest
from emulator_support import KEY, Emulator, chat_body, error_of, image_body, sse_events
from test_emulator_images import read_png

from zhipu_connector.emulator import EmulatorConfig
from zhipu_connector.emulator.replies import count_tokens

INTERNATIONAL = EmulatorConfig(platform="international")


def message_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()["choices"][0]["message"]
    return message


def chunks_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    return [json.loads(event) for event in events[:-1]]


def joined(chunks: list[dict[str, Any]], key: str) -> str:
    return "".join(chunk["choices"][0]["delta"].get(key) or "" for chunk in chunks)


class TestPlatforms:
    @pytest.mark.parametrize("model", ["glm-4-plus", "glm-4-flash", "glm-z1-air", "glm-4v-flash"])
    def test_a_mainland_only_chat_model_is_1211_on_the_international_platform(self, model: str) -> None:
        assert Emulator().chat(chat_body(model=model)).status_code == 200
        status, code, message = error_of(Emulator(INTERNATIONAL).chat(chat_body(model=model)))
        assert (status, code) == (400, "1211")
        assert f"'{model}' is served on the mainland platform (open.bigmodel.cn) only, not on api.z.ai" in message

    @pytest.mark.parametrize("model", ["cogview-4", "cogview-3-flash"])
    def test_a_mainland_only_image_model_is_1211_on_the_international_platform(self, model: str) -> None:
        status, code, _ = error_of(Emulator(INTERNATIONAL).image(image_body(model=model)))
        assert (status, code) == (400, "1211")

    @pytest.mark.parametrize("model", ["glm-5.3", "glm-4.7-flash", "glm-4.6v", "glm-4-32b-0414-128k"])
    def test_ids_of_both_platforms_are_served_on_the_international_one(self, model: str) -> None:
        assert Emulator(INTERNATIONAL).chat(chat_body(model=model)).json()["model"] == model
        assert Emulator(INTERNATIONAL).image(image_body(model="cogview-4-250304")).status_code == 200

    def test_the_unknown_model_message_lists_only_this_platform_s_ids(self) -> None:
        message = error_of(Emulator(INTERNATIONAL).chat(chat_body(model="glm-99")))[2]
        assert "glm-5.3" in message and "glm-4-plus" not in message

    def test_content_filter_comes_on_the_mainland_only(self) -> None:
        assert Emulator().chat().json()["content_filter"] == [{"role": "assistant", "level": 3}]
        international = Emulator(INTERNATIONAL)
        assert "content_filter" not in international.chat(chat_body(model="glm-4.6")).json()
        last = chunks_of(international.chat(chat_body(model="glm-4.6", stream=True)))[-1]
        assert "content_filter" not in last
        assert chunks_of(Emulator().chat(chat_body(stream=True)))[-1]["content_filter"][0]["level"] == 3

    def test_an_unknown_platform_is_a_configuration_error(self) -> None:
        with pytest.raises(ValueError, match="platform: must be one of mainland, international"):
            EmulatorConfig(platform="moon")


class TestThinking:
    @pytest.mark.parametrize("model", ["glm-4.5", "glm-4.5-flash", "glm-4.6", "glm-5", "glm-4.6v", "glm-5.3"])
    def test_glm_4_5_and_later_think_by_default(self, emulator: Emulator, model: str) -> None:
        payload = emulator.chat(chat_body(model=model)).json()
        reasoning = payload["choices"][0]["message"]["reasoning_content"]
        assert "What is the capital of France?" in reasoning
        usage = payload["usage"]
        assert usage["completion_tokens_details"] == {"reasoning_tokens": count_tokens(reasoning)}
        content = payload["choices"][0]["message"]["content"]
        assert usage["completion_tokens"] == count_tokens(reasoning) + count_tokens(content)

    @pytest.mark.parametrize("model", ["glm-4-flash", "glm-4-plus", "glm-4v", "glm-4-32b-0414-128k"])
    def test_older_models_do_not_think(self, emulator: Emulator, model: str) -> None:
        payload = emulator.chat(chat_body(model=model)).json()
        assert "reasoning_content" not in payload["choices"][0]["message"]
        assert "completion_tokens_details" not in payload["usage"]

    @pytest.mark.parametrize("model", ["glm-4.5", "glm-4.6", "glm-5.2", "glm-4.6v-flash"])
    def test_disabled_turns_thinking_off(self, emulator: Emulator, model: str) -> None:
        thinking = message_of(emulator.chat(chat_body(model=model)))
        plain = message_of(emulator.chat(chat_body(model=model, thinking={"type": "disabled"})))
        assert "reasoning_content" not in plain and plain["content"] == thinking["content"]

    @pytest.mark.parametrize("model", ["glm-4.7", "glm-4.7-flashx", "glm-4.5v"])
    def test_glm_4_7_and_4_5v_think_even_when_disabled(self, emulator: Emulator, model: str) -> None:
        message = message_of(emulator.chat(chat_body(model=model, thinking={"type": "disabled"})))
        assert message["reasoning_content"]

    def test_glm_5_3_refuses_disabled_with_1214(self, emulator: Emulator) -> None:
        status, code, message = error_of(emulator.chat(chat_body(model="glm-5.3", thinking={"type": "disabled"})))
        assert (status, code) == (400, "1214") and message.startswith("thinking.type: glm-5.3 always thinks")

    def test_reasoning_effort_sets_how_long_the_model_reasons(self, emulator: Emulator) -> None:
        def reasoning(effort: str | None, model: str = "glm-5.2") -> str:
            fields = {} if effort is None else {"reasoning_effort": effort}
            return str(message_of(emulator.chat(chat_body(model=model, **fields))).get("reasoning_content", ""))

        lengths = [count_tokens(reasoning(effort)) for effort in ("minimal", "medium", "high", "xhigh", "max")]
        assert lengths == sorted(lengths) and len(set(lengths)) == 5
        assert reasoning(None) == reasoning("max")  # max is the documented default
        assert reasoning("none") == ""
        assert reasoning("low", "glm-5.3") == reasoning("low") and reasoning("max", "glm-5.3") == reasoning("max")

    def test_max_tokens_covers_the_reasoning_too(self, emulator: Emulator) -> None:
        whole = message_of(emulator.chat(chat_body(model="glm-4.6")))
        reasoning_tokens = count_tokens(whole["reasoning_content"])
        starved = emulator.chat(chat_body(model="glm-4.6", max_tokens=5)).json()
        choice = starved["choices"][0]
        assert choice["finish_reason"] == "length" and choice["message"]["content"] == ""
        assert whole["reasoning_content"].startswith(choice["message"]["reasoning_content"])
        assert (
            starved["usage"]["completion_tokens"]
            == 5
            == starved["usage"]["completion_tokens_details"]["reasoning_tokens"]
        )
        short = emulator.chat(chat_body(model="glm-4.6", max_tokens=reasoning_tokens + 3)).json()
        assert short["choices"][0]["message"]["reasoning_content"] == whole["reasoning_content"]
        assert count_tokens(short["choices"][0]["message"]["content"]) == 3
        assert (
            short["choices"][0]["finish_reason"] == "length"
            and short["usage"]["completion_tokens"] == reasoning_tokens + 3
        )

    def test_preserved_thinking_keeps_earlier_reasoning_in_the_context(self, emulator: Emulator) -> None:
        earlier = "I considered the rivers and the mountains of the country first."
        messages = [
            {"role": "user", "content": "Name a city"},
            {"role": "assistant", "content": "Paris", "reasoning_content": earlier},
            {"role": "user", "content": "Why that one?"},
        ]
        cleared = emulator.chat(chat_body(model="glm-4.6", messages=messages)).json()["usage"]
        kept = emulator.chat(
            chat_body(model="glm-4.6", messages=messages, thinking={"type": "enabled", "clear_thinking": False})
        ).json()["usage"]
        assert kept["prompt_tokens"] == cleared["prompt_tokens"] + count_tokens(earlier)

    def test_streaming_keeps_reasoning_and_content_apart(self, emulator: Emulator) -> None:
        whole = message_of(emulator.chat(chat_body(model="glm-4.6")))
        chunks = chunks_of(emulator.chat(chat_body(model="glm-4.6", stream=True)))
        assert joined(chunks, "reasoning_content") == whole["reasoning_content"]
        assert joined(chunks, "content") == whole["content"]
        deltas = [chunk["choices"][0]["delta"] for chunk in chunks]
        assert not any(delta.get("reasoning_content") and delta.get("content") for delta in deltas)
        first_content = next(i for i, d in enumerate(deltas) if d.get("content"))
        assert all(not d.get("reasoning_content") for d in deltas[first_content:])
        assert "usage" in chunks[-1] and all("usage" not in chunk for chunk in chunks[:-1])
        assert chunks[-1]["usage"] == emulator.chat(chat_body(model="glm-4.6")).json()["usage"]


class TestJsonOutput:
    @pytest.mark.parametrize("model", ["glm-4-flash", "glm-4.6", "glm-5.3"])
    def test_json_object_content_is_valid_json(self, emulator: Emulator, model: str) -> None:
        content = message_of(emulator.chat(chat_body(model=model, response_format={"type": "json_object"})))["content"]
        assert json.loads(content)["model"] == model

    def test_json_output_cut_by_max_tokens_is_not_valid_json(self, emulator: Emulator) -> None:
        response = emulator.chat(chat_body(response_format={"type": "json_object"}, max_tokens=5))
        assert response.json()["choices"][0]["finish_reason"] == "length"
        with pytest.raises(json.JSONDecodeError):
            json.loads(message_of(response)["content"])


def png(width: int, height: int) -> bytes:
    """A valid PNG header and one tiny IDAT (its size is read from IHDR only)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def vision(*parts: dict[str, Any], model: str = "glm-4.6v") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": [{"type": "text", "text": "Describe"}, *parts]}]}


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


class TestVisionParts:
    @pytest.mark.parametrize(
        "part",
        [
            image_part("https://example.com/cat.jpg"),
            image_part(b64(png(640, 480))),
            image_part(b64(jpeg(6000, 6000))),
            {"type": "video_url", "video_url": {"url": "https://example.com/clip.mp4"}},
            {"type": "video_url", "video_url": {"url": "https://example.com/stream?id=3"}},
            {"type": "file", "file": {"file_url": "https://example.com/report.pdf", "filename": "report.pdf"}},
            {"type": "file", "file": {"file_id": "file-123"}},
            {"type": "file", "file": {"file_data": b64(b"%PDF-1.4"), "filename": "a.pdf"}},
            {"type": "file_url", "file_url": {"url": "https://example.com/report.pdf"}},
        ],
    )
    def test_documented_parts_are_accepted_by_vision_models(self, emulator: Emulator, part: dict[str, Any]) -> None:
        message = message_of(emulator.chat(vision(part)))
        assert '"Describe"' in message["content"]

    @pytest.mark.parametrize(
        ("part", "words"),
        [
            (image_part("data:image/png;base64," + b64(png(8, 8))), "send the bare base64, without the data:image"),
            (image_part(b64(png(6001, 10))), "the image is 6001x10 pixels; at most 6000x6000"),
            (image_part(b64(jpeg(10, 6001))), "the image is 10x6001 pixels"),
            (image_part(b64(b"GIF89a" + b"\0" * 20)), "base64 data must be a jpg, jpeg or png image"),
            (image_part("not base64 at all!"), "must be an http(s) URL or base64 image data"),
            (image_part("A" * (7 * 1024 * 1024)), "the image is larger than 5 MB"),
            (image_part("ftp://example.com/cat.png"), "must be an http(s) URL or base64"),
            (image_part("https://[::1/cat.png"), "image_url.url: must be an http(s) URL"),
            ({"type": "video_url", "video_url": {"url": "https://[x/clip.mp4"}}, "video_url.url: must be an http(s) URL"),
            ({"type": "video_url", "video_url": {"url": "https://example.com/clip.avi"}}, "a video must be mp4, mkv, mov"),
            ({"type": "video_url", "video_url": {"url": "file:///clip.mp4"}}, "video_url.url: must be an http(s) URL"),
            ({"type": "file", "file": {"file_id": "a", "file_url": "https://x.y/z"}}, "exactly one of file_id"),
            ({"type": "file", "file": {"filename": "a.pdf"}}, "exactly one of file_id"),
            ({"type": "file", "file": {"file_url": "nope"}}, "file.file_url: must be an http(s) URL"),
            ({"type": "input_audio"}, "type: must be one of text, image_url, video_url, file, file_url"),
        ],
    )  # fmt: skip
    def test_a_bad_part_is_1214_naming_it(self, emulator: Emulator, part: dict[str, Any], words: str) -> None:
        status, code, message = error_of(emulator.chat(vision(part)))
        assert (status, code) == (400, "1214")
        assert message.startswith("messages[0].content[1]") and words in message

    @pytest.mark.parametrize("model", ["glm-4.6", "glm-5.3", "glm-4-flash"])
    def test_parts_on_a_text_model_are_refused(self, emulator: Emulator, model: str) -> None:
        status, code, message = error_of(emulator.chat(vision(image_part("https://example.com/a.png"), model=model)))
        assert (status, code) == (400, "1214")
        assert f"{model} reads text only; a list of parts needs a vision model" in message


def function(name: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "description": f"the {name} tool"}
    if parameters is not None:
        spec["parameters"] = parameters
    return {"type": "function", "function": spec}


WEATHER = function(
    "get_weather",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "detailed": {"type": "boolean", "default": False},
        },
        "required": ["city", "unit", "days", "detailed"],
    },
)
CLOCK = function("get_time", {"type": "object", "properties": {"zone": {"type": "string"}}})


class TestTools:
    def test_a_named_function_is_called_with_arguments_that_fit_its_schema(self, emulator: Emulator) -> None:
        response = emulator.chat(chat_body("Use get_weather for Paris", model="glm-4.6", tools=[CLOCK, WEATHER]))
        payload = response.json()
        choice = payload["choices"][0]
        assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
        (call,) = choice["message"]["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        arguments = json.loads(call["function"]["arguments"])
        assert arguments == {"city": "Use get_weather for Paris", "unit": "celsius", "days": 1, "detailed": False}
        assert payload["usage"]["completion_tokens"] > count_tokens(call["function"]["arguments"])

    def test_no_named_function_means_a_plain_answer(self, emulator: Emulator) -> None:
        response = emulator.chat(chat_body("What is the weather in Paris?", tools=[WEATHER, CLOCK]))
        assert response.json()["choices"][0]["finish_reason"] == "stop"
        assert "tool_calls" not in message_of(response)

    def test_a_name_counts_as_a_whole_word_only(self, emulator: Emulator) -> None:
        response = emulator.chat(chat_body("try get_weathers or my-get_weather", tools=[WEATHER]))
        assert response.json()["choices"][0]["finish_reason"] == "stop"

    def test_every_named_function_is_called_in_the_order_of_tools(self, emulator: Emulator) -> None:
        response = emulator.chat(chat_body("call GET_TIME and get_weather", tools=[WEATHER, CLOCK]))
        calls = message_of(response)["tool_calls"]
        assert [call["function"]["name"] for call in calls] == ["get_weather", "get_time"]
        assert [call["index"] for call in calls] == [0, 1] and len({call["id"] for call in calls}) == 2
        assert json.loads(calls[1]["function"]["arguments"]) == {"zone": "call GET_TIME and get_weather"}

    def test_a_tool_message_answers_the_call(self, emulator: Emulator) -> None:
        first = message_of(emulator.chat(chat_body("get_weather in Paris", tools=[WEATHER])))
        (call,) = first["tool_calls"]
        messages = [
            {"role": "user", "content": "get_weather in Paris"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "content": '{"celsius": 21}', "tool_call_id": call["id"]},
        ]
        answer = emulator.chat(chat_body(messages=messages, tools=[WEATHER])).json()["choices"][0]
        assert answer["finish_reason"] == "stop"
        assert answer["message"]["content"].startswith('The tool returned "{"celsius": 21}"')

    def test_tool_stream_streams_the_arguments_in_pieces(self, emulator: Emulator) -> None:
        body = chat_body("get_weather and get_time", model="glm-4.6", tools=[WEATHER, CLOCK], stream=True)
        whole = message_of(emulator.chat({**body, "stream": False}))["tool_calls"]
        chunks = chunks_of(emulator.chat({**body, "tool_stream": True}))
        deltas = [call for chunk in chunks for call in chunk["choices"][0]["delta"].get("tool_calls", [])]
        assert len(deltas) > 2 * len(whole)  # a head per call, then several argument pieces
        assembled: dict[int, dict[str, Any]] = {}
        for delta in deltas:
            entry = assembled.setdefault(delta["index"], {"id": None, "name": None, "arguments": ""})
            entry["id"] = delta.get("id", entry["id"])
            entry["name"] = delta.get("function", {}).get("name", entry["name"])
            entry["arguments"] += delta.get("function", {}).get("arguments", "")
        assert [(e["id"], e["name"], e["arguments"]) for _, e in sorted(assembled.items())] == [
            (call["id"], call["function"]["name"], call["function"]["arguments"]) for call in whole
        ]
        assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    def test_without_tool_stream_the_calls_come_whole_in_one_delta(self, emulator: Emulator) -> None:
        chunks = chunks_of(emulator.chat(chat_body("get_weather", model="glm-4.6", tools=[WEATHER], stream=True)))
        with_calls = [chunk for chunk in chunks if chunk["choices"][0]["delta"].get("tool_calls")]
        assert len(with_calls) == 1

    @pytest.mark.parametrize(
        ("tools", "words"),
        [
            ([function("get weather")], "tools[0].function.name: must match"),
            ([{"type": "function", "function": {"name": "f", "description": 3}}], "description: must be a string"),
            ([{"type": "retrieval", "retrieval": {}}], "tools[0].retrieval.knowledge_id: required"),
            ([{"type": "mcp", "mcp": {"server_url": "https://x.y"}}], "tools[0].mcp.server_label: required"),
        ],
    )
    def test_bad_tools_are_1214(self, emulator: Emulator, tools: list[Any], words: str) -> None:
        status, code, message = error_of(emulator.chat(chat_body(tools=tools)))
        assert (status, code) == (400, "1214") and words in message

    def test_mcp_tools_are_mainland_only(self) -> None:
        tools = [{"type": "mcp", "mcp": {"server_label": "docs"}}]
        assert Emulator().chat(chat_body(tools=tools)).status_code == 200
        message = error_of(Emulator(INTERNATIONAL).chat(chat_body(model="glm-4.6", tools=tools)))[2]
        assert message == "tools[0].type: mcp tools are served on the mainland platform only"


def web_search(**options: Any) -> dict[str, Any]:
    return {"type": "web_search", "web_search": {"search_engine": "search_pro", **options}}


class TestWebSearch:
    def test_results_come_beside_the_answer_which_cites_them(self, emulator: Emulator) -> None:
        payload = emulator.chat(chat_body("Zhipu news", tools=[web_search(count=3)])).json()
        results = payload["web_search"]
        assert [result["refer"] for result in results] == ["ref_1", "ref_2", "ref_3"]
        assert set(results[0]) == {"title", "content", "link", "media", "icon", "refer", "publish_date"}
        assert results[0]["title"] == "Zhipu news — result 1" and results[0]["link"].startswith(
            "https://www.example.com/"
        )
        assert payload["choices"][0]["message"]["content"].startswith("According to 3 web search results [ref_1], ")
        assert emulator.chat(chat_body("Zhipu news", tools=[web_search(count=3)])).json() == payload

    def test_the_options_shape_the_results(self, emulator: Emulator) -> None:
        tool = web_search(
            search_query="GLM release", search_domain_filter="www.sohu.com", search_recency_filter="oneWeek",
            content_size="high",
        )  # fmt: skip
        results = emulator.chat(chat_body(tools=[tool])).json()["web_search"]
        assert len(results) == 10  # the default count
        assert all(result["link"].startswith("https://www.sohu.com/") for result in results)
        assert all(result["title"].startswith("GLM release") for result in results)
        created = datetime.date(2025, 1, 1)
        dates = [datetime.date.fromisoformat(result["publish_date"]) for result in results]
        assert all(created - datetime.timedelta(days=6) <= day <= created for day in dates)
        short = emulator.chat(chat_body(tools=[web_search(search_query="GLM release")])).json()["web_search"]
        assert len(results[0]["content"]) > len(short[0]["content"])

    def test_a_domain_filter_that_is_no_host_falls_back_to_the_example_domain(self, emulator: Emulator) -> None:
        results = emulator.chat(chat_body(tools=[web_search(search_domain_filter="http://[::1", count=1)])).json()
        assert results["web_search"][0]["link"].startswith("https://www.example.com/")

    def test_search_result_false_or_enable_false_return_no_results(self, emulator: Emulator) -> None:
        hidden = emulator.chat(chat_body(tools=[web_search(search_result=False)])).json()
        assert "web_search" not in hidden and "web search results" in hidden["choices"][0]["message"]["content"]
        off = emulator.chat(chat_body(tools=[web_search(enable=False)])).json()
        assert "web_search" not in off and "web search" not in off["choices"][0]["message"]["content"]

    def test_engines_differ_per_platform(self) -> None:
        international = Emulator(INTERNATIONAL)
        body = chat_body(model="glm-4.6", tools=[web_search(search_engine="search_pro_jina", count=1)])
        assert len(international.chat(body).json()["web_search"]) == 1
        status, code, message = error_of(international.chat(chat_body(model="glm-4.6", tools=[web_search()])))
        assert (status, code) == (400, "1214")
        assert (
            "'search_pro' is not a search engine of the international platform; use one of search_pro_jina" in message
        )
        missing = error_of(Emulator().chat(chat_body(tools=[{"type": "web_search", "web_search": {"count": 2}}])))
        assert "tools[0].web_search.search_engine: required; on the mainland platform one of search_std" in missing[2]

    @pytest.mark.parametrize(
        ("options", "words"),
        [
            ({"count": 0}, "count: must be an integer in [1, 50]"),
            ({"count": 51}, "count: must be an integer in [1, 50]"),
            ({"search_recency_filter": "oneHour"}, "search_recency_filter: must be one of oneDay"),
            ({"content_size": "low"}, "content_size: must be one of medium, high"),
            ({"result_sequence": "middle"}, "result_sequence: must be one of before, after"),
            ({"searchEngine": "search_pro"}, "searchEngine: unknown option"),
            ({"enable": "yes"}, "enable: must be a boolean"),
        ],
    )
    def test_bad_options_are_1214(self, emulator: Emulator, options: dict[str, Any], words: str) -> None:
        status, code, message = error_of(emulator.chat(chat_body(tools=[web_search(**options)])))
        assert (status, code) == (400, "1214") and message.startswith("tools[0].web_search.") and words in message

    @pytest.mark.parametrize(("sequence", "position"), [("before", 0), ("after", -1)])
    def test_streamed_results_come_first_or_last(self, emulator: Emulator, sequence: str, position: int) -> None:
        chunks = chunks_of(emulator.chat(chat_body(stream=True, tools=[web_search(count=2, result_sequence=sequence)])))
        carrying = [index for index, chunk in enumerate(chunks) if "web_search" in chunk]
        assert carrying == [range(len(chunks))[position]] and len(chunks[carrying[0]]["web_search"]) == 2


class TestUsage:
    def test_cached_tokens_are_the_earlier_messages(self, emulator: Emulator) -> None:
        messages = [
            {"role": "system", "content": "You answer in one line."},
            {"role": "user", "content": "Hello there"},
        ]
        usage = emulator.chat(chat_body(messages=messages)).json()["usage"]
        assert usage["prompt_tokens_details"] == {"cached_tokens": count_tokens("You answer in one line.")}
        assert usage["prompt_tokens"] == count_tokens("You answer in one line.") + count_tokens("Hello there")


class TestFidelity:
    def test_a_second_stop_word_is_refused_as_the_live_server_does(self, emulator: Emulator) -> None:
        status, code, message = error_of(emulator.chat(chat_body(stop=["a", "b"])))
        assert (status, code, message) == (400, "1214", "stop:最大只能有1个停止词")

    @pytest.mark.parametrize("sdk", ["zhipu-sdk-python", "z-ai-sdk-python"])
    def test_either_sdk_may_send_its_nulls(self, emulator: Emulator, sdk: str) -> None:
        body = chat_body(model="glm-4.6", response_format=None, thinking=None)
        assert emulator.chat(body, headers={"x-request-sdk": sdk}).status_code == 200
        other = error_of(emulator.chat(body, headers={"x-request-sdk": "my-sdk"}))
        assert other[:2] == (400, "1214") and "do not send null" in other[2]

    def test_a_jwt_without_bearer_is_accepted(self) -> None:
        key_id, secret = KEY.split(".")
        now = int(time.time() * 1000)
        token = jwt.encode(
            {"api_key": key_id, "exp": now + 210_000, "timestamp": now}, secret, headers={"sign_type": "SIGN"}
        )
        strict = Emulator(EmulatorConfig(api_keys=frozenset({KEY})))
        assert strict.chat(authorization=token).status_code == 200
        forged = jwt.encode(
            {"api_key": key_id, "exp": now + 210_000, "timestamp": now}, "wrong", headers={"sign_type": "SIGN"}
        )
        assert error_of(strict.chat(authorization=forged))[:2] == (401, "1004")


class TestImages:
    @pytest.mark.parametrize(
        "size", ["1280x1280", "1568x1056", "1056x1568", "1472x1088", "1088x1472", "1728x960", "960x1728"]
    )
    def test_every_glm_image_preset_is_accepted(self, emulator: Emulator, size: str) -> None:
        assert emulator.image(image_body(model="glm-image", size=size)).status_code == 200

    @pytest.mark.parametrize("size", ["960x1024", "1728x992", "992x1728"])
    def test_custom_glm_image_sizes_follow_the_rule(self, emulator: Emulator, size: str) -> None:
        status, code, message = error_of(emulator.image(image_body(model="glm-image", size=size)))
        assert (status, code) == (400, "1214") and "each side 1024-2048 and divisible by 32" in message

    def test_glm_image_quality_is_hd_by_default_and_only_hd(self, emulator: Emulator) -> None:
        default = emulator.image(image_body(model="glm-image")).json()
        assert default == emulator.image(image_body(model="glm-image", quality="hd")).json()
        status, code, message = error_of(emulator.image(image_body(model="glm-image", quality="standard")))
        assert (status, code) == (400, "1214") and message == "quality: must be \"hd\" for glm-image, got 'standard'"

    def test_cogview_quality_applies_to_cogview_4_250304_only(self, emulator: Emulator) -> None:
        def url(model: str, quality: str) -> str:
            return str(emulator.image(image_body(model=model, quality=quality)).json()["data"][0]["url"])

        assert url("cogview-4-250304", "hd") != url("cogview-4-250304", "standard")
        assert url("cogview-3-flash", "hd") == url("cogview-3-flash", "standard")

    def test_watermark_enabled_false_gives_an_unmarked_image(self, emulator: Emulator) -> None:
        marked = emulator.image(image_body()).json()
        assert marked["content_filter"] == [{"role": "assistant", "level": 3}]
        unmarked = emulator.image(image_body(watermark_enabled=False)).json()
        assert marked["data"][0]["url"] != unmarked["data"][0]["url"]
        assert emulator.image(image_body(watermark_enabled=True)).json() == marked

        def bottom_row(url: str) -> bytes:
            return read_png(emulator.request("GET", url).content)[2][-1]

        assert bottom_row(marked["data"][0]["url"])[1:4] == b"\xf0\xf0\xf0"
        assert bottom_row(unmarked["data"][0]["url"])[1:4] != b"\xf0\xf0\xf0"
        status, code, message = error_of(emulator.image(image_body(watermark_enabled="no")))
        assert (status, code) == (400, "1214") and message.startswith("watermark_enabled: must be a boolean")
