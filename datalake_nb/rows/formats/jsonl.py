"""JSON lines: one ``json.loads`` per line (a line must be checked to be an object)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .base import _finish, _time_first, infer_types, split_lines

class JsonLines:
    """One JSON object per line; its top-level keys become columns (nested values stay
    Python objects).  The event time is the key ``time`` names, else the first of
    time, timestamp, @timestamp, ts, datetime, date that is present; it is renamed
    ``time`` and read as ISO 8601 text or epoch seconds/milliseconds.  A line that is not
    a JSON object (an array, a number, broken JSON) does not parse."""

    __name__ = "jsonl"

    def __init__(self, time: str | None = None, time_format: str | None = None):
        self.time, self.time_format = time, time_format

    @property
    def params(self) -> dict[str, str]:
        """What makes this parser differ from the default one (stored with the format)."""
        return {k: v for k, v in (("time", self.time), ("time_format", self.time_format))
                if v is not None}

    def __call__(self, data: bytes, start: pd.Timestamp | None = None,
                 end: pd.Timestamp | None = None) -> pd.DataFrame:
        loads, objects, good = json.loads, [], []
        rows = split_lines(data)
        for line in rows:
            try:
                value = loads(line)
            except ValueError:
                value = None
            if isinstance(value, dict):
                objects.append(value)
                good.append(True)
            else:
                objects.append({})
                good.append(False)
        ok = np.array(good, dtype=bool)
        frame = pd.DataFrame(objects, index=pd.RangeIndex(len(rows)), dtype=object)
        if "line_number" in frame.columns or "unparsed" in frame.columns:
            frame = frame.rename(columns={"line_number": "_line_number", "unparsed": "_unparsed"})
        frame = _time_first(frame, self.time, "jsonl", self.time_format, start, end)
        frame = infer_types(frame)
        frame.insert(0, "line_number", np.arange(1, len(rows) + 1, dtype="int64"))
        columns = {name: str(dtype) for name, dtype in frame.dtypes.items()
                   if name != "line_number"}
        return _finish(frame, ok, lambda n: [rows[i - 1] for i in n], columns)
