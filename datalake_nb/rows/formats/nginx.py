"""nginx's (and Apache's) access logs: the combined log format.

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
from .base import TIME, _empty, _finish, extract, has_pyarrow

NGINX_COLUMNS = {"remote_addr": "str", "remote_user": "str", "time": TIME, "method": "str",
                 "path": "str", "protocol": "str", "status": "Int64", "bytes": "Int64",
                 "referrer": "str", "user_agent": "str"}
NGINX_TIME = "%d/%b/%Y:%H:%M:%S %z"

_DEFAULT = (
    r'(?P<remote_addr>[^ \n]+) [^ \n]+ (?P<remote_user>[^ \n]+) \[(?P<time>[^\]\n]*)\] '
    r'"(?P<method>[^ "\n]+) (?P<path>[^ "\n]+) (?P<protocol>[^ "\n]+)" '
    r'(?P<status>[0-9]{3}) (?P<bytes>[0-9]{1,18}|-) "(?P<referrer>[^"\n]*)" "(?P<user_agent>[^"\n]*)"')
_GROUPS = ["remote_addr", "remote_user", "time", "method", "path", "protocol", "status",
           "bytes", "referrer", "user_agent"]


class Nginx:
    """nginx's (and Apache's) combined log format:

        $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
        "$http_referer" "$http_user_agent"

    A line parses when every field has its form (the request is METHOD PATH PROTOCOL,
    status three digits, bytes digits or '-').  '-' in remote_user, bytes and referrer is null.
    ``engine``: "auto" (pyarrow when installed), "pyarrow" or "python".
    """

    __name__ = "nginx"

    def __init__(self, engine: str = "auto"):
        if engine not in ("auto", "pyarrow", "python"):
            raise InvalidInput("engine", f"{engine!r}; allowed: auto, pyarrow, python")
        self.engine = engine

    def __call__(self, data: bytes) -> pd.DataFrame:
        if not data:
            return _empty(NGINX_COLUMNS)
        arrow = self.engine == "pyarrow" or (self.engine == "auto" and has_pyarrow())
        cols, ok, lines = extract(data, _DEFAULT, _GROUPS, "pyarrow" if arrow else "python")
        time = parse_times(cols["time"], NGINX_TIME)
        ok &= time.notna().to_numpy()
        frame = pd.DataFrame({
            "line_number": np.arange(1, len(ok) + 1, dtype="int64"),
            "remote_addr": cols["remote_addr"], "remote_user": dash_null(cols["remote_user"]),
            "time": time, "method": cols["method"], "path": cols["path"],
            "protocol": cols["protocol"], "status": to_ints(cols["status"]),
            "bytes": to_ints(cols["bytes"]), "referrer": dash_null(cols["referrer"]),
            "user_agent": cols["user_agent"]})
        return _finish(frame, ok, lambda numbers: lines.iloc[numbers - 1].tolist(),
                       NGINX_COLUMNS)


def parse_times(text: pd.Series, fmt: str) -> pd.Series:
    """Times in ``fmt`` (with its %z offset) as UTC; NaT where one does not parse.  Each
    distinct string is parsed once: a busy log repeats every second many times."""
    codes, distinct = pd.factorize(text.where(text != ""))
    parsed = pd.to_datetime(pd.Index(distinct, dtype=object), format=fmt, utc=True,
                            errors="coerce").astype(TIME)
    values = np.full(len(codes), np.datetime64("NaT", "ns"))
    hit = codes >= 0
    values[hit] = parsed.tz_localize(None).to_numpy()[codes[hit]]
    return pd.Series(values, index=text.index).dt.tz_localize("UTC")


def to_ints(text: pd.Series) -> pd.Series:
    """Digit strings (the expression checked them) as Int64, '' and '-' null."""
    digits = text.where((text != "") & (text != "-"))
    if has_pyarrow():  # Arrow's cast, not a Python int per value
        return digits.astype("int64[pyarrow]").astype("Int64")
    return pd.to_numeric(digits).astype("Int64")


def dash_null(text: pd.Series) -> pd.Series:
    return text.where(text != "-")
