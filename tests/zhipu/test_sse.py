"""The event-stream reader: any chunking, any line ending, and Zhipu's stream semantics."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from zhipu_connector.zhipu.errors import (
    ContentFilteredError,
    MalformedResponseError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
)
from zhipu_connector.zhipu.sse import (
    ChatStreamReader,
    ServerSentEvent,
    SSEDecoder,
)


def decode_all(chunks: Iterable[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.flush()


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def every_split(data: bytes) -> Iterable[list[bytes]]:
    for cut in range(len(data) + 1):
        yield [data[:cut], data[cut:]]


def delta(content: str, **extra: Any) -> dict[str, Any]:
    return {"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, **extra}]}


def sse(*payloads: Any, done: bool = True, newline: str = "\n") -> bytes:
    lines = []
    for payload in payloads:
        text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        lines.append(f"data: {text}{newline}{newline}")
    if done:
        lines.append(f"data: [DONE]{newline}{newline}")
    return "".join(lines).encode()


# --- the decoder ---------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_every_line_ending_and_every_split_give_the_same_events(newline: str) -> None:
    stream = (
        f": keep-alive{newline}"
        f"event: update{newline}data: first{newline}data: second{newline}{newline}"
        f"data:no-space{newline}{newline}"
        f'id: 7{newline}retry: 100{newline}data: {{"k": "中文"}}{newline}{newline}'
    ).encode()
    expected = [
        ServerSentEvent("first\nsecond", "update"),
        ServerSentEvent("no-space"),
        ServerSentEvent('{"k": "中文"}'),
    ]
    assert decode_all([stream]) == expected
    assert decode_all(bytewise(stream)) == expected  # splits every UTF-8 character too
    for chunks in every_split(stream):
        assert decode_all(chunks) == expected


def test_a_cr_ending_one_chunk_and_an_lf_starting_the_next_are_one_line_end() -> None:
    assert decode_all([b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"]) == [
        ServerSentEvent("a"),
        ServerSentEvent("b"),
    ]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode_all([b"\n\n\n: comment\n\nevent: lonely\n\n"]) == []


def test_an_empty_data_line_is_kept() -> None:
    assert decode_all([b"data:\ndata: x\n\n"]) == [ServerSentEvent("\nx")]


def test_flush_delivers_a_last_event_without_its_blank_line() -> None:
    assert decode_all([b"data: [DONE]"]) == [ServerSentEvent("[DONE]")]
    assert decode_all([b"data: tail\n"]) == [ServerSentEvent("tail")]


# --- Zhipu's stream semantics ---------------------------------------------------------------

FINAL = delta("", finish_reason="stop") | {"usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}


def iter_chat_chunks(chunks: Iterable[bytes], request_id: str) -> Iterator[dict[str, Any]]:
    """What both clients do with a body's chunks: feed the reader, stop at `[DONE]`, then finish."""
    reader = ChatStreamReader(request_id)
    for chunk in chunks:
        yield from reader.feed(chunk)
        if reader.done:
            break
    yield from reader.finish()


def collect(chunks: Iterable[bytes]) -> list[dict[str, Any]]:
    return list(iter_chat_chunks(chunks, "req-123456"))


def collect_byte_by_byte(chunks: Iterable[bytes]) -> list[dict[str, Any]]:
    whole = b"".join(chunks)
    return list(iter_chat_chunks([whole[i : i + 1] for i in range(len(whole))], "req-123456"))


@pytest.fixture(params=["as given", "byte by byte"])
def read(request: pytest.FixtureRequest):
    return collect if request.param == "as given" else collect_byte_by_byte


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_chunks_are_parsed_until_done(read, newline: str) -> None:
    stream = sse(delta("Hel"), delta("lo"), FINAL, newline=newline)
    assert read([stream]) == [delta("Hel"), delta("lo"), FINAL]
    assert read(bytewise(stream)) == [delta("Hel"), delta("lo"), FINAL]


def test_nothing_after_done_is_read(read) -> None:
    stream = sse(delta("a"), FINAL) + b"data: this is not json\n\n"
    assert read([stream]) == [delta("a"), FINAL]


def test_a_finished_stream_without_done_is_complete(read) -> None:
    assert read([sse(delta("a"), FINAL, done=False)]) == [delta("a"), FINAL]


def test_a_stream_cut_before_done_and_finish_reason_is_an_error(read) -> None:
    with pytest.raises(MalformedResponseError, match="cut short") as caught:
        read([sse(delta("a"), delta("b"), done=False)])
    assert caught.value.request_id == "req-123456"
    with pytest.raises(MalformedResponseError, match="cut short"):
        read([b""])


def test_a_chunk_cut_in_the_middle_is_an_error(read) -> None:
    stream = sse(delta("a"), done=False) + b'data: {"choices": [{"delta": {"cont'
    with pytest.raises(MalformedResponseError, match="not JSON"):
        read([stream])


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"code": "1302", "message": "too many requests"}, RateLimitError),
        ({"code": "1113", "message": "no balance"}, QuotaExceededError),
        ({"code": "1301", "message": "unsafe"}, ContentFilteredError),
        ({"message": "internal"}, ServerError),
    ],
)
def test_an_error_event_mid_stream_raises_its_class_after_earlier_chunks(read, error, expected) -> None:
    received: list[dict[str, Any]] = []

    def consume() -> None:
        for chunk in iter_chat_chunks([sse(delta("partial"), {"error": error})], "req-123456"):
            received.append(chunk)

    with pytest.raises(expected) as caught:
        read([sse(delta("partial"), {"error": error})])
    assert caught.value.message.startswith(error["message"])  # a 1113 adds why it may happen
    assert caught.value.request_id == "req-123456"
    with pytest.raises(expected):
        consume()
    assert received == [delta("partial")]


def test_an_event_named_error_is_an_error(read) -> None:
    with pytest.raises(RateLimitError):
        read([b'event: error\ndata: {"code": "1305", "message": "overloaded"}\n\n'])


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ("not json at all", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"id": "x"}', "no 'choices' list"),
        ('{"choices": ["x"]}', "choice that is not an object"),
        ('{"choices": [{"delta": "x"}]}', "'delta' that is not an object"),
    ],
)
def test_chunks_of_the_wrong_shape_are_malformed(read, payload: str, match: str) -> None:
    with pytest.raises(MalformedResponseError, match=match):
        read([sse(payload)])


def test_finish_reason_sensitive_is_content_filtered(read) -> None:
    with pytest.raises(ContentFilteredError, match="sensitive"):
        read([sse(delta("a"), delta("", finish_reason="sensitive"))])


def test_a_usage_only_chunk_with_empty_choices_is_accepted(read) -> None:
    usage = {"choices": [], "usage": {"total_tokens": 5}}
    assert read([sse(delta("a"), usage, FINAL)]) == [delta("a"), usage, FINAL]
