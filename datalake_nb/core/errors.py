"""Exceptions: user mistakes (exit 2) are told apart from failures (exit 1)."""
from __future__ import annotations


class DatalakeError(Exception):
    """Something went wrong that is not the user's input (exit status 1)."""


class InvalidInput(DatalakeError, ValueError):
    """A user mistake: a bad field, time, URL or option (exit status 2).

    The message is one line that names the field and says what is allowed.  ``api_hint``
    is said only to Python callers (``str(exc)``: "datalake_nb.rows.formats.register adds
    one"); the CLI and ``%lake`` show ``field: problem``, words a shell user can act on.
    """

    def __init__(self, field: str, problem: str, api_hint: str = ""):
        self.field = field
        self.problem = problem
        self.api_hint = api_hint
        super().__init__(f"{field}: {problem}" + (f" ({api_hint})" if api_hint else ""))

    def _render_traceback_(self) -> list[str]:
        """IPython and Jupyter show a mistake as its one line, not a long traceback."""
        return [f"{type(self).__name__}: {self}"]


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
