"""Batch runs: one action over every row of a JSONL file, concurrently, resumable, interruptible.

Each line of the rows file is one inputs object; row numbers are line numbers (from 1; blank
lines are skipped). Each row's result is one line of the results file, `{"row": n, "output": …}`
or `{"row": n, "error": {…}}`, written with a single `write` to a file opened for appending as
soon as the row is done — so results are in completion order, and whatever stops the process,
short of a power cut, leaves only whole lines behind.

Flat memory: rows are read one line at a time and a row is read only when a slot among
`concurrency` is free, so at most `concurrency` rows (and their results) exist at once. What
is remembered of the results file is one bit per row number.

Concurrency `auto` (the default) keeps up to `AUTO_ROWS_IN_FLIGHT` rows going and leaves the
number of calls in flight to the connector's own limiter: Zhipu's finds the account's limit by
itself (docs/scaling.md). With a number, at most that many rows run at once, as before.

Resuming: the results file is read first; rows it has a line for are skipped, a truncated last
line (a process killed mid-write) is cut off, and with `retry_errors` the error lines are
dropped so those rows run again.

Stopping: `BatchStop.request()` (the command line calls it on Ctrl-C and SIGTERM) stops
reading rows and lets the rows in flight finish; a second request cancels them, and a
cancelled row writes nothing, so a re-run does it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic_core import to_json

from zhipu_connector.definition.plain_json import JsonSyntaxError, JsonValueError, read_json
from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import ActionCancelledError, ConnectorError, InputValidationError, Problem
from zhipu_connector.host.host import Host
from zhipu_connector.host.secrets import scrub, scrub_value

Concurrency = int | Literal["auto"]

DEFAULT_CONCURRENCY: Concurrency = "auto"
AUTO_ROWS_IN_FLIGHT = 256
"""Rows in flight under `auto`: room above any account's limit the connector's limiter may find."""

MAX_LINE_BYTES = 16 * 1024 * 1024
"""A rows line longer than this is reported as an error without being parsed."""


class BatchError(ConnectorError):
    """A batch that cannot start: unreadable rows, or a results file that is not ours."""


@dataclass
class BatchSummary:
    """What one call did; `skipped` rows already had a result line."""

    rows: int = 0
    skipped: int = 0
    succeeded: int = 0
    failed: int = 0
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed

    def describe(self, out_path: str | Path) -> str:
        state = "stopped early" if self.interrupted else "done"
        return (
            f"batch {state}: {self.succeeded} succeeded, {self.failed} failed, {self.skipped} already in {out_path}"
            f" ({self.rows} rows read, {self.seconds:.1f} s)"
        )


class BatchProgress(Protocol):
    """What a batch reports as it goes; see `progress.py` for the bar and the plain lines."""

    def start(self, total: int | None, already_done: int) -> None: ...

    def advance(self, ok: bool) -> None: ...

    def finish(self, summary: BatchSummary) -> None: ...


class BatchStop:
    """Asks a running batch to stop: the first request lets rows in flight finish, the second cancels them."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.cancelling = asyncio.Event()
        self.signal_number: int | None = None
        self.thread_event = threading.Event()  # the handlers' ActionContext.cancel_event
        self._in_flight: set[asyncio.Task[None]] = set()
        self._cooperative = False

    def request(self, signal_number: int | None = None) -> None:
        if self.signal_number is None:
            self.signal_number = signal_number
        if not self.stopping.is_set():
            self.stopping.set()
            return
        self.cancelling.set()
        self._cancel_rows()

    def _cancel_rows(self) -> None:
        """Cancel the rows in flight.

        A sync handler runs in a worker thread that asyncio cannot stop: cancelling its task
        would only drop its result, and a file it finished writing would have no result line.
        So such rows are asked through their context's cancel event, and either finish (their
        line is written) or raise `ActionCancelledError` (nothing is written). Async handlers'
        tasks are cancelled outright.
        """
        self.thread_event.set()
        if not self._cooperative:
            for task in list(self._in_flight):
                task.cancel()


