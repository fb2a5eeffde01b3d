"""Server-Sent Events, read incrementally from byte chunks, and Zhipu's chat stream on top.

Two layers, both free of I/O so the sync and async paths share them:

* `SSEDecoder` turns arbitrary byte chunks into events, per the HTML living standard: lines end
  in LF, CRLF or CR (a CR at the end of one chunk and an LF at the start of the next are one
  line end), `data:` lines of one event are joined with `\\n`, `:` lines are comments, a blank
  line ends an event. Lines are decoded only when complete, so a UTF-8 character split across
  chunks is never mangled.
* `ChatStreamState` gives those events Zhipu's meaning: each `data` is a JSON chunk,
  `[DONE]` ends the stream, `{"error": {...}}` is a failure that arrived after the 200, and a
  stream that stops before `[DONE]` and before any `finish_reason` was cut short — an error,
  never a silent success.

`ChatStreamReader` joins the two: the clients feed it each chunk of the body as it arrives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from zhipu_connector.zhipu.errors import (
    MalformedResponseError,
    ZhipuError,
    content_filtered,
    error_from_payload,
    excerpt,
)

DONE_MARKER = "[DONE]"
_LINE_ENDS = (b"\n", b"\r")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its type (`"message"` unless an `event:` line said otherwise) and data."""

    data: str
    event: str = "message"


class SSEDecoder:
    """Feed it byte chunks as they arrive; it returns the events those chunks completed."""

    __slots__ = ("_partial", "_after_cr", "_data_lines", "_event")

    def __init__(self) -> None:
        self._partial = b""  # an incomplete last line, waiting for its end
        self._after_cr = False  # the last chunk ended in CR: a leading LF now belongs to it
        self._data_lines: list[str] = []
        self._event = ""

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by `chunk` (often none, sometimes several)."""
        if self._after_cr:
            self._after_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if not chunk:
            return []
        text = self._partial + chunk if self._partial else chunk
        lines = text.splitlines(keepends=True)  # bytes split only on \r, \n and \r\n
        if lines and not lines[-1].endswith(_LINE_ENDS):
            self._partial = lines.pop()
        else:
            self._partial = b""
            self._after_cr = text.endswith(b"\r")
        events: list[ServerSentEvent] = []
        for raw in lines:
            event = self._line(_strip_line_end(raw))
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """At the end of the stream: the last line and event, even without their final blank line.

        The standard discards an unterminated event; we keep it, because a server that omits the
        final blank line after `[DONE]` (or after a complete last chunk) has still said everything.
        A truly cut chunk then fails as invalid JSON instead of vanishing.
        """
        events: list[ServerSentEvent] = []
        if self._partial:
            event = self._line(self._partial)
            self._partial = b""
            if event is not None:
                events.append(event)
        event = self._line(b"")
        if event is not None:
            events.append(event)
        return events

    def _line(self, line: bytes) -> ServerSentEvent | None:
        if not line:
            if not self._data_lines:
                self._event = ""
                return None
            event = ServerSentEvent("\n".join(self._data_lines), self._event or "message")
            self._data_lines = []
            self._event = ""
            return event
        if line[:1] == b":":
            return None  # a comment, often a keep-alive
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data_lines.append(value.decode("utf-8", errors="replace"))
        elif name == b"event":
            self._event = value.decode("utf-8", errors="replace")
        # `id`, `retry` and unknown fields carry nothing this client uses
        return None


def _strip_line_end(raw: bytes) -> bytes:
    if raw.endswith(b"\r\n"):
        return raw[:-2]
    return raw[:-1]


class ChatStreamState:
    """The meaning of a chat completion stream's events; raises as soon as one is a failure."""

    __slots__ = ("request_id", "done", "finished")

    def __init__(self, request_id: str | None) -> None:
        self.request_id = request_id
        self.done = False  # `[DONE]` seen
        self.finished = False  # a choice reported its finish_reason

    def chunk(self, event: ServerSentEvent) -> dict[str, Any] | None:
        """The parsed chunk for `event`, or `None` for the end marker."""
        data = event.data
        if data.strip() == DONE_MARKER:
            self.done = True
            return None
        try:
            parsed: Any = json.loads(data)
        except (ValueError, RecursionError):
            raise MalformedResponseError(
                f"a streamed chunk is not JSON: {excerpt(data.encode())!r}",
                status=200,
                request_id=self.request_id,
            ) from None
        if not isinstance(parsed, dict):
            raise self._malformed("a streamed chunk is not a JSON object")
        if parsed.get("error") is not None or event.event == "error":
            raise error_from_payload(parsed, status=None, request_id=self.request_id)
        choices = parsed.get("choices")
        if not isinstance(choices, list):
            raise self._malformed("a streamed chunk has no 'choices' list")
        for choice in choices:
            if not isinstance(choice, dict):
                raise self._malformed("a streamed chunk has a choice that is not an object")
            delta = choice.get("delta")
            if delta is not None and not isinstance(delta, dict):
                raise self._malformed("a streamed chunk has a 'delta' that is not an object")
            finish_reason = choice.get("finish_reason")
            if finish_reason is not None:
                if finish_reason == "sensitive":
                    raise content_filtered(self.request_id, status=200)
                self.finished = True
        return parsed

    def end(self) -> None:
        """Called when the bytes run out: fail if the stream was cut before its end."""
        if not self.done and not self.finished:
            raise self._malformed(
                "the event stream ended before '[DONE]' and before any finish_reason: the reply was cut short"
            )

    def _malformed(self, message: str) -> MalformedResponseError:
        return MalformedResponseError(message, status=200, request_id=self.request_id)


class ChatStreamReader:
    """`SSEDecoder` and `ChatStreamState` joined: byte chunks in, parsed chat chunks out. No I/O.

    Feed it each chunk of the body (`httpx`'s `iter_bytes()` or `aiter_bytes()`), then call
    `finish()` when the bytes run out. After `[DONE]` (`done`) nothing more is read.
    """

    __slots__ = ("_decoder", "_state", "_failure")

    def __init__(self, request_id: str | None) -> None:
        self._decoder = SSEDecoder()
        self._state = ChatStreamState(request_id)
        self._failure: ZhipuError | None = None

    @property
    def done(self) -> bool:
        """`[DONE]` was read, or a failure is waiting to be raised: read no further."""
        return self._state.done or self._failure is not None

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """The chunks completed by `chunk`, up to `[DONE]`.

        A failure is raised only once the chunks before it have been handed out: a feed that
        completes good chunks and then an error event returns the chunks, and the next call
        (`feed` or `finish`) raises the error.
        """
        return self._chunks(self._decoder.feed(chunk))

    def finish(self) -> Iterator[dict[str, Any]]:
        """The chunks left in the last, unterminated event, then the error of a stream cut short."""
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        state = self._state
        for event in self._decoder.flush():
            if state.done:
                return
            parsed = state.chunk(event)
            if parsed is not None:
                yield parsed
        if not state.done:
            state.end()

    def _chunks(self, events: list[ServerSentEvent]) -> list[dict[str, Any]]:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        chunks: list[dict[str, Any]] = []
        state = self._state
        for event in events:
            if state.done:
                break
            try:
                parsed = state.chunk(event)
            except ZhipuError as failure:
                if not chunks:
                    raise
                self._failure = failure
                break
            if parsed is not None:
                chunks.append(parsed)
        return chunks
