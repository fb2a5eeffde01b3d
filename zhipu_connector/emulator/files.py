"""`/files`: multipart upload, list, content, delete — and the checks a batch file gets at upload.

The mainland platform validates a `purpose=batch` JSONL file when it is uploaded: every line
`{"custom_id", "method": "POST", "url", "body"}`, `custom_id` unique and at least 6
characters, one model per file and only models on the batch allow-list, at most 50,000 lines
(10,000 for embedding models) and 100 MB. A broken rule is one 400 / 1210 naming the line and
the rule (a file over 100 MB is HTTP 435). Files are kept per account (the key's id), newest
first in listings, and paged with `after=<id>` until `data` is empty.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_field

MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_BATCH_FILES = 1000
MAX_BATCH_LINES = 50_000
MAX_EMBEDDING_LINES = 10_000
MIN_CUSTOM_ID = 6
PURPOSES = {
    "mainland": ("batch", "code-interpreter", "agent", "voice-clone-input"),
    "international": ("agent", "user_data"),
}
BATCH_URLS = ("/v4/chat/completions", "/v4/embeddings", "/v4/images/generations")
# The allow-list the live platform names when it refuses a batch file (2026-10).
BATCHABLE_MODELS = (
    "glm-5.1", "glm-5-turbo", "glm-4", "glm-4-0520", "glm-4-plus", "glm-4-long", "glm-4-plus-0111", "glm-4-air",
    "glm-4-air-0111", "glm-4-air-250414", "glm-4-flash", "glm-4-flashx-250414", "glm-3-turbo", "glm-4v",
    "glm-4v-plus", "glm-5v-turbo", "glm-4v-plus-0111", "cogview-3", "cogview-3-plus", "cogview-4-250304",
    "embedding-2", "embedding-3", "cogvideox", "cogvideox-2",
)  # fmt: skip
EMBEDDING_MODELS = ("embedding-2", "embedding-3")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


@dataclass(slots=True)
class StoredFile:
    """One file: its metadata and its bytes (a batch file's lines are parsed again when a batch
    runs it, so an idle file costs its bytes only)."""

    id: str
    owner: str
    filename: str
    purpose: str
    created_at: int
    content: bytes

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "filename": self.filename,
            "purpose": self.purpose,
            "created_at": self.created_at,
        }


def file_id(now: float, seed: str) -> str:
    """`<unix seconds>_<32 hex>`, the platform's file id format."""
    return f"{int(now)}_{hashlib.sha256(seed.encode()).hexdigest()[:32]}"


class FileStore:
    """Every account's files, in upload order."""

    def __init__(self, clock: Callable[[], float], platform: str) -> None:
        self._clock = clock
        self._platform = platform
        self._files: dict[str, StoredFile] = {}
        self._count = 0

    def upload(self, owner: str, content_type: str, raw: bytes) -> dict[str, Any]:
        """`POST /files`: store one multipart upload; a batch file is checked first."""
        fields = parse_multipart(content_type, raw)
        purpose = fields.get("purpose", (None, b""))[1].decode("utf-8", "replace")
        if "file" not in fields:
            raise bad_field("file: required, the file's bytes as a multipart part")
        allowed = PURPOSES[self._platform]
        if purpose not in allowed:
            raise bad_field(f"purpose: must be one of {', '.join(allowed)}, got {purpose!r}")
        filename, content = fields["file"]
        if len(content) > MAX_FILE_BYTES:
            raise ApiError(435, "435", f"file: {len(content)} bytes, more than 100 MB")
        if purpose == "batch":
            if not (filename or "").endswith(".jsonl"):
                raise ApiError(400, "1210", f"file: a batch file must be a .jsonl file, got {filename!r}")
            if sum(1 for stored in self._files.values() if stored.owner == owner and stored.purpose == "batch") >= (
                MAX_BATCH_FILES
            ):
                raise ApiError(400, "1210", f"file: at most {MAX_BATCH_FILES} batch files per account; delete some")
            check_batch_file(content)
        return self.add(owner, filename or "file", purpose, content).describe()

    def add(self, owner: str, filename: str, purpose: str, content: bytes) -> StoredFile:
        """Keep a file (an upload, or a batch's output or error file)."""
        now = self._clock()
        self._count += 1
        stored = StoredFile(
            file_id(now, f"{owner}\0{filename}\0{self._count}"), owner, filename, purpose, int(now), content
        )
        self._files[stored.id] = stored
        return stored

    def get(self, owner: str, file: str) -> StoredFile:
        stored = self._files.get(file)
        if stored is None or stored.owner != owner:
            raise ApiError(404, "1214", f"file_id: no file {file!r}")
        return stored

    def listing(self, owner: str, query: dict[str, str]) -> dict[str, Any]:
        """`GET /files`: newest first, `purpose` optional (the SDKs send none), paged by `after`."""
        purpose = query.get("purpose")
        if purpose is not None and purpose not in PURPOSES[self._platform]:
            raise bad_field(f"purpose: must be one of {', '.join(PURPOSES[self._platform])}, got {purpose!r}")
        if query.get("order", "created_at") != "created_at":
            raise bad_field(f"order: must be created_at, got {query['order']!r}")
        mine = [f for f in reversed(self._files.values()) if f.owner == owner and purpose in (None, f.purpose)]
        return page([f.describe() for f in mine], query)

    def content(self, owner: str, file: str) -> bytes:
        stored = self.get(owner, file)
        if stored.purpose != "batch":
            raise bad_field(f"file_id: only batch files can be downloaded, {file} is a {stored.purpose} file")
        return stored.content

    def delete(self, owner: str, file: str) -> dict[str, Any]:
        stored = self.get(owner, file)
        del self._files[stored.id]
        return {"id": stored.id, "object": "file", "deleted": True}

    def discard(self, file: str) -> None:
        """Drop a file if it is still there (a batch's `auto_delete_input_file`)."""
        self._files.pop(file, None)


