"""Exceptions: user mistakes (exit 2) are told apart from failures (exit 1)."""
from __future__ import annotations


class DatalakeError(Exception):
    """Something went wrong that is not the user's input (exit status 1)."""


class InvalidInput(DatalakeError, ValueError):
    """A user mistake: a bad field, time, URL or option (exit status 2).

    The message is one line that names the field and says what is allowed.
    """

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class Refused(DatalakeError):
    """The store refused a request (no such bucket, access denied, another 4xx answer) or
    it was never sent (no credentials, nothing listening): it changed nothing."""


class NotFound(DatalakeError, LookupError):
    """A record or object that was asked for does not exist."""


class IntegrityError(DatalakeError):
    """Stored bytes do not match the hash in their record."""


class DamagedFile(DatalakeError):
    """A compressed file whose stored bytes match their record but do not decompress: it
    was damaged (truncated, altered) before it was pushed."""
