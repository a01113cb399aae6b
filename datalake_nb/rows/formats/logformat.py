"""An access log in the server's own format: a ``log_format`` line pasted from nginx's
configuration, or a ``LogFormat`` line from Apache's, becomes one regular expression and
typed columns named after its variables (``Nginx(log_format=...)``).

nginx: ``$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent``
gives columns remote_addr, remote_user, time, request, status, body_bytes_sent.  Apache:
``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`` gives remote_host,
remote_logname, remote_user, time, request, status, bytes, referer, user_agent.  The whole
directive may be pasted (``log_format main '...' '...';``, ``LogFormat "..." combined``).

A variable matches up to the character that follows it in the format (a quoted one up to
its closing quote, ``\\"`` escapes allowed).  The first time variable ($time_local,
$time_iso8601, $msec, %t, %{...}t) is the column ``time`` (UTC); a line parses when it
matches and its time and numbers read.  '-' in a text or number field is null.
"""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from ...core.errors import InvalidInput
from .base import (TIME, _empty, _finish, dash_null, extract, parse_times, to_ints,
                   unescape)
from .base import to_utc

NGINX_TIME = "%d/%b/%Y:%H:%M:%S %z"
QUOTED = r'(?:[^"\\\n]|\\.)*'

# kinds: text, int, float, and the times: local (nginx/Apache [..] form), iso, s, ms, us,
# strftime (the field's own format)
NGINX_KINDS = {
    "time_local": "local", "time_iso8601": "iso", "msec": "s",
    "status": "int", "body_bytes_sent": "int", "bytes_sent": "int", "request_length": "int",
    "connection": "int", "connection_requests": "int", "content_length": "int",
    "remote_port": "int", "server_port": "int", "pid": "int",
    "request_time": "float",
}
APACHE = {  # letter -> (column, kind)
    "h": ("remote_host", "text"), "a": ("remote_addr", "text"), "A": ("local_addr", "text"),
    "l": ("remote_logname", "text"), "u": ("remote_user", "text"), "t": ("time", "local"),
    "r": ("request", "text"), "s": ("status", "int"), "b": ("bytes", "int"),
    "B": ("bytes", "int"), "O": ("bytes_sent", "int"), "I": ("bytes_received", "int"),
    "S": ("bytes_transferred", "int"), "D": ("duration_us", "int"), "T": ("duration_s", "int"),
    "v": ("server_name", "text"), "V": ("server_name", "text"), "p": ("port", "int"),
    "P": ("pid", "int"), "q": ("query_string", "text"), "U": ("url_path", "text"),
    "m": ("method", "text"), "H": ("protocol", "text"), "k": ("keepalive", "int"),
    "L": ("log_id", "text"), "X": ("connection_status", "text"), "f": ("filename", "text"),
    "R": ("handler", "text"),
}
TIMES = ("local", "iso", "s", "ms", "us", "strftime")
_NGINX_VAR = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")
_APACHE_VAR = re.compile(r"%!?[0-9,]*([<>]?)(?:\{([^}]*)\})?([<>]?)([A-Za-z%])")
_SPECIAL = set("\\.^$|?*+()[]{}")


@dataclasses.dataclass(frozen=True)
class Field:
    column: str
    kind: str
    group: str
    quoted: bool = False
    fmt: str | None = None


@dataclasses.dataclass(frozen=True)
class Compiled:
    body: str
    fields: tuple[Field, ...]

    @property
    def columns(self) -> dict[str, str]:
        return {f.column: (TIME if f.kind in TIMES else "Int64" if f.kind == "int" else
                           "float64" if f.kind == "float" else "str") for f in self.fields}


def unwrap(spec: str) -> str:
    """The format itself from a pasted directive: ``log_format name [escape=..] 'a' 'b';``
    (the quoted pieces joined) or ``LogFormat "..." nickname``."""
    text = spec.strip()
    nginx = re.fullmatch(r"log_format\s+\S+\s+(?:escape=\S+\s+)?(.*?);?", text, re.S)
    if nginx:
        text = nginx.group(1).strip()
    pieces = re.findall(r"'([^']*)'", text)
    if pieces and re.fullmatch(r"(?:\s*'[^']*')+\s*", text):
        return "".join(pieces)
    apache = re.fullmatch(r'(?:LogFormat\s+)?"((?:[^"\\]|\\.)*)"(?:\s+\S+)?', text, re.S)
    if apache:
        return apache.group(1).replace('\\"', '"').replace("\\\\", "\\")
    return spec