def page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """One page of a list: `limit` (1-100, default 20) items after the id `after`."""
    raw_limit = query.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise bad_field(f"limit: must be an integer from 1 to 100, got {raw_limit!r}")
    limit = int(raw_limit)
    start = 0
    after = query.get("after")
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise bad_field(f"after: no item with id {after!r} in this list")
        start = ids.index(after) + 1
    chunk = items[start : start + limit]
    return {"object": "list", "data": chunk, "has_more": start + limit < len(items)}


def parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a `multipart/form-data` body: name -> (filename, bytes)."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise bad_field("body: must be multipart/form-data with a boundary (fields file and purpose)")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    )
    if not message.is_multipart():
        raise bad_field("body: not a readable multipart/form-data body")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def check_batch_file(content: bytes) -> list[dict[str, Any]]:
    """The lines of a batch JSONL file, or 400 / 1210 naming the first line that breaks a rule."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "1210", "file: a batch file must be UTF-8 JSONL") from None
    lines: list[dict[str, Any]] = []
    seen: set[str] = set()
    model: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):  # JSONL: only "\n" ends a line
        if not line.strip():
            continue
        where = f"file line {number}"
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):
            raise ApiError(400, "1210", f"{where}: not valid JSON") from None
        if _SURROGATE_ESCAPE.search(line):
            try:  # "\ud800" alone is valid JSON but no text: it could never be written back out
                json.dumps(item, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise ApiError(
                    400, "1210", f"{where}: holds a lone UTF-16 surrogate, which is not valid text"
                ) from None
        if not isinstance(item, dict) or not isinstance(item.get("body"), dict):
            raise ApiError(400, "1210", f'{where}: must be {{"custom_id", "method": "POST", "url", "body": {{...}}}}')
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or len(custom_id) < MIN_CUSTOM_ID:
            raise ApiError(400, "1210", f"{where}: custom_id must be a string of at least {MIN_CUSTOM_ID} characters")
        if custom_id in seen:
            raise ApiError(400, "1210", f"{where}: custom_id {custom_id!r} is used twice; each must be unique")
        seen.add(custom_id)
        if item.get("method") != "POST":
            raise ApiError(400, "1210", f"{where}: method must be POST")
        if item.get("url") not in BATCH_URLS:
            raise ApiError(400, "1210", f"{where}: url must be one of {', '.join(BATCH_URLS)}")
        line_model = item["body"].get("model")
        if not isinstance(line_model, str) or line_model.lower() not in BATCHABLE_MODELS:
            raise ApiError(
                400,
                "1210",
                f"{where}: model name error: {line_model}; supported models: {', '.join(BATCHABLE_MODELS)}",
            )
        if model is None:
            model = line_model.lower()
        elif line_model.lower() != model:
            raise ApiError(400, "1210", f"{where}: a batch file holds one model only; {line_model} after {model}")
        lines.append(item)
    if not lines:
        raise ApiError(400, "1210", "file: a batch file needs at least one request line")
    limit = MAX_EMBEDDING_LINES if model in EMBEDDING_MODELS else MAX_BATCH_LINES
    if len(lines) > limit:
        raise ApiError(400, "1210", f"file: {len(lines)} requests, more than {limit} for {model}")
    return lines
