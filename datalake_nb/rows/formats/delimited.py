"""CSV (and other delimited) logs with a header line: the stdlib C reader, given one
physical line at a time (so a quote left open never joins two lines).  (Not called csv.py: that would shadow the standard library's module.)"""
from __future__ import annotations

import csv as _csv

import numpy as np
import pandas as pd

from ...core.errors import InvalidInput
from .base import _finish, _time_first, split_lines

class Csv:
    """Comma-separated values with a header line: the header names the columns; numbers
    become Int64 or float, a time column (given, or named like time/timestamp) UTC.  A row
    with another number of fields than the header does not parse.  A ``#TYPE ...`` line
    before the header (Windows PowerShell's Export-Csv writes one) is not a row."""

    __name__ = "csv"
    header_lines = 1  # time_range gives every chunk the header

    def __init__(self, sep: str = ",", time: str | None = None, time_format: str | None = None):
        self.sep, self.time, self.time_format = sep, time, time_format

    @property
    def params(self) -> dict[str, str]:
        """What makes this parser differ from the default one (stored with the format)."""
        return {k: v for k, v in (("sep", self.sep), ("time", self.time),
                                  ("time_format", self.time_format))
                if v != {"sep": ",", "time": None, "time_format": None}[k]}

    def __call__(self, data: bytes, start: pd.Timestamp | None = None,
                 end: pd.Timestamp | None = None) -> pd.DataFrame:
        lines = split_lines(data)
        if not lines:
            return pd.DataFrame({"line_number": pd.Series(dtype="int64"),
                                 "unparsed": pd.Series(dtype="str")})
        skip = _preamble(lines)
        if skip == len(lines):
            return pd.DataFrame({"line_number": pd.Series(dtype="int64"),
                                 "unparsed": pd.Series(dtype="str")})
        header = self._fields(lines[skip])
        if header is None:
            raise InvalidInput("format", "csv: the header line is not CSV (a quote is left "
                                         "open)")
        width, values, good = len(header), [], []
        for line in lines[skip + 1:]:
            row = self._fields(line)
            ok = row is not None and len(row) == width
            good.append(ok)
            values.append(row if ok else [None] * width)
        numbers = range(skip + 2, len(lines) + 1)
        frame = pd.DataFrame(values, columns=header, dtype=object)
        for name in header:
            converted = pd.to_numeric(frame[name], errors="coerce")
            present = frame[name].notna() & (frame[name] != "")
            if present.any() and converted[present].notna().all():
                whole = (converted[present] % 1 == 0).all() and not frame[name][present].str.contains(
                    r"[.eE]", regex=True).any()
                frame[name] = converted.where(present).astype("Int64" if whole else "float64")
            else:
                frame[name] = frame[name].astype("str")
        frame = _time_first(frame, self.time, "csv", self.time_format, start, end)
        frame.insert(0, "line_number", np.array(numbers, dtype="int64"))
        columns = {name: str(dtype) for name, dtype in frame.dtypes.items()
                   if name != "line_number"}
        return _finish(frame, np.array(good, dtype=bool), lambda n: [lines[i - 1] for i in n],
                       columns)

    def header(self, data: bytes) -> bytes:
        """The bytes up to the end of the header line (a ``#TYPE`` line before it too):
        what ``time_range`` puts in front of every chunk."""
        end = 0
        for _ in range(1 + data.startswith(b"#TYPE ")):
            end = data.find(b"\n", end) + 1 or len(data)
        return data[:end]

    def _fields(self, line: str) -> list[str] | None:
        """One physical line's fields (never more than the line: a quoted field cannot run
        on into the next one); None when a quote is left open at the line's end, or the
        reader refuses the line (a CR inside it)."""
        try:
            return next(_csv.reader((line,), delimiter=self.sep, strict=True), [])
        except _csv.Error as exc:
            if "unexpected end of data" in str(exc):
                return None
        try:
            return next(_csv.reader((line,), delimiter=self.sep), [])
        except _csv.Error:
            return None


def _preamble(lines: list[str]) -> int:
    """How many lines come before the header: 1 for PowerShell's ``#TYPE`` line."""
    return 1 if lines and lines[0].startswith("#TYPE ") else 0
