"""Where actions may write files: one root directory, the working directory unless set.

A workflow builds paths from upstream outputs (`out/${name_1}`), so a path is data that may
come from a model's answer or a remote server. An action that writes files confines every
path to `files_root()`: a path that resolves outside it — through `..`, an absolute path or
a symbolic link — is refused before anything is fetched or written.

The root is chosen, most specific first, by `using_files_root(path)` around a run (the demo
writes into its output folder this way), by `ZHIPU_CONNECTOR_FILES_ROOT`, or else it is the
current working directory. A context variable carries it, so concurrent runs in one process
(asyncio tasks, worker threads started with `asyncio.to_thread`) each keep their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

FILES_ROOT_ENV = "ZHIPU_CONNECTOR_FILES_ROOT"

_chosen_root: ContextVar[Path | None] = ContextVar("zhipu_connector_files_root", default=None)


class OutsideFilesRootError(ValueError):
    """A path that resolves outside the files root."""


def files_root() -> Path:
    """The directory every written file must be inside, resolved."""
    chosen = _chosen_root.get() or os.environ.get(FILES_ROOT_ENV) or os.getcwd()
    return Path(chosen).resolve()


@contextmanager
def using_files_root(path: str | Path) -> Iterator[Path]:
    """Confine the files written inside the `with` block to `path`."""
    root = Path(path).resolve()
    token = _chosen_root.set(root)
    try:
        yield root
    finally:
        _chosen_root.reset(token)


def confined_path(raw: str) -> Path:
    """`raw` as a path inside the files root, relative ones taken from the root.

    `~` is not expanded: it is an ordinary file name here. Symbolic links are resolved before
    the check, so a link inside the root that points out of it is refused too.
    """
    root = files_root()
    resolved = (root / raw).resolve()  # an absolute `raw` replaces the root, as it should
    if resolved != root and not resolved.is_relative_to(root):
        raise OutsideFilesRootError(
            f"{raw!r} is outside the files root {root}; write below it, or choose another root with {FILES_ROOT_ENV}"
        )
    return resolved