# ---------------------------------------------------------------- the results file


class DoneRows:
    """Row numbers that have a result: one bit each, so a million rows cost 125 KB."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self.count = 0

    def add(self, row: int) -> None:
        byte, bit = divmod(row, 8)
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte - len(self._bits) + 1024))
        if not self._bits[byte] & (1 << bit):
            self._bits[byte] |= 1 << bit
            self.count += 1

    def __contains__(self, row: object) -> bool:
        if not isinstance(row, int) or row < 0:
            return False
        byte, bit = divmod(row, 8)
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << bit))


def read_done_rows(out_path: Path, *, retry_errors: bool = False, last_row: int | None = None) -> DoneRows:
    """The rows the results file already has; repairs a truncated last line; drops errors if asked.

    `last_row`, the rows file's line count, bounds the row numbers a result line may name: a
    line naming row 10¹⁰ belongs to no run of this rows file, and must not make us allocate
    for it.
    """
    done = DoneRows()
    if not out_path.exists():
        return done
    error_lines = 0
    with out_path.open("r+b") as file:
        offset = 0
        for number, line in enumerate(file, start=1):
            if not line.endswith(b"\n"):  # cut short by a kill mid-write: drop it, the row runs again
                file.truncate(offset)
                break
            offset += len(line)
            record = _result_record(line, out_path, number)
            if record is None:
                continue
            if last_row is not None and record["row"] > last_row:
                raise BatchError(
                    f"{out_path} line {number} is the result of row {record['row']}, but the rows file has "
                    f"{last_row} line(s): it belongs to another run; choose another results file"
                )
            if "error" in record:
                error_lines += 1
                if retry_errors:
                    continue
            done.add(record["row"])
    if retry_errors and error_lines:
        _drop_error_lines(out_path)
    return done


def _check_results_path(out_path: Path) -> None:
    """Refuse, before any row runs (and is billed), a results path that cannot be written."""
    if out_path.is_dir():
        raise BatchError(f"the results file {out_path} is a directory; name a file, e.g. {out_path / 'results.jsonl'}")
    if not out_path.parent.is_dir():
        raise BatchError(f"cannot write the results file {out_path}: the directory {out_path.parent} does not exist")
    if not os.access(out_path if out_path.exists() else out_path.parent, os.W_OK):
        raise BatchError(f"cannot write the results file {out_path}: permission denied")


def _result_record(line: bytes, out_path: Path, number: int) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    valid = (
        isinstance(record, dict)
        and isinstance(record.get("row"), int)
        and not isinstance(record.get("row"), bool)
        and record["row"] >= 1
        and ("output" in record) != ("error" in record)
    )
    if not valid:
        raise BatchError(
            f"{out_path} line {number} is not a result line of a batch run; "
            "choose another results file, or remove that line"
        )
    return record


def _drop_error_lines(out_path: Path) -> None:
    """Rewrite the results file without its error lines, streaming, and swap it in atomically."""
    temporary = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    with out_path.open("rb") as source, temporary.open("wb") as target:
        for line in source:
            if line.strip() and "error" not in json.loads(line):
                target.write(line)
        target.flush()
        os.fsync(target.fileno())
    os.replace(temporary, out_path)


class ResultWriter:
    """Appends one whole line per call, with one `write` system call on an O_APPEND descriptor."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record as a whole line, registered secrets masked (an answer may quote a key).

        pydantic-core's encoder writes the line: compact UTF-8 JSON that reads back as the same
        values as `json.dumps` would write (a number may be spelled otherwise, 1e-05 as 0.00001),
        in a tenth of the time: an embedding's 256 numbers took `json.dumps` 186 µs, 17 µs here,
        and a batch of embeddings spent more on writing its results than on anything else.
        Masking is one pass over the line's text, not a walk over every value: it knows each
        secret's JSON-escaped spelling.
        """
        data = (scrub(to_json(record).decode("utf-8")) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:  # a regular file takes it all at once; the loop covers the rare short write
            written = os.write(self._fd, view)
            view = view[written:]

    def close(self) -> None:
        os.close(self._fd)


# ---------------------------------------------------------------- rows


def iter_rows(rows_path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for each non-blank line, read one at a time."""
    with rows_path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            if line.strip():
                yield number, line


