"""A start-up cache of data, never code, for work every start would otherwise repeat.

Loading `connector.yaml` means a JSON Schema check of the whole file, pydantic's validation
and deriving each action's schemas: several times the start's budget (see
`docs/performance.md`). The result depends only on the bytes it was made from, on the
interpreter, on the installed distributions and on this package's code, so it is stored
under a hash of exactly that: a changed file, interpreter, dependency or package never
meets an old entry.

What is stored is JSON, never a pickle or compiled code: reading an entry cannot run
anything. Each entry is type-checked as it is turned back into objects (by the `load`
function its caller gives), and one that cannot be read, decoded or loaded is rebuilt, so a
corrupt or planted entry costs time, never a wrong call. The folder is used only when it
belongs to the user and nobody else may write to it.

`ZHIPU_CONNECTOR_CACHE_DIR` chooses the folder (default: `$XDG_CACHE_HOME/zhipu-connector` or
`~/.cache/zhipu-connector`); `ZHIPU_CONNECTOR_NO_CACHE=1` turns it off.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic_core import from_json

from zhipu_connector import __version__

T = TypeVar("T")
_PACKAGE = Path(__file__).resolve().parent
MAX_ENTRY_BYTES = 8 * 1024 * 1024
"""An entry is a few hundred kilobytes at most; anything larger is not ours and is not read."""
# The code whose output is cached: an edit to any of these makes every old entry unreachable.
_BUILDERS = (
    "cache.py",
    "errors.py",
    "resources.py",
    "definition/models.py",
    "definition/loader.py",
    "definition/rules.py",
    "definition/json_schema.py",
    "definition/yaml_source.py",
    "definition/sources.py",
    "definition/conditions.py",
    "definition/schema_errors.py",
    "definition/rebuild.py",
    "host/plugins.py",
)
_stamp: str | None = None
_distributions: str | None = None

try:  # CPython's own BLAKE2: `hashlib` would load OpenSSL first, ~2 ms of every start
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import blake2b as _blake2b


class EntryError(ValueError):
    """A stored entry whose content does not have the shape its kind requires."""


def cache_dir() -> Path | None:
    """The folder chosen for the cache, None when turned off."""
    if os.environ.get("ZHIPU_CONNECTOR_NO_CACHE"):
        return None
    chosen = os.environ.get("ZHIPU_CONNECTOR_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zhipu-connector"


def cached(
    kind: str, material: bytes, build: Callable[[], T], *, dump: Callable[[T], Any], load: Callable[[Any], T]
) -> T:
    """`build()`'s result for `material`, read back with `load` when an identical build was stored.

    `dump` turns the result into JSON-ready data; `load` turns that data back, raising on
    anything of the wrong shape. A failure anywhere in reading or writing only means the
    work is done again.
    """
    folder = _usable_folder()
    if folder is None:
        return build()
    key = entry_key(kind, material)
    path = folder / f"{kind}-{key}.json"
    try:
        return load(_read_entry(path, kind, key))
    except Exception:  # missing, unreadable, not JSON, not ours or of the wrong shape: rebuilt
        pass
    result = build()
    try:
        import json  # imported here: a start served from the cache reads entries with `from_json`

        text = json.dumps({"kind": kind, "key": key, "data": dump(result)}, allow_nan=False, separators=(",", ":"))
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)  # readers see the whole entry or none
    except Exception:
        pass
    return result


def entry_key(kind: str, material: bytes) -> str:
    """The hash naming an entry: the environment's stamp, the kind and the material."""
    return _blake2b(b"\0".join((environment_stamp().encode(), kind.encode(), material)), digest_size=20).hexdigest()


def environment_stamp() -> str:
    """What every entry depends on besides its material: interpreter, distributions, our code."""
    global _stamp
    if _stamp is None:
        interpreter = f"{sys.implementation.name}|{sys.implementation.cache_tag}|{sys.version}|{sys.platform}"
        distributions = _distributions if _distributions is not None else distributions_stamp()
        _stamp = "\n".join((interpreter, __version__, _code_hash(), distributions))
    return _stamp


def distributions_stamp() -> str:
    """The installed distributions: the name and time of each metadata folder on `sys.path`.

    Installing, upgrading, reinstalling or removing a distribution changes it. Scanned afresh on
    each call (the entry-point cache must see an install made while the process runs); the
    environment's stamp reuses the latest scan, so a start scans once.
    """
    global _distributions
    _distributions = _scan_distributions()
    return _distributions


def _scan_distributions() -> str:
    stamps = []
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as listing:
                for item in listing:
                    if item.name.endswith((".dist-info", ".egg-info", ".egg-link")):
                        stamps.append(f"{entry}/{item.name}:{item.stat().st_mtime_ns}")
        except OSError:
            continue
    return "\n".join(sorted(stamps))


def _code_hash() -> str:
    """A hash of the bytes of the modules that build entries."""
    digest = _blake2b(digest_size=20)
    for relative in _BUILDERS:
        try:
            digest.update(relative.encode() + b"\0" + (_PACKAGE / relative).read_bytes() + b"\0")
        except OSError:
            digest.update(f"{relative}:missing\0".encode())
    return digest.hexdigest()


def _usable_folder() -> Path | None:
    """The cache folder, made if missing; None when it is off or not the user's own alone."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder if _private(os.lstat(folder)) else None
    except OSError:
        return None


def _private(info: os.stat_result) -> bool:
    """A real folder (not a link), owned by this user, that nobody else may write to."""
    owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return stat.S_ISDIR(info.st_mode) and owner_ok and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read_entry(path: Path, kind: str, key: str) -> Any:
    """The `data` of the entry at `path`, refused unless it is ours, bounded and names this key."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            raise EntryError("not a file of this user")
        raw = handle.read(MAX_ENTRY_BYTES + 1)
    if len(raw) > MAX_ENTRY_BYTES:
        raise EntryError("too large")
    # pydantic-core's reader, loaded already, where `json` would cost the start its import.
    entry = from_json(raw, allow_inf_nan=False)
    if not isinstance(entry, dict) or entry.get("kind") != kind or entry.get("key") != key:
        raise EntryError("an entry of another kind or key")
    return entry["data"]


def json_data(value: Any, depth: int = 0) -> Any:
    """`value` when it is plain JSON data (objects with text keys, arrays, text, finite numbers)."""
    if depth > 200:
        raise EntryError("nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EntryError("a key that is not text")
            json_data(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            json_data(item, depth + 1)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise EntryError("a number JSON cannot hold")
    elif not (value is None or isinstance(value, (str, int, bool))):
        raise EntryError(f"a {type(value).__name__}, which JSON cannot hold")
    return value
