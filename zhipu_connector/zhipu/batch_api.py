"""`batch ACTION --via batch-api`: a batch's rows through Zhipu's Batch API, resumable at any instant.

The steps, each recorded in the state file (`batch_state.py`) beside the results:

1. **Build.** Each row is validated as a real-time call validates it (the host's own input
   preparation), its model checked against the batch allow-list, and its body built by the
   action's own body builder. A row that fails is an error line in the results at once and is
   never uploaded. The lines go to JSONL files in the work directory, one model per file and
   within the platform's limits, each with two sidecars: the rows' validated inputs (defaults
   applied, as the handler would see them; the output reader needs them) and the (row, offset
   of its inputs) pairs.
2. **Upload** each file (`POST /files`, purpose `batch`), named `zc-<run>-part-<n>.jsonl`.
3. **Create** a batch per file (`POST /batches`) with metadata naming the run and the part.
4. **Poll** the batches (`GET /batches/<id>`), the progress bar advancing with their counts.
5. **Collect**: download the output and error files, map each line back to its row by its
   `custom_id` (the order of lines is not guaranteed), read the answer with the action's own
   output reader, and append the same result line a real-time run writes. Rows a batch never
   ran (expired, cancelled, failed validation) get an error line each.

Crash points, and why nothing is lost, duplicated or billed twice:

- *During the build*: nothing was uploaded (the state says `built: false`); the next start
  builds again from scratch, skipping rows that already have a result line.
- *After the build*: every line exists on disk and in the state; rows are never rebuilt.
- *Around an upload*: `uploading` is saved before `POST /files`, the file id after. A start that
  finds `uploading` without an id lists the account's files for the part's unique name: found,
  it is adopted (and any duplicate deleted — an upload is not billed); not found, it uploads.
- *Around a batch's creation*: `creating` is saved before `POST /batches`, the batch id after.
  A start that finds `creating` without an id lists the batches for one whose metadata names
  this run and part, and adopts it; only when there is none does it create one. `POST /batches`
  is sent once per attempt and never retried blindly on a timeout: the lookup comes first. So
  one part has at most one batch: a row is submitted, and billed, once.
- *While a batch runs*: its id is in the state; the next start re-attaches.
- *During the collection*: a result line is written whole or not at all, and a collected part is
  marked only after its lines are written; a restart collects the part again, skipping the rows
  that already have their line.
- *After everything is collected*: the state file and the work directory are removed; a run
  left with only that to do does it.
"""

from __future__ import annotations

import bisect
import json
import secrets
import shutil
import struct
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from zhipu_connector.host.context import ActionContext, new_request_id
from zhipu_connector.host.dispatch import _finish, _prepare
from zhipu_connector.host.errors import ConnectorError, InputValidationError, Problem
from zhipu_connector.host.host import Host
from zhipu_connector.host.secrets import scrub_value
from zhipu_connector.workflow.batch import (
    BatchError,
    BatchSummary,
    DoneRows,
    ResultWriter,
    _check_results_path,
    count_lines,
    count_rows,
    iter_rows,
    parse_row,
    read_done_rows,
)
from zhipu_connector.workflow.bulk import BulkRun
from zhipu_connector.zhipu import batch_lines, file_client
from zhipu_connector.zhipu.batch_state import Part, RunState, load_state, save_state
from zhipu_connector.zhipu.client import ZhipuClient
from zhipu_connector.zhipu.connections import sync_client
from zhipu_connector.zhipu.errors import ZhipuError, error_from_payload
from zhipu_connector.zhipu.platforms import INTERNATIONAL, platform_of
from zhipu_connector.zhipu.protocol import read_answer
from zhipu_connector.zhipu.routes import (
    BATCH,
    BATCH_CANCEL,
    BATCH_LIST,
    BATCHES,
    FILE_CONTENT,
    FILE_DELETE,
    FILE_LIST,
    FILES,
)

DEFAULT_POLL_SECONDS = 30.0
CREATE_ATTEMPTS = 5
LOOKUP_SLACK_MS = 10 * 60 * 1000  # files and batches older than the run's start by more are not ours
_PAIR = struct.Struct("<qq")


