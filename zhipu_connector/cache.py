"""A small content-addressed cache for work every start would otherwise repeat.

Loading `connector.yaml` means a JSON Schema check of the whole file and compiling each
action's validators — about as long as importing the dependencies. The results depend only on
the bytes they were made from and on this package's code, so they are stored under a hash of
exactly that: a changed file, schema or package can never meet a stale entry. The cache is an
optimisation only: any failure to read or write it is ignored and the work is simply done.

`ZHIPU_CONNECTOR_CACHE_DIR` chooses the folder (default: `$XDG_CACHE_HOME/zhipu-connector` or
`~/.cache/zhipu-connector`); `ZHIPU_CONNECTOR_NO_CACHE=1` turns it off.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from zhipu_connector import __version__

T = TypeVar("T")
_PACKAGE = Path(__file__).resolve().parent
# The code whose output is cached: an edit to any of these makes every old entry unreachable.
_INTERPRETERS = (
    "definition/models.py",
    "definition/loader.py",
    "definition/rules.py",
    "definition/json_schema.py",
    "definition/yaml_source.py",
    "definition/conditions.py",
    "host/validation.py",
    "host/plugins.py",
    "cache.py",
)
_code_stamp: str | None = None

try:  # CPython's own BLAKE2: `hashlib` would load OpenSSL first, ~2 ms of every start
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import blake2b as _blake2b


def cache_dir() -> Path | None:
    if os.environ.get("ZHIPU_CONNECTOR_NO_CACHE"):
        return None
    chosen = os.environ.get("ZHIPU_CONNECTOR_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zhipu-connector"


def cached(kind: str, material: bytes, build: Callable[[], T]) -> T:
    """`build()`'s result for `material`, from the cache when an identical build was stored."""
    folder = cache_dir()
    if folder is None:
        return build()
    digest = _blake2b(b"\0".join((_stamp().encode(), kind.encode(), material)), digest_size=20).hexdigest()
    path = folder / f"{kind}-{digest}.pickle"
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except Exception:
        pass
    result = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # readers see the whole entry or none
    except Exception:
        pass
    return result


def _stamp() -> str:
    """The package version plus size and modification time of the code that builds entries."""
    global _code_stamp
    if _code_stamp is None:
        parts = [__version__]
        for relative in _INTERPRETERS:
            try:
                stat = (_PACKAGE / relative).stat()
                parts.append(f"{relative}:{stat.st_size}:{stat.st_mtime_ns}")
            except OSError:
                parts.append(f"{relative}:missing")
        _code_stamp = "|".join(parts)
    return _code_stamp
