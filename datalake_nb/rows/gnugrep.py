"""GNU grep, found once, and the one case where its answer is the lake's own: counting
the lines that hold a plain, case-sensitive text.

``grep.py`` defines a match as Python's ``re`` on each line (the bytes up to a newline,
without one final CR, decoded as UTF-8 with U+FFFD for a bad byte).  For a pattern that
is only literal characters, none of them a NUL, CR, newline, U+FFFD or lone surrogate, a
line holds the text exactly when its raw bytes hold the text's UTF-8 bytes: a valid UTF-8
sequence never starts inside a bad byte's replacement, and the pattern has no character
that decoding or the CR rule could make or unmake.  So ``grep -c -F -a`` in the C locale
counts exactly the lines Python would, with no line read into Python (and no pandas
imported: a ``datalake grep -c`` answers at grep's pace plus the CLI's start-up).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

try:
    import re._constants as sre_constants
    import re._parser as sre_parse  # Python 3.11+
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]


def _grep_path() -> str | None:
    """A grep that takes -F -n -a (GNU's, or BSD's), or None."""
    path = shutil.which("grep")
    if path is None:
        return None
    try:
        probe = subprocess.run([path, "-F", "-n", "-a", "-e", "x"], input=b"y\nx\n",
                               capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if probe.returncode == 0 and probe.stdout == b"2:x\n" else None


GREP = _grep_path()


def exact_literal(pattern: str, ignore_case: bool = False, fixed: bool = False,
                  invert: bool = False) -> str | None:
    """The text every matching line holds and every line holding it matches, when
    ``grep -c -F`` counts exactly the lines Python's ``re`` would (see the module's
    docstring); None otherwise (a regular expression, -i, -v, a bad pattern)."""
    if ignore_case or invert or not isinstance(pattern, str) or not pattern:
        return None
    if fixed:
        text = pattern
    else:
        try:
            parsed = sre_parse.parse(pattern)
        except re.error:
            return None  # the full path says what is wrong with it
        if parsed.state.flags & (re.IGNORECASE | re.ASCII | re.LOCALE) or not all(
                op is sre_constants.LITERAL for op, _ in parsed):
            return None
        text = "".join(chr(code) for _, code in parsed)
    if any(char in "\0\n\r\ufffd" or 0xD800 <= ord(char) <= 0xDFFF for char in text):
        return None
    return text


def count(path: Path, literal: str) -> int | None:
    """The number of lines of the (uncompressed) file holding ``literal``, by
    ``grep -c -F -a``; None without a grep, or when it fails."""
    if GREP is None:
        return None
    try:
        proc = subprocess.run([GREP, "-c", "-a", "-F", "-e", literal.encode(), "--", str(path)],
                              capture_output=True, env={**os.environ, "LC_ALL": "C"})
    except OSError:
        return None
    if proc.returncode not in (0, 1):
        return None
    return int(proc.stdout)
