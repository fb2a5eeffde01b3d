"""Masking registered secrets in log records: every record of the process, and a filter for handlers.

A filter on one handler sees only what reaches that handler, and a filter on a logger does not
see its children's records (`httpcore.http11` under `httpcore`). So from the first registered
secret on, the record factory itself masks each record as it is made: a DEBUG line of httpx or
httpcore quoting an echoed header is masked before any handler, ours or an engine's, sees it.
Kept apart from `secrets` so that a process that never has a secret never imports `logging`.
"""

from __future__ import annotations

import logging

from zhipu_connector.host.secrets import scrub

_installed = False


def scrub_every_log_record() -> None:
    """Wrap the process's log record factory so that every new record is masked (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _mask(record)
        return record

    logging.setLogRecordFactory(masked_record)


def _mask(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a record whose arguments do not fit its format: logging reports it later
        return
    cleaned = scrub(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:  # formatted now, masked, and reused by every formatter
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))


class ScrubbingFilter(logging.Filter):
    """A logging filter that masks registered secrets in every record it lets through."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True