class _Stopped(Exception):
    """Ctrl-C or SIGTERM while the files are being built: nothing was sent; the next start builds again."""


class BatchRowError(ConnectorError):
    """A row the Batch API did not answer; re-run it in real time with `--retry-errors`."""


class BatchExpiredError(BatchRowError):
    """The row's batch expired before the row ran."""


class BatchCancelledError(BatchRowError):
    """The row's batch was cancelled (or never submitted) before the row ran."""


class BatchFailedError(BatchRowError):
    """The row's batch failed the platform's validation as a whole."""


class BatchResultMissingError(BatchRowError):
    """The batch finished, but neither its output nor its error file has the row."""


def run_batch_api(
    host: Host, component: str, action: str, rows_path: Path, out_path: Path, *, run: BulkRun
) -> BatchSummary:
    """The `batch-api` bulk runner (see `workflow/bulk.py`): build, submit, wait, collect."""
    return BatchApiRun(host, component, action, rows_path, out_path, run).run()


class BatchApiRun:
    """One Batch API run, in steps an engine can drive itself (an Airflow deferrable operator):

    `start()` builds the files (or loads the state of an earlier start) and `submit()` uploads
    them and creates the batches; `poll()` reads every unfinished batch once and collects those
    that ended, returning True when every row has its line; `close()` ends the run's client.
    `run()` is all of it, sleeping `poll_seconds` between polls, until done or `run.stop` is set.
    """

    def __init__(self, host: Host, component: str, action: str, rows_path: Path, out_path: Path, run: BulkRun) -> None:
        if component != "zhipu" or action not in batch_lines.BATCHABLE_ACTIONS:
            raise BatchError(
                f"{component}.{action} cannot run through the Batch API; it takes: "
                + ", ".join(sorted(batch_lines.BATCHABLE_ACTIONS))
            )
        self.host, self.component, self.action = host, component, action
        self.rows_path, self.out_path, self.bulk = Path(rows_path), Path(out_path), run
        self.batchable = batch_lines.BATCHABLE_ACTIONS[action]
        self.bound = host.action(component, action)
        self.connection = run.connection
        self.poll_seconds = float(run.options.get("poll_seconds", DEFAULT_POLL_SECONDS))
        self.sleep: Callable[[float], Any] = run.options.get("sleep") or run.stop.wait
        self.summary = BatchSummary()
        self.state: RunState | None = None
        self.done = DoneRows()
        self._counted: dict[int, int] = {}
        self._progress_started = False
        self._began = time.perf_counter()
        self._stack = ExitStack()
        self._client: ZhipuClient | None = None
        self._writer: ResultWriter | None = None

    # ------------------------------------------------------------ the whole run

    def run(self) -> BatchSummary:
        try:
            try:
                if not self.start():
                    return self._summary()
            except _Stopped:
                self.summary.interrupted = True
                self.bulk.report("batch-api: stopped while building the files; nothing was sent")
                return self._summary()
            if self.bulk.cancel or self._state().cancelling:  # a cancel cut short is finished first
                self.cancel()
            else:
                self.submit()
            while not self.poll():
                if self.bulk.stop.is_set():
                    self.summary.interrupted = True
                    self.bulk.report(
                        "batch-api: stopped waiting; the batches keep running on the platform. Run the same "
                        "command again to collect them, or add --cancel to cancel them"
                    )
                    break
                self.sleep(self.poll_seconds)
        finally:
            self.close()
        return self._summary()

    def start(self) -> bool:
        """Check everything, then load the run in progress or build a new one; False: nothing to do."""
        self._check()
        state = load_state(self.bulk.state_path)
        last_row = count_lines(self.rows_path)
        if state is None:
            if self.bulk.cancel:
                self.bulk.report(f"batch-api: no Batch API run in progress on {self.out_path}; nothing to cancel")
                return False
            self.done = read_done_rows(self.out_path, retry_errors=self.bulk.retry_errors, last_row=last_row)
        else:
            self._check_resumable(state)
            self.done = read_done_rows(self.out_path, last_row=last_row)
        self.summary.skipped = self.done.count
        if self.bulk.progress is not None:
            self.bulk.progress.start(count_rows(self.rows_path), self.done.count)
            self._progress_started = True
        self._writer = ResultWriter(self.out_path)
        if state is None or not state.built:
            state = self._build(state)
        else:
            self.bulk.report(f"batch-api: re-attaching to run {state.run} ({len(state.parts)} file(s))")
        self.state = state
        return True

    def submit(self) -> None:
        """Upload every built file and create its batch (each step recorded before and after)."""
        state = self._state()
        if state.cancelling:
            return
        for part in state.parts:
            if self.bulk.stop.is_set():
                return
            if part.batch is None and not part.never_sent:
                self._ensure_file(part)
                self._ensure_batch(part)

    def poll(self) -> bool:
        """Read each unfinished batch once, collect the finished ones; True when every part is collected."""
        state = self._state()
        for part in state.parts:
            if part.collected:
                continue
            if part.batch is not None and not part.finished:
                self._refresh(part)
            if part.finished:
                self._collect(part)
        everything = all(part.collected for part in state.parts)
        if everything:
            self._finish()
        return everything

    def cancel(self) -> None:
        """Cancel the batches still running; parts never created are not sent at all."""
        state = self._state()
        state.cancelling = True
        self._save()
        for part in state.parts:
            if part.collected or part.finished:
                continue
            if part.batch is None and part.creating:
                self._adopt_batch(part)
            if part.batch is None:
                part.never_sent = True
                part.status = "cancelled"
                self._delete_uploaded(part)
                self._save()
                continue
            try:
                answer = self._call(BATCH_CANCEL, path_params={"id": part.batch})
            except ZhipuError:  # finished meanwhile: read its end instead
                answer = self._call(BATCH, path_params={"id": part.batch})
            self._update(part, answer)
            self.bulk.report(f"batch-api: part {part.part}: cancelling batch {part.batch} ({part.status})")
        self._save()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._stack.close()
        self._client = None

    # ------------------------------------------------------------ checks

    def _check(self) -> None:
        if not self.rows_path.is_file():
            raise BatchError(f"cannot read the rows file {self.rows_path}: no such file")
        if self.out_path.exists() and self.out_path.resolve() == self.rows_path.resolve():
            raise BatchError("the results file must not be the rows file")
        _check_results_path(self.out_path)
        if self.connection is None:
            raise BatchError("the Batch API needs a Zhipu connection (ZHIPUAI_API_KEY)")
        if platform_of(self.connection) == INTERNATIONAL:
            raise BatchError(
                "the Batch API exists on the mainland platform (open.bigmodel.cn) only; the international "
                "platform (api.z.ai) has no /batches. Run in real time (without --via), or use a mainland connection"
            )

    def _check_resumable(self, state: RunState) -> None:
        if state.action != f"{self.component}.{self.action}":
            raise BatchError(
                f"{self.bulk.state_path} belongs to a Batch API run of {state.action}, not of "
                f"{self.component}.{self.action}; finish or cancel it with its own action"
            )
        stat = self.rows_path.stat()
        if state.rows_path != str(self.rows_path.resolve()) or (stat.st_size, stat.st_mtime_ns) != (
            state.rows_size,
            state.rows_mtime_ns,
        ):
            raise BatchError(
                f"the Batch API run in progress on {self.out_path} was started from {state.rows_path} as it was "
                "then; that file is missing or changed, so its rows cannot be matched to the results. "
                "Restore it, or stop the run with --cancel"
            )
        if self.bulk.retry_errors:
            raise BatchError(
                "--retry-errors: a Batch API run on these results is still in progress; "
                "let it finish (the same command without --retry-errors) or --cancel it first"
            )

    # ------------------------------------------------------------ 1. build

    def _build(self, earlier: RunState | None) -> RunState:
        stat = self.rows_path.stat()
        state = earlier or RunState(
            run=secrets.token_hex(6),
            action=f"{self.component}.{self.action}",
            rows_path=str(self.rows_path.resolve()),
            rows_size=stat.st_size,
            rows_mtime_ns=stat.st_mtime_ns,
        )
        work = self.bulk.work_dir
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        state.parts, state.built = [], False
        save_state(self.bulk.state_path, state)  # from here a real-time run on these results is refused
        open_parts: dict[tuple[str, str], tuple[Part, IO[bytes], IO[bytes], IO[bytes]]] = {}
        limit = self.batchable.max_lines
        try:
            for row, line in iter_rows(self.rows_path):
                if row % 1000 == 0 and self.bulk.stop.is_set():
                    raise _Stopped
                self.summary.rows += 1
                if row in self.done:
                    continue
                request = self._request_line(state, row, line)
                if request is None:
                    continue
                model, data, values = request
                key = (self.batchable.url, model)
                current = open_parts.get(key)
                if current is not None and (
                    current[0].lines >= limit or current[0].bytes + len(data) > batch_lines.MAX_FILE_BYTES
                ):
                    self._close_part(current)
                    current = None
                if current is None:
                    number = len(state.parts) + 1
                    part = Part(number, model, self.batchable.url, 0, 0, f"zc-{state.run}-part-{number:04d}.jsonl")
                    state.parts.append(part)
                    current = (
                        part,
                        self._part_path(part, "jsonl").open("wb"),
                        self._part_path(part, "rows").open("wb"),
                        self._part_path(part, "values").open("wb"),
                    )
                    open_parts[key] = current
                part, lines_file, rows_file, values_file = current
                lines_file.write(data)
                rows_file.write(_PAIR.pack(row, values_file.tell()))
                values_file.write(values)
                part.lines += 1
                part.bytes += len(data)
        finally:
            for current in open_parts.values():
                self._close_part(current)
        state.built = True
        save_state(self.bulk.state_path, state)
        lines = sum(part.lines for part in state.parts)
        models = ", ".join(sorted({part.model for part in state.parts})) or "none"
        self.bulk.report(f"batch-api: {lines} row(s) in {len(state.parts)} file(s) (models: {models}); run {state.run}")
        return state

    def _request_line(self, state: RunState, row: int, line: bytes) -> tuple[str, bytes, bytes] | None:
        """The row's model, JSONL request line and validated inputs; None after writing its error line."""
        custom = batch_lines.custom_id(row)
        try:
            inputs = parse_row(line, row)
            values, _, _ = _prepare(self.bound, inputs, self.connection, None)
            body = batch_lines.request_body(self.batchable, values, f"{state.run}-{custom}")
            problem = batch_lines.model_problem(body.get("model"))
            if problem is not None:
                raise InputValidationError([Problem("model", problem)], subject=self.bound.key)
        except ConnectorError as error:
            self._write({"row": row, "error": scrub_value(error.to_dict())}, ok=False)
            return None
        request = {"custom_id": custom, "method": "POST", "url": self.batchable.url, "body": body}
        try:
            data = (json.dumps(request, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
            kept = (json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        except (TypeError, ValueError) as error:  # a lone surrogate in a text, say
            self._write({"row": row, "error": {"type": "InputValidationError", "message": str(error)}}, ok=False)
            return None
        return str(body["model"]).strip().lower(), data, kept

    @staticmethod
    def _close_part(current: tuple[Part, IO[bytes], IO[bytes], IO[bytes]]) -> None:
        for file in current[1:]:
            if not file.closed:
                file.flush()
                file.close()

    def _part_path(self, part: Part, kind: str) -> Path:
        return self.bulk.work_dir / f"part-{part.part:04d}.{kind}"

    # ------------------------------------------------------------ 2. upload, 3. create

    def _ensure_file(self, part: Part) -> None:
        if part.file is not None:
            return
        if part.uploading:
            found = self._find_uploaded(part)
            if found:
                part.file, part.uploading = found, False
                self._save()
                return
        part.uploading = True
        self._save()
        upload = file_client.MultipartFile(
            {"purpose": "batch"}, "file", self._part_path(part, "jsonl"), part.filename, "application/jsonl"
        )
        answer = self._call(FILES, upload=upload)
        part.file, part.uploading = str(answer["id"]), False
        state = self._state()
        if state.server_ms is None and isinstance(answer.get("created_at"), int):
            state.server_ms = answer["created_at"] * 1000
        self._save()
        self.bulk.report(f"batch-api: part {part.part}/{len(self._state().parts)}: uploaded {part.lines} line(s)")

    def _find_uploaded(self, part: Part) -> str | None:
        """The file a killed run uploaded for `part` (by its unique name); duplicates are deleted."""
        matches = [
            str(item["id"])
            for item in self._listed(FILE_LIST, {"purpose": "batch"}, milliseconds=False)
            if item.get("filename") == part.filename and item.get("bytes") == part.bytes
        ]
        for extra in matches[1:]:
            self._delete_file(extra)
        return matches[0] if matches else None

    def _ensure_batch(self, part: Part) -> None:
        if part.batch is not None:
            return
        if part.creating and self._adopt_batch(part):
            return
        state = self._state()
        body = {
            "input_file_id": part.file,
            "endpoint": part.url,
            "auto_delete_input_file": True,
            "metadata": {"zc_run": state.run, "zc_part": str(part.part), "zc_file": part.filename},
        }
        part.creating = True
        self._save()
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                answer = self._call(BATCHES, json_body=json.dumps(body).encode(), retry=False)
                break
            except ZhipuError as error:
                ambiguous = error.status is None or error.status == 429 or error.status >= 500
                if ambiguous and self._adopt_batch(part):  # it may have been created all the same
                    return
                if not ambiguous or attempt == CREATE_ATTEMPTS:
                    raise BatchError(
                        f"the batch for part {part.part} ({part.lines} rows) could not be created: {error}. "
                        "Nothing of it was submitted; run the same command again to retry"
                    ) from None
                self.sleep(min(2.0**attempt, 60.0))
        part.creating = False
        self._update(part, answer)
        self.bulk.report(f"batch-api: part {part.part}/{len(state.parts)}: batch {part.batch} created")

    def _adopt_batch(self, part: Part) -> bool:
        """Find the batch a killed run created for `part` (by its metadata); True when adopted."""
        state = self._state()
        for item in self._listed(BATCH_LIST, {}, milliseconds=True):
            metadata = item.get("metadata") or {}
            ours = metadata.get("zc_run") == state.run and metadata.get("zc_part") == str(part.part)
            if ours or (part.file is not None and item.get("input_file_id") == part.file):
                part.creating = False
                self._update(part, item)
                self.bulk.report(f"batch-api: part {part.part}: re-attached to batch {part.batch}")
                return True
        return False

    def _listed(self, route: Any, query: dict[str, str | int], *, milliseconds: bool) -> Iterator[dict[str, Any]]:
        """Every item of a list route, newest first, paged with `after` until a page is empty.

        Stops at items older than this run's first upload by the platform's own clock (with some
        slack), so a long-lived account's history is not read; before any upload was recorded
        (a crash during the first one) it reads every page.
        """
        server_ms = self._state().server_ms
        oldest = server_ms - LOOKUP_SLACK_MS if server_ms is not None else None
        after: str | None = None
        while True:
            page = self._call(route, query={**query, "limit": 100, **({"after": after} if after else {})})
            data = page.get("data") or []
            if not data:
                return
            for item in data:
                created = item.get("created_at")
                stamp = created if milliseconds else created * 1000 if isinstance(created, int | float) else None
                if oldest is not None and isinstance(stamp, int | float) and stamp < oldest:
                    return
                yield item
            after = str(data[-1].get("id"))
            if page.get("has_more") is False:
                return

    # ------------------------------------------------------------ 4. poll

    def _refresh(self, part: Part) -> None:
        previous = part.status
        try:
            answer = self._call(BATCH, path_params={"id": str(part.batch)})
        except ZhipuError as error:
            if error.status != 404:
                raise
            raise BatchError(
                f"the platform does not know batch {part.batch} (part {part.part} of this run, {part.lines} rows): "
                f"{error.message}. Is the connection's key that of the account that started the run? The state is "
                f"kept in {self.bulk.state_path}; delete it (and its results' directory) only to give the run up"
            ) from None
        self._update(part, answer)
        counts = answer.get("request_counts") or {}
        completed, failed = counts.get("completed") or 0, counts.get("failed") or 0
        progress = self.bulk.progress
        if progress is not None:
            counted = self._counted.get(part.part, 0)
            for index in range(counted, min(completed + failed, part.lines)):
                progress.advance(index - counted < max(completed - counted, 0))
            self._counted[part.part] = max(counted, min(completed + failed, part.lines))
        if part.status != previous:
            self._save()
            self.bulk.report(
                f"batch-api: part {part.part}/{len(self._state().parts)}: batch {part.batch} {part.status}"
                f" ({completed + failed}/{part.lines})"
            )

    def _update(self, part: Part, batch: dict[str, Any]) -> None:
        part.batch = str(batch.get("id") or part.batch)
        part.status = str(batch.get("status") or part.status)
        part.output_file = batch.get("output_file_id") or None
        part.error_file = batch.get("error_file_id") or None
        errors = (batch.get("errors") or {}).get("data") if isinstance(batch.get("errors"), dict) else None
        if errors:
            part.errors = "; ".join(str(item.get("message") or item) for item in errors if isinstance(item, dict))[
                :2000
            ]

    # ------------------------------------------------------------ 5. collect

    def _collect(self, part: Part) -> None:
        files = []
        for kind, file_id in (("output", part.output_file), ("errors", part.error_file)):
            if file_id:
                target = self._part_path(part, f"{kind}.jsonl")
                if not target.exists():
                    file_client.download(
                        self._http(), FILE_CONTENT, target, request_id=new_request_id(), path_params={"id": file_id}
                    )
                files.append(target)
        rows, offsets = _load_pairs(self._part_path(part, "rows"))
        seen = bytearray(len(rows))
        with self._part_path(part, "values").open("rb") as values:
            for path in files:
                with path.open("rb") as file:
                    for line in file:
                        if line.strip():
                            self._collect_line(part, line, rows, offsets, seen, values)
        for index, row in enumerate(rows):
            if not seen[index] and row not in self.done:
                self._write({"row": row, "error": self._unanswered(part).to_dict()}, ok=False, part=part)
        part.collected = True
        self._save()
        self._tidy(part)

    def _tidy(self, part: Part) -> None:
        """Delete the part's output and error files on the platform (they count against its file limit)."""
        if part.tidied:
            return
        for file_id in (part.output_file, part.error_file):
            if file_id:
                self._delete_file(file_id)
        part.tidied = True
        self._save()

    def _collect_line(
        self, part: Part, line: bytes, rows: array[int], offsets: array[int], seen: bytearray, values: IO[bytes]
    ) -> None:
        try:
            record = json.loads(line)
            row = batch_lines.row_of(record.get("custom_id"))
        except (ValueError, AttributeError):
            return
        index = bisect.bisect_left(rows, row) if row is not None else len(rows)
        if index >= len(rows) or rows[index] != row or seen[index]:
            return  # not a row of this part, or a line given twice: each row gets one line
        seen[index] = 1
        if row in self.done:
            return  # written before a restart
        response = record.get("response") if isinstance(record.get("response"), dict) else {}
        values.seek(offsets[index])
        result = self._result(row, values.readline(), response)
        self._write(result, ok="output" in result, part=part)

    def _result(self, row: int, inputs: bytes, response: dict[str, Any]) -> dict[str, Any]:
        """The row's result line from its output or error line: the real-time mapping, step for step."""
        status, body = response.get("status_code"), response.get("body")
        request_id = f"{self._state().run}-{batch_lines.custom_id(row)}"
        if isinstance(body, dict) and isinstance(body.get("request_id"), str):
            request_id = body["request_id"]
        try:
            if status != 200 or not isinstance(body, dict):
                raise error_from_payload(
                    body, status=status if isinstance(status, int) else None, request_id=request_id
                )
            values = json.loads(inputs)  # validated at the build, defaults applied: what a handler gets
            context = ActionContext(self.component, self.action, request_id=request_id)
            description = self.batchable.description()
            answer = read_answer(description.route.answer, json.dumps(body).encode(), 200, request_id)
            output = description.output(answer, request_id, context, values)
            return {"row": row, "output": _finish(self.bound, output, values)}
        except ConnectorError as error:
            return {"row": row, "error": scrub_value(error.to_dict())}

    def _unanswered(self, part: Part) -> BatchRowError:
        rerun = "re-run it in real time with --retry-errors (without --via)"
        batch = f"batch {part.batch}" if part.batch else "its batch"
        if part.status == "expired":
            return BatchExpiredError(f"{batch} expired before this row ran; {rerun}")
        if part.status in ("cancelled", "cancelling") or part.never_sent:
            if part.never_sent:
                return BatchCancelledError(f"the run was cancelled before this row was submitted; {rerun}")
            return BatchCancelledError(f"{batch} was cancelled before this row ran; {rerun}")
        if part.status == "failed":
            return BatchFailedError(
                f"{batch} failed the platform's validation: {part.errors or 'no reason given'}; {rerun}"
            )
        return BatchResultMissingError(f"{batch} finished without a result for this row; {rerun}")

    def _finish(self) -> None:
        for part in self._state().parts:  # a part collected just before a crash may not be tidied yet
            self._tidy(part)
        shutil.rmtree(self.bulk.work_dir, ignore_errors=True)
        self.bulk.state_path.unlink(missing_ok=True)
        state = self.bulk.state_path
        for stale in state.parent.glob(f".{state.name}.*.tmp"):  # a save cut short by a kill
            stale.unlink(missing_ok=True)

    # ------------------------------------------------------------ plumbing

    def _write(self, record: dict[str, Any], *, ok: bool, part: Part | None = None) -> None:
        assert self._writer is not None
        try:
            self._writer.write(record)
        except (TypeError, ValueError) as error:  # an output that is not JSON
            ok = False
            self._writer.write({"row": record["row"], "error": {"type": type(error).__name__, "message": str(error)}})
        self.done.add(record["row"])
        if ok:
            self.summary.succeeded += 1
        else:
            self.summary.failed += 1
        progress = self.bulk.progress
        if progress is None:
            return
        if part is not None and self._counted.get(part.part, 0) > 0:
            self._counted[part.part] -= 1  # advanced already while the batch ran
            return
        progress.advance(ok)

    def _call(self, route: Any, **options: Any) -> dict[str, Any]:
        return file_client.request(self._http(), route, request_id=new_request_id(), **options)

    def _http(self) -> ZhipuClient:
        if self._client is None:
            assert self.connection is not None
            self._client = self._stack.enter_context(sync_client(self.connection))
        return self._client

    def _delete_file(self, file_id: str) -> None:
        try:
            self._call(FILE_DELETE, path_params={"id": file_id})
        except ZhipuError:  # gone already (auto-deleted): nothing to tidy
            pass

    def _delete_uploaded(self, part: Part) -> None:
        found = part.file or (self._find_uploaded(part) if part.uploading else None)
        if found:
            self._delete_file(found)
        part.file, part.uploading = None, False

    def _save(self) -> None:
        save_state(self.bulk.state_path, self._state())

    def _state(self) -> RunState:
        assert self.state is not None, "start() first"
        return self.state

    def _summary(self) -> BatchSummary:
        if self.state is not None and not self.summary.rows:
            self.summary.rows = count_rows(self.rows_path)
        self.summary.seconds = time.perf_counter() - self._began
        if self.bulk.progress is not None and self._progress_started:
            self.bulk.progress.finish(self.summary)
        return self.summary


run_batch_api.steps = BatchApiRun  # type: ignore[attr-defined]  # what an engine drives in steps (Airflow's deferral)


def _load_pairs(path: Path) -> tuple[array[int], array[int]]:
    """A part's (row, offset of its inputs) sidecar as two arrays, rows ascending (16 bytes a row)."""
    rows, offsets = array("q"), array("q")
    with path.open("rb") as file:
        data = file.read()
    for row, offset in _PAIR.iter_unpack(data):
        rows.append(row)
        offsets.append(offset)
    return rows, offsets
