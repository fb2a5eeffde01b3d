"""How a batch shows its progress: a bar on a terminal, plain lines in a log or a pipe."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from tqdm import tqdm

from zhipu_connector.workflow.batch import BatchProgress, BatchSummary


class BarProgress:
    """A tqdm bar on stderr, counting rows, with the failures so far."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.failed = 0
        self._bar: Any = None

    def start(self, total: int | None, already_done: int) -> None:
        self._bar = tqdm(
            total=total, initial=already_done, unit="row", file=self.stream, dynamic_ncols=True, desc="batch"
        )

    def advance(self, ok: bool) -> None:
        if not ok:
            self.failed += 1
            self._bar.set_postfix(failed=self.failed, refresh=False)
        self._bar.update(1)

    def finish(self, summary: BatchSummary) -> None:
        self._bar.close()


class LineProgress:
    """A line at most every `interval` seconds, and one at the end: readable in a log file."""

    def __init__(self, stream: IO[str] | None = None, *, interval: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self.total: int | None = None
        self.done = 0
        self.failed = 0
        self._last = 0.0

    def start(self, total: int | None, already_done: int) -> None:
        self.total = total
        self.done = already_done
        self._last = time.monotonic()
        skipped = f", {already_done} already done" if already_done else ""
        self._print(f"batch: {total} rows{skipped}")

    def advance(self, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._print(f"batch: {self.done}/{self.total} rows done, {self.failed} failed")

    def finish(self, summary: BatchSummary) -> None:
        self._print(f"batch: {self.done}/{self.total} rows done, {self.failed} failed")

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


def make_progress(stream: IO[str] | None = None) -> BatchProgress:
    """A bar when `stream` is a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return BarProgress(stream) if isatty is not None and isatty() else LineProgress(stream)