def count_lines(rows_path: Path) -> int:
    """The rows file's line count (a last line without a newline counts): its highest row number."""
    lines, last = 0, b"\n"
    with rows_path.open("rb") as file:
        while chunk := file.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def count_rows(rows_path: Path) -> int:
    """Non-blank lines, counted in a streaming pass (for the progress bar's total)."""
    with rows_path.open("rb") as file:
        return sum(1 for line in file if line.strip())


def parse_row(line: bytes | str, row: int) -> dict[str, Any]:
    """One rows line as an inputs object; `InputValidationError` says why it is not one."""
    if len(line) > MAX_LINE_BYTES:
        raise InputValidationError(
            [Problem("", f"row {row} is {len(line)} bytes long, over the limit of {MAX_LINE_BYTES}")]
        )
    try:
        value = read_json(line)
    except UnicodeDecodeError:
        raise InputValidationError([Problem("", f"row {row} is not UTF-8 text")]) from None
    except JsonValueError as error:  # not JSON, or JSON holding NaN, a huge integer, deep nesting
        raise InputValidationError(
            [
                Problem(p.location, f"row {row}{' is' if isinstance(error, JsonSyntaxError) else ':'} {p.message}")
                for p in error.problems
            ]
        ) from None
    if not isinstance(value, dict):
        raise InputValidationError(
            [Problem("", f"row {row} must be a JSON object of inputs, not {type(value).__name__}")]
        )
    return value


# ---------------------------------------------------------------- running


async def run_batch(
    host: Host,
    component: str,
    action: str,
    rows_path: str | Path,
    out_path: str | Path,
    *,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    connection: Connection | Mapping[str, Any] | None = None,
    progress: BatchProgress | None = None,
    retry_errors: bool = False,
    stop: BatchStop | None = None,
    handle_signals: bool = False,
) -> BatchSummary:
    """Run `component.action` over every row of `rows_path` not yet in `out_path`.

    `handle_signals` makes SIGINT and SIGTERM call `stop.request()` for the duration (the
    command line's behaviour); otherwise the caller may call it, or cancel the coroutine.
    """
    rows_path, out_path = Path(rows_path), Path(out_path)
    concurrency = parse_concurrency(concurrency)
    if not rows_path.is_file():
        raise BatchError(f"cannot read the rows file {rows_path}: no such file")
    if out_path.exists() and out_path.resolve() == rows_path.resolve():
        raise BatchError("the results file must not be the rows file")
    _check_results_path(out_path)
    from zhipu_connector.workflow.bulk import refuse_if_bulk_pending  # bulk.py imports this module

    refuse_if_bulk_pending(out_path)  # its submitted rows have no line yet: they would run twice
    bound = host.action(component, action)
    if not isinstance(connection, Connection) and bound.connections.required:
        connection = host.connection(component, connection or {})
    done = read_done_rows(out_path, retry_errors=retry_errors, last_row=count_lines(rows_path))
    if progress is not None:
        progress.start(count_rows(rows_path), done.count)
    stop = stop or BatchStop()
    writer = ResultWriter(out_path)
    restore = _install_signal_handlers(stop) if handle_signals else None
    try:
        summary = await process_rows(
            host,
            component,
            action,
            iter_rows(rows_path),
            writer,
            done=done,
            concurrency=concurrency,
            connection=connection,
            progress=progress,
            stop=stop,
        )
    finally:
        writer.close()
        if restore is not None:
            restore()
    if progress is not None:
        progress.finish(summary)
    return summary


