"""Reading definition and workflow files: bytes, with a size limit, and errors as `Problem`s.

Apart from the YAML reader so that a start served from the cache reads its file without
importing PyYAML.
"""

from __future__ import annotations

from pathlib import Path

from zhipu_connector.errors import Problem

MAX_BYTES = 1024 * 1024
"""A definition or workflow is a few hundred lines; anything over 1 MiB is a mistake or an attack."""


class SourceError(Exception):
    """A file that could not be read or parsed; carries one `Problem` per finding."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


def read_source(path: str | Path, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of the file at `path`, refused past `max_bytes` without reading on."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as error:
        raise SourceError([Problem("", f"cannot read the file: {error.strerror or error}")]) from None
    if len(raw) > max_bytes:
        raise SourceError([Problem("", f"the file is over the limit of {max_bytes} bytes")])
    return raw
