"""A Batch API run's state file: what was built, uploaded and created, so any restart re-attaches.

The file is small (one entry per uploaded file, not per row) and always written whole and
atomically — a temporary file, `fsync`, `os.replace`, `fsync` of the directory — so a process
killed at any instant leaves either the previous state or the next one, never half of one.

Every step that reaches the platform is recorded *before* it is sent (`uploading`, `creating`)
and its result *after* (`file`, `batch`). A restart that finds an intent without its result
looks the work up on the platform — the file by its unique name, the batch by its metadata —
instead of sending it again; see `batch_api.py` for each crash point.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zhipu_connector.workflow.batch import BatchError

FORMAT = 1
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass
class Part:
    """One JSONL file of requests: one model, within the platform's limits."""

    part: int
    model: str
    url: str
    lines: int
    bytes: int
    filename: str
    uploading: bool = False
    file: str | None = None
    creating: bool = False
    batch: str | None = None
    status: str | None = None
    output_file: str | None = None
    error_file: str | None = None
    errors: str | None = None
    never_sent: bool = False  # cancelled before it was created: its rows were never submitted
    collected: bool = False
    tidied: bool = False  # its output and error files deleted on the platform

    @property
    def finished(self) -> bool:
        return self.never_sent or self.status in TERMINAL


@dataclass
class RunState:
    """The whole run: its key (in every file name and batch's metadata), the rows file, the parts."""

    run: str
    action: str
    rows_path: str
    rows_size: int
    rows_mtime_ns: int
    server_ms: int | None = None  # the platform's clock at the first upload: where lookups may stop
    built: bool = False
    cancelling: bool = False
    parts: list[Part] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: Any, path: Path) -> RunState:
        try:
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            fields = {key: value for key, value in data.items() if key not in ("format", "parts")}
            return cls(**fields, parts=[Part(**part) for part in data["parts"]])
        except (AttributeError, TypeError, ValueError, KeyError) as error:
            raise BatchError(f"{path} is not a Batch API run's state file this version can read ({error})") from None


def load_state(path: Path) -> RunState | None:
    """The state kept at `path`, or None when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        raise BatchError(f"{path} is not a Batch API run's state file (not JSON)") from None
    return RunState.from_json(data, path)


def save_state(path: Path, state: RunState) -> None:
    """Write `state` to `path` atomically and durably."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as file:
        json.dump(state.to_json(), file, indent=1)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # a platform without directory descriptors (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
