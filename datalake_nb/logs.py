"""``--log-level`` (DATALAKE_LOG_LEVEL): log to stderr, with every secret masked.

botocore's DEBUG log shows each request's headers, and the Authorization header
carries the access key id; the formatter replaces the configured key id, secret
key and session token with ``***`` wherever they would appear, and so the password
of every URL (botocore logs each request's full URL, the endpoint's password with it).
"""
from __future__ import annotations

import logging
import sys
from typing import Iterable

from .core.redact import scrub

LEVELS = {"warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
HANDLER_NAME = "datalake_nb-stderr"


class MaskingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str]):
        super().__init__("%(asctime)s %(name)s %(levelname)s %(message)s")
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record), self.secrets)


def configure(level: str, secrets: Iterable[str]) -> None:
    """Send log records of ``level`` and above to stderr (once, however often called)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == HANDLER_NAME), None)
    if handler is None:
        if level == "warning":
            return  # Python's own last-resort handler already prints warnings
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(HANDLER_NAME)
        root.addHandler(handler)
    handler.setFormatter(MaskingFormatter(secrets))
    root.setLevel(LEVELS[level])
