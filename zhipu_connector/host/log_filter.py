"""The logging filter that masks registered secrets in every record it lets through.

Kept apart from `secrets` so that a process that never logs never imports `logging`.
"""

from __future__ import annotations

import logging

from zhipu_connector.host.secrets import scrub


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