def tokens(spec: str) -> list[str | tuple[str, str, str | None]]:
    """Literal text and (column, kind, strftime format) variables, in order."""
    nginx = _NGINX_VAR.search(spec) is not None
    found: list[str | tuple[str, str, str | None]] = []
    pos = 0
    for m in (_NGINX_VAR if nginx else _APACHE_VAR).finditer(spec):
        if m.start() > pos:
            found.append(spec[pos:m.start()])
        pos = m.end()
        if nginx:
            name = m.group(1) or m.group(2)
            kind = NGINX_KINDS.get(name, "text")
            found.append(("time" if kind in TIMES else name, kind, None))
            continue
        arg, letter = m.group(2), m.group(4)
        if letter == "%":
            found.append("%")
        elif letter == "t":  # %t is [time], brackets and all; %{...}t a format of its own
            fmt = (arg or "").removeprefix("begin:").removeprefix("end:")
            kind = {"": "local", "sec": "s", "msec": "ms", "usec": "us"}.get(fmt, "strftime")
            found.append(("time", kind, fmt if kind == "strftime" else "[]" if not fmt else None))
        elif arg is not None and letter in "ioeCnc":
            found.append((re.sub(r"[^0-9a-z]+", "_", arg.lower()).strip("_") or letter,
                          "text", None))
        elif letter in APACHE:
            column, kind = APACHE[letter]
            found.append((column, kind, None))
        else:
            raise InvalidInput("log_format", f"unknown Apache directive %{letter} in {spec!r}")
    if pos < len(spec):
        found.append(spec[pos:])
    if not any(isinstance(t, tuple) for t in found):
        raise InvalidInput("log_format", f"{spec!r} has no variable ($name for nginx, %x for "
                                         "Apache)")
    return found


def compile_format(spec: str) -> Compiled:
    """The regular expression (in the syntax RE2 and Python's re share) and the fields of
    a pasted format."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInput("log_format", f"expected a format line, got {spec!r}")
    parts = tokens(unwrap(spec))
    body, fields, seen, timed = "", [], {}, False
    for i, part in enumerate(parts):
        if isinstance(part, str):
            body += "".join("\\" + c if c in _SPECIAL else c for c in part)
            continue
        column, kind, fmt = part
        if kind in TIMES:
            if timed:
                column = {"local": "time_local", "iso": "time_iso8601"}.get(kind, "time_" + kind)
            timed = True
        seen[column] = seen.get(column, 0) + 1
        if seen[column] > 1:
            column = f"{column}_{seen[column]}"
        before = parts[i - 1] if i and isinstance(parts[i - 1], str) else ""
        after = parts[i + 1] if i + 1 < len(parts) and isinstance(parts[i + 1], str) else None
        group = f"f{len(fields)}"
        quoted = before.endswith('"') and after is not None and after.startswith('"')
        if fmt == "[]":
            body += rf"\[(?P<{group}>[^\]\n]*)\]"  # Apache's %t brings its brackets
        elif quoted:
            body += f"(?P<{group}>{QUOTED})"
        elif after:
            stop = after[0]
            stop = "\\" + stop if stop in "\\]^-[" else stop
            body += f"(?P<{group}>[^{stop}\\n]*)"
        elif i + 1 < len(parts):
            body += f"(?P<{group}>[^\\n]*?)"
        else:
            body += f"(?P<{group}>[^\\n]*)"
        fields.append(Field(column, kind, group, quoted, fmt))
    return Compiled(body + " *", tuple(fields))


def parse_with(compiled: Compiled, data: bytes, engine: str) -> pd.DataFrame:
    """The rows of ``data`` in a compiled format."""
    if not data:
        return _empty(compiled.columns)
    groups = [f.group for f in compiled.fields]
    cols, ok, lines = extract(data, compiled.body, groups, engine)
    out: dict[str, pd.Series] = {}
    primary = True
    for field in compiled.fields:
        text = cols[field.group]
        present = (text != "") & (text != "-")
        if field.kind in TIMES:
            value = _times(text.where(present), field)
            if primary:
                ok &= value.notna().to_numpy()
                primary = False
        elif field.kind == "int":
            digits = text.str.fullmatch("-?[0-9]{1,18}").fillna(False).astype(bool)
            ok &= (digits | ~present).to_numpy(dtype=bool)
            value = to_ints(text.where(digits, ""))
        elif field.kind == "float":
            value = pd.to_numeric(text.where(present), errors="coerce")
            ok &= (value.notna() | ~present).to_numpy(dtype=bool)
        else:
            value = dash_null(unescape(text) if field.quoted else text)
        out[field.column] = value
    frame = pd.DataFrame({"line_number": np.arange(1, len(ok) + 1, dtype="int64"), **out})
    return _finish(frame, ok, lambda numbers: lines.iloc[numbers - 1].tolist(),
                   compiled.columns)


def _times(text: pd.Series, field: Field) -> pd.Series:
    if field.kind == "local":
        return parse_times(text.fillna(""), NGINX_TIME)
    if field.kind == "strftime":
        return parse_times(text.fillna(""), field.fmt or "")
    if field.kind == "iso":
        return to_utc(text)
    seconds = pd.to_numeric(text, errors="coerce")
    scale = {"s": 1, "ms": 1e-3, "us": 1e-6}[field.kind]
    return to_utc(seconds * scale).where(seconds.notna())
