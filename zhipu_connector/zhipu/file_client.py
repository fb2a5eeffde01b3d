"""The client's transfers that are not one JSON body: multipart uploads, streamed downloads, queries.

The Batch API uploads JSONL files of up to 100 MB and downloads output files as large, so
neither may pass through memory whole: an upload streams the file from disk (re-read from the
start on a retry), a download is written to a file as it arrives. Both run on the same
exchange as every other call (`exchange.ExchangeCore`): the same URL table, headers,
authorization, deadlines, retry policy and error reading, performed by the `ZhipuClient`
given. A list call takes query parameters (`after`, `limit`).

`retry=False` makes one attempt only: the Batch API's `POST /batches` must not be sent twice
on a timeout (two batches would bill the rows twice); its caller looks the batch up instead.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

import httpx

from zhipu_connector.zhipu.client import ZhipuClient
from zhipu_connector.zhipu.errors import ZhipuError
from zhipu_connector.zhipu.exchange import Read, Send, Step, Steps
from zhipu_connector.zhipu.protocol import read_answer
from zhipu_connector.zhipu.routes import Route


class MultipartFile:
    """A `multipart/form-data` upload of text fields and one file on disk, encoded by httpx.

    httpx's multipart stream reads the file in chunks and seeks back to its start when it is
    sent again, so a retried upload sends the same bytes and the file is never held whole; its
    length is known, so it goes with `Content-Length`, not chunked. (It is built apart from the
    client's requests, whose pool headers say JSON, and its stream and headers carried over.)
    """

    def __init__(self, fields: Mapping[str, str], field: str, path: Path, filename: str, content_type: str) -> None:
        self.fields, self.field, self.path = dict(fields), field, path
        self.filename, self.content_type = filename, content_type

    @contextmanager
    def encoded(self) -> Iterator[tuple[Any, dict[str, str]]]:
        """The body stream and its two headers, the file open for as long as the upload lasts."""
        with self.path.open("rb") as file:
            request = httpx.Request(
                "POST",
                "http://upload.invalid/",
                data=self.fields,
                files={self.field: (self.filename, file, self.content_type)},
            )
            yield request.stream, {name: request.headers[name] for name in ("Content-Type", "Content-Length")}


class _FileSink:
    """Where a download's bytes go: a file, emptied again at the start of each attempt."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.size = 0

    def restart(self) -> _FileSink:
        self.file.seek(0)
        self.file.truncate()
        self.size = 0
        return self

    def add(self, chunk: bytes) -> bool:
        self.file.write(chunk)
        self.size += len(chunk)
        return True

    def content(self) -> bytes:  # never an error's body: those are read by the usual reader
        return b""


def request(
    client: ZhipuClient,
    route: Route,
    *,
    request_id: str,
    path_params: Mapping[str, str] | None = None,
    query: Mapping[str, str | int] | None = None,
    json_body: bytes | None = None,
    upload: MultipartFile | None = None,
    retry: bool = True,
) -> dict[str, Any]:
    """One call to `route`, its answer checked against the route's shape (or a `ZhipuError`)."""
    url = _url(client, route, path_params, query)
    if upload is None:
        return client._run(_steps(client, route, url, request_id, json_body, {}, None, retry))
    with upload.encoded() as (content, headers):
        return client._run(_steps(client, route, url, request_id, content, headers, None, retry))


def download(
    client: ZhipuClient, route: Route, target: Path, *, request_id: str, path_params: Mapping[str, str]
) -> int:
    """Write the bytes `route` answers to `target` (through a temporary file, then renamed); their size."""
    temporary = target.with_name(f".{target.name}.part")
    with temporary.open("wb") as file:
        sink = _FileSink(file)
        url = _url(client, route, path_params, None)
        client._run(_steps(client, route, url, request_id, None, {"Accept": "application/octet-stream"}, sink, True))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, target)
    return sink.size


def _url(
    client: ZhipuClient, route: Route, path_params: Mapping[str, str] | None, query: Mapping[str, str | int] | None
) -> httpx.URL:
    url = client.url(route, path_params)
    return url.copy_merge_params({key: str(value) for key, value in query.items()}) if query else url


def _steps(
    client: ZhipuClient,
    route: Route,
    url: httpx.URL,
    request_id: str,
    content: Any,
    headers: dict[str, str],
    sink: _FileSink | None,
    retry: bool,
) -> Steps[dict[str, Any]]:
    """`ExchangeCore.call_steps` for a body that is not JSON, or an answer that goes to a file."""

    def attempt(deadline: float | None) -> Generator[Step, Any, dict[str, Any] | ZhipuError]:
        outcome = yield Send(
            client._request(route.method, url, content, {**(client._headers() or {}), **headers}, deadline)
        )
        if not isinstance(outcome, httpx.Response):
            return client.transport_error(outcome, request_id, deadline)
        status = outcome.status_code
        ok = 200 <= status < 300
        body: Any = sink.restart() if ok and sink is not None else client._body(request_id, deadline, ok)
        failure = yield Read(outcome, body)
        if failure is not None:
            return client._reading_error(failure, request_id, deadline)
        if not ok:
            return client._error_for_status(status, body.content(), outcome.headers, request_id)
        if sink is not None:
            return {}
        try:
            return read_answer(route.answer, body.content(), status, request_id)
        except ZhipuError as exc:
            return exc

    if retry:
        return client._retried(request_id, attempt)
    return _once(client, attempt)


def _once(client: ZhipuClient, attempt: Any) -> Steps[dict[str, Any]]:
    deadline = client._deadline_in(client.deadlines.attempt)
    outcome = yield from attempt(deadline)
    if isinstance(outcome, ZhipuError):
        outcome.attempts = 1
        raise outcome
    return cast(dict[str, Any], outcome)
