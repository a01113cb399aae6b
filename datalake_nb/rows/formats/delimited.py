"""CSV (and other delimited) logs with a header line: the stdlib C reader, which knows
each row's line.  (Not called csv.py: that would shadow the standard library's module.)"""
from __future__ import annotations

import csv as _csv
import io

import numpy as np
import pandas as pd

from ...core.errors import InvalidInput
from .base import _finish, _time_first, decode

class Csv:
    """Comma-separated values with a header line: the header names the columns; numbers
    become Int64 or float, a time column (given, or named like time/timestamp) UTC.  A row
    with another number of fields than the header does not parse."""

    __name__ = "csv"

    def __init__(self, sep: str = ",", time: str | None = None):
        self.sep, self.time = sep, time

    def __call__(self, data: bytes) -> pd.DataFrame:
        text = decode(data)
        reader = _csv.reader(io.StringIO(text, newline=""), delimiter=self.sep)
        try:
            header = next(reader)
        except StopIteration:
            return pd.DataFrame({"line_number": pd.Series(dtype="int64"),
                                 "unparsed": pd.Series(dtype="str")})
        except _csv.Error as exc:
            raise InvalidInput("format", f"csv: the header line is not CSV: {exc}") from None
        width, values, numbers, good = len(header), [], [], []
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except _csv.Error:
                row = []
            numbers.append(line)
            good.append(len(row) == width)
            values.append(row if len(row) == width else [None] * width)
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
        frame = _time_first(frame, self.time, "csv")
        frame.insert(0, "line_number", np.array(numbers, dtype="int64"))
        columns = {name: str(dtype) for name, dtype in frame.dtypes.items()
                   if name != "line_number"}
        lines_ = text.split("\n")
        return _finish(frame, np.array(good, dtype=bool),
                       lambda n: [lines_[i - 1] if i <= len(lines_) else "" for i in n], columns)
