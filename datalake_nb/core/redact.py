"""Secrets out of everything shown: a URL's ``user:password@`` and the known secret values.

One place, so settings, error messages and log lines mask alike.  The user goes with
the password: in an S3 URL (``s3://AKIA...:secret@bucket``, MinIO's ``http://key:secret@host``)
it is an access key id, which the lake never shows either.
"""
from __future__ import annotations

import re
import urllib.parse
from typing import Iterable

MASK = "***"

# scheme://user[:password]@ then a host (no '/', '@') up to a path, a quote, a space or the
# end.  The password may hold an unescaped '/' or '@' (user:pa/s@s@host): the first '@'
# that is followed by a host ends it.  A port followed by a path holding '@'
# (http://host:9000/a@b) looks the same, and is masked too: better too much than too little.
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@'\"<>]*(?::[^\s'\"<>]*?)?"
                       r"@(?=[^\s/?#@'\"<>]*(?:[/?#\s'\"<>]|$))")

_KNOWN: set[str] = set()  # secret values this process uses (see remember)


def redact_url(url: str) -> str:
    """``url`` with its ``user:password@`` as ``***@``; scheme, host, port and path stay."""
    return _USERINFO.sub(rf"\g<1>{MASK}@", url)


def password_of(url: str) -> str:
    """The password in ``url`` ('' if none), as written."""
    match = _USERINFO.match(url)
    if not match:
        return ""
    userinfo = match.group(0)[len(match.group(1)):-1]
    return userinfo.partition(":")[2]


def remember(*values: str | None) -> None:
    """Mask these values (a secret key, an endpoint's password) wherever ``scrub`` runs:
    a client library's exception text or log line may quote them in forms no URL rule
    finds (``password: Some("...")``).  A percent-encoded one is masked decoded too."""
    for value in values:
        if value:
            _KNOWN.update({value, urllib.parse.unquote(value)})


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` (an exception's or a log line) with every URL's user:password and every
    remembered or given secret value replaced by ``***``."""
    text = redact_url(text)
    for secret in sorted({*_KNOWN, *(s for s in secrets if s)}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def safe_cause(exc: BaseException) -> BaseException | None:
    """``exc`` to chain as the cause of our error (``raise ... from``), or None when a
    traceback would show a secret in its text or in one of the errors behind it (botocore
    and obstore quote the full request URL, password included)."""
    seen: BaseException | None = exc
    for _ in range(20):  # a chain is short; a cycle must not hang us
        if seen is None:
            return exc
        text = str(seen)
        if scrub(text) != text:
            return None
        seen = seen.__cause__ or seen.__context__
    return None
