"""One secret mark, honoured everywhere.

A connection property declared `secret: true` in a definition reaches handlers as a `Secret`:
printing, logging or repr-ing it shows a mask, and only `reveal()` gives the value, at the one
place that puts it on the wire. Every `Secret` also registers its value with the process-wide
`scrub()` so that text from elsewhere — an error body that echoes the key back, a derived JWT
registered by the client — is masked before it reaches a user. Log records are masked by
`zhipu_connector.host.log_filter.ScrubbingFilter`.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "********"
_MIN_SCRUB_LENGTH = 6  # shorter values would mask ordinary words

_MAX_TRANSIENT = 64  # short-lived derived credentials (JWTs) kept for masking, newest last

_lock = threading.Lock()
_known: set[str] = set()
_transient: dict[str, None] = {}  # insertion-ordered: the oldest is dropped first
_pattern: re.Pattern[str] | None = None


def register_secret(value: str, *, transient: bool = False) -> None:
    """Mask `value`, and the forms a server may echo it in, in everything `scrub()` sees from now on.

    Besides the value itself, its URL-encoded and JSON-escaped spellings are masked: a server
    that quotes a rejected key back inside a URL or a JSON string must not reveal it either.
    `transient` marks a short-lived derived credential (a JWT renewed every few minutes): only
    the newest few are kept, so a long-running process does not mask an ever-growing list.
    From the first secret on, every log record the process makes is masked too (`log_filter`).
    """
    global _pattern
    if len(value) < _MIN_SCRUB_LENGTH or value in _known or value in _transient:
        return
    spellings = _spellings(value)
    with _lock:
        first = _pattern is None
        for spelling in spellings:
            if transient:
                _transient[spelling] = None
            else:
                _known.add(spelling)
        while len(_transient) > _MAX_TRANSIENT * 3:
            del _transient[next(iter(_transient))]
        ordered = sorted((*_known, *_transient), key=len, reverse=True)  # a key before its halves
        _pattern = re.compile("|".join(map(re.escape, ordered)))
    if first:
        from zhipu_connector.host.log_filter import scrub_every_log_record

        scrub_every_log_record()


def _spellings(value: str) -> list[str]:
    """`value` as written, URL-encoded (both ways) and JSON-escaped, without repeats."""
    from json import dumps  # imported here: `json` is not imported at start, and secrets come later

    forms = [
        value,
        quote(value, safe=""),
        quote_plus(value),
        dumps(value)[1:-1],
        dumps(value, ensure_ascii=False)[1:-1],
    ]
    return list(dict.fromkeys(forms))


class StreamScrubber:
    """Masks secrets in text that arrives in pieces, such as a streamed answer.

    A secret split across two pieces would pass a piece-by-piece `scrub()`, so a tail that is
    the start of a secret is held back until the next piece shows whether it is one, or until
    `flush()`. Any other text is passed on at once: a stream stays a stream.
    """

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, piece: str) -> str:
        """The part of the text so far that is safe to show now, masked."""
        cleaned = scrub(self._pending + piece)
        held = _secret_prefix_length(cleaned)
        self._pending = cleaned[len(cleaned) - held :] if held else ""
        return cleaned[: len(cleaned) - held]

    def flush(self) -> str:
        """What was held back, masked: call it once the last piece has been fed."""
        rest, self._pending = scrub(self._pending), ""
        return rest


_prefixes: tuple[re.Pattern[str] | None, frozenset[str], int] = (None, frozenset(), 0)


def _secret_prefix_length(text: str) -> int:
    """The length of the longest end of `text` that is the start (not the whole) of a secret."""
    global _prefixes
    pattern, prefixes, longest = _prefixes
    if pattern is not _pattern:  # the secrets changed: their proper prefixes, made once
        secrets = (*_known, *_transient)
        prefixes = frozenset(secret[:length] for secret in secrets for length in range(1, len(secret)))
        longest = max((len(secret) for secret in secrets), default=1) - 1
        _prefixes = (_pattern, prefixes, longest)
    for length in range(min(longest, len(text)), 0, -1):
        if text[-length:] in prefixes:
            return length
    return 0


def scrub(text: str) -> str:
    """`text` with every registered secret replaced by the mask."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


# Patterns are kept as text and compiled by `re` on first use (it caches them): compiled
# at import, each would cost every start a fraction of a millisecond.
_USERINFO = r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]*@"


def without_userinfo(text: str) -> str:
    """`text` with the `user:password@` part of every URL in it removed.

    A base URL or download link may carry credentials; a message quotes the URL without them.
    """
    return re.sub(_USERINFO, r"\1", text) if "@" in text else text


def scrub_value(value: Any) -> Any:
    """`scrub()` applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: scrub_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_value(item) for item in value]
    return value


class Secret:
    """A value that shows itself only when asked by name."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        """The real value; call it only where the value goes on the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:  # never let pickling carry the value somewhere unexpected
        raise TypeError("a Secret cannot be pickled")