async def process_rows(
    host: Host,
    component: str,
    action: str,
    rows: Iterable[tuple[int, bytes | str]],
    writer: ResultWriter | Any,
    *,
    done: DoneRows | None = None,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    connection: Connection | Mapping[str, Any] | None = None,
    progress: BatchProgress | None = None,
    stop: BatchStop | None = None,
) -> BatchSummary:
    """The engine: pull a row only when a slot is free, write its line the moment it is done.

    `rows` is any iterable of (row number, line); it is consumed lazily, never more than
    `concurrency` rows ahead of the results written. `writer` needs only `write(record)`.
    """
    done = done or DoneRows()
    stop = stop or BatchStop()
    stop._cooperative = host.action(component, action).handler.arun is None
    summary = BatchSummary()
    began = time.perf_counter()
    slots = asyncio.Semaphore(rows_in_flight(concurrency))
    in_flight = stop._in_flight

    async def run_row(row: int, line: bytes | str) -> None:
        try:
            inputs = parse_row(line, row)
            context = ActionContext(component, action, cancel_event=stop.thread_event)
            output = await host.arun_action(component, action, inputs, connection, context=context)
            record: dict[str, Any] = {"row": row, "output": output}
        except asyncio.CancelledError:
            raise  # nothing is written: the row runs again next time
        except ActionCancelledError:
            return  # stopped before it finished: nothing is written, the row runs again next time
        except ConnectorError as error:
            record = {"row": row, "error": scrub_value(error.to_dict())}
        except Exception as error:  # a bug must not sink the other rows; it is reported on its row
            record = {"row": row, "error": scrub_value({"type": type(error).__name__, "message": str(error)})}
        ok = "output" in record
        try:
            writer.write(record)
        except ValueError as error:  # an output that is not JSON (PydanticSerializationError is a ValueError)
            ok = False
            writer.write(
                {
                    "row": row,
                    "error": {
                        "type": type(error).__name__,
                        "message": f"the output cannot be written as JSON: {error}",
                    },
                }
            )
        if ok:
            summary.succeeded += 1
        else:
            summary.failed += 1
        if progress is not None:
            progress.advance(ok)

    def release(task: asyncio.Task[None]) -> None:
        in_flight.discard(task)
        slots.release()

    try:
        for row, line in rows:
            if stop.stopping.is_set():
                summary.interrupted = True
                break
            summary.rows += 1
            if row in done:
                summary.skipped += 1
                continue
            await slots.acquire()
            if stop.stopping.is_set():
                slots.release()
                summary.rows -= 1
                summary.interrupted = True
                break
            task = asyncio.create_task(run_row(row, line))
            in_flight.add(task)
            task.add_done_callback(release)
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)
    except asyncio.CancelledError:  # our caller was cancelled: cancel the rows, then stop
        stop._cancel_rows()
        await asyncio.gather(*in_flight, return_exceptions=True)
        raise
    summary.interrupted = summary.interrupted or stop.stopping.is_set()
    summary.seconds = time.perf_counter() - began
    return summary


def parse_concurrency(value: object) -> Concurrency:
    """`auto`, or a whole number of rows of at least 1 (as text from a command line, or an int)."""
    if value == "auto":
        return "auto"
    number: object = value
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise BatchError(f"concurrency must be auto or a whole number of at least 1, not {value!r}")
    return number


def rows_in_flight(concurrency: Concurrency) -> int:
    """How many rows may run at once: the number given, or `AUTO_ROWS_IN_FLIGHT` for auto."""
    concurrency = parse_concurrency(concurrency)
    return AUTO_ROWS_IN_FLIGHT if concurrency == "auto" else concurrency


def _install_signal_handlers(stop: BatchStop) -> Any:
    """Route SIGINT and SIGTERM to `stop.request`; returns a function that undoes it."""
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    previous: dict[int, Any] = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(number, stop.request, number)
            installed.append(number)
        except (NotImplementedError, RuntimeError):  # no loop signal support (Windows)
            previous[number] = signal.signal(
                number, lambda signum, frame: loop.call_soon_threadsafe(stop.request, signum)
            )

    def restore() -> None:
        for number in installed:
            loop.remove_signal_handler(number)
        for number, handler in previous.items():
            signal.signal(number, handler)

    return restore
