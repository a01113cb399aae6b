"""nginx's (and Apache's) access logs: the combined log format, the variants real servers
write, and a format line pasted from the server's configuration (``logformat``).

The engine, and why: the time goes into parsing text, not into reading it.  Each physical
line is matched in full against one regular expression (``base.extract``): with pyarrow
(the ``[dask]`` extra; pandas 3 uses it for strings) RE2 runs over an Arrow array of the
lines, cut from the file's buffer with NumPy, so no Python object is made per line or
field and Arrow releases the GIL (``Lake.read`` parses one file per core in threads);
without it, Python's ``re`` matches line by line.  The expression is written so both read
it alike, and everything after the match (each distinct time string parsed once, numbers
cast, escapes undone) is shared, so the engines give the same rows.  A line is never
split by a quote: a quote left open (a truncated write) makes that line unparsed, not the
next one part of it.  The measured gain over per-line ``re`` + ``Series.str.extract`` +
``to_datetime`` is in bench/RESULTS-reading.md.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...core.errors import InvalidInput
from . import logformat
from .base import (TIME, _empty, _finish, dash_null, extract, has_pyarrow, line_array,
                   parse_times, text_series, to_ints, unescape)

NGINX_COLUMNS = {"remote_addr": "str", "remote_user": "str", "time": TIME, "method": "str",
                 "path": "str", "protocol": "str", "status": "Int64", "bytes": "Int64",
                 "referrer": "str", "user_agent": "str", "extra": "str"}
NGINX_TIME = "%d/%b/%Y:%H:%M:%S %z"
CLF = '%h %l %u %t "%r" %>s %b'  # the NCSA common log format, registered as "clf"

# Pieces in the regular-expression syntax RE2 and Python's re read alike.
QUOTED = r'(?:[^"\\\n]|\\.)*'  # inside "...": anything but a quote or a line end; \" escapes
_DEFAULT = (
    r'(?P<remote_addr>[^ \n]+) [^ \n]+ (?P<remote_user>[^ \n]+) \[(?P<time>[^\]\n]*)\] '
    r'"(?P<method>[^ "\\\n]+) (?P<path>(?:[^ "\\\n]|\\.)+) (?P<protocol>[^ "\\\n]+)" '
    r'(?P<status>[0-9]{3}) (?P<bytes>[0-9]{1,18}|-)'
    r'(?: (?P<q>")(?P<referrer>' + QUOTED + r')" "(?P<user_agent>' + QUOTED + r')")?'
    r'(?P<extra>(?: +(?:"' + QUOTED + r'"|[^ "\n]+))*) *')
_TIME_ONLY = r'^[^ \n]+ [^ \n]+ [^ \n]+ \[(?P<time>[^\]\n]*)\]'  # _DEFAULT's start
_GROUPS = ["remote_addr", "remote_user", "time", "method", "path", "protocol", "status",
           "bytes", "q", "referrer", "user_agent", "extra"]


class Nginx:
    """nginx's (and Apache's) access log lines, by default the combined log format and the
    variants real servers write:

        $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
        "$http_referer" "$http_user_agent" [more fields]

    The common log format (no referrer and user agent) parses too; fields after the
    combined ones (``"$http_x_forwarded_for" $request_time ...``) are kept, as written, in
    ``extra``; trailing spaces are ignored; Apache's ``\"`` and ``\\`` escapes in the
    quoted fields are undone.  A line parses when every field has its form (the request
    is METHOD PATH PROTOCOL, status three digits, bytes digits or '-').  '-' in
    remote_user, bytes and referrer is null.

    ``log_format``: your server's own format line instead, in nginx's ``log_format``
    syntax (``$remote_addr - $remote_user [$time_local] "$request" ...``) or Apache's
    ``LogFormat`` (``%h %l %u %t "%r" %>s %b "%{Referer}i" ...``); the columns are named
    after the variables (see ``logformat``), the time in ``time``.
    ``engine``: "auto" (pyarrow when installed), "pyarrow" or "python".
    """

    __name__ = "nginx"

    def __init__(self, engine: str = "auto", log_format: str | None = None):
        if engine not in ("auto", "pyarrow", "python"):
            raise InvalidInput("engine", f"{engine!r}; allowed: auto, pyarrow, python")
        self.engine = engine
        self.log_format = log_format
        self._compiled = None if log_format is None else logformat.compile_format(log_format)

    @property
    def params(self) -> dict[str, str]:
        """What makes this parser differ from the default one (stored with the format)."""
        return {} if self.log_format is None else {"log_format": self.log_format}

    def times(self, data: bytes, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> pd.Series:
        """The ``time`` column alone (NaT for a line that does not parse), as ``__call__``
        gives it: for the default format with pyarrow, the full expression only tests each
        line (RE2's DFA, no captures) and a short one takes the time, which in a line that
        matches in full is the same field."""
        arrow = self.engine == "pyarrow" or (self.engine == "auto" and has_pyarrow())
        if self._compiled is not None or not arrow or not data:
            return self(data)["time"]
        import pyarrow.compute as pc
        lines = line_array(data)
        whole = pc.match_substring_regex(lines, "^(?:" + _DEFAULT + ")$")
        stamp = pc.extract_regex(lines, _TIME_ONLY).field("time")
        text = text_series(pc.if_else(whole, stamp, ""))
        return parse_times(text, NGINX_TIME)

    def __call__(self, data: bytes) -> pd.DataFrame:
        arrow = self.engine == "pyarrow" or (self.engine == "auto" and has_pyarrow())
        engine = "pyarrow" if arrow else "python"
        if self._compiled is not None:
            return logformat.parse_with(self._compiled, data, engine)
        if not data:
            return _empty(NGINX_COLUMNS)
        cols, ok, lines = extract(data, _DEFAULT, _GROUPS, engine)
        time = parse_times(cols["time"], NGINX_TIME)
        ok &= time.notna().to_numpy()
        quoted = cols["q"] != ""
        frame = pd.DataFrame({
            "line_number": np.arange(1, len(ok) + 1, dtype="int64"),
            "remote_addr": cols["remote_addr"], "remote_user": dash_null(cols["remote_user"]),
            "time": time, "method": cols["method"], "path": unescape(cols["path"]),
            "protocol": cols["protocol"], "status": to_ints(cols["status"]),
            "bytes": to_ints(cols["bytes"]),
            "referrer": dash_null(unescape(cols["referrer"].where(quoted))),
            "user_agent": unescape(cols["user_agent"].where(quoted)),
            "extra": cols["extra"].str.lstrip(" ").replace("", None)})
        return _finish(frame, ok, lambda numbers: lines.iloc[numbers - 1].tolist(),
                       NGINX_COLUMNS)
