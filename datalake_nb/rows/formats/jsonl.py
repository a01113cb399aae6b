"""Lines of keys and values: JSON lines (one ``json.loads`` per line, which must be an
object), Docker's json-file logs, and logfmt (``key=value ...``, Go services)."""
from __future__ import annotations

import json
import re
from typing import Any

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
        objects, good = [], []
        rows = split_lines(data)
        read = self._read
        for line in rows:
            value = read(line)
            objects.append(value if value is not None else {})
            good.append(value is not None)
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

    @staticmethod
    def _read(line: str) -> dict[str, Any] | None:
        """A line's keys and values, or None when it does not parse."""
        try:
            value = json.loads(line)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


class DockerJson(JsonLines):
    """Docker's json-file log driver: ``{"log": "text\\n", "stream": "stdout", "time":
    "2019-01-01T00:00:00.123456789Z"}`` per line; ``log`` without its line end (a newline,
    and a CR before it, as a terminal writes), the time to the nanosecond.  A line without log, stream and time does not parse."""

    __name__ = "docker"

    @staticmethod
    def _read(line: str) -> dict[str, Any] | None:
        value = JsonLines._read(line)
        if value is None or not {"log", "stream", "time"} <= value.keys():
            return None
        text = value["log"]
        if isinstance(text, str) and text.endswith("\n"):  # the line's end, as split_lines
            value["log"] = text[:-2] if text.endswith("\r\n") else text[:-1]
        return value


_LOGFMT_LINE = re.compile(r'[ \t]*(?:[^\s="]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]*)(?:[ \t]+|$))+')
_LOGFMT_PAIR = re.compile(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_INT = re.compile(r"-?[0-9]{1,18}")
_FLOAT = re.compile(r"-?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


class Logfmt(JsonLines):
    """logfmt, as Go services (and Loki's ``| logfmt``) write it: ``time=2019-01-01T00:00:00Z
    level=info msg="hello world" took=12ms``.  Each line is key=value pairs and nothing
    else (a value quoted with Go's escapes, or bare); a bare value that is a number becomes
    one.  The time as for ``jsonl``."""

    __name__ = "logfmt"

    @staticmethod
    def _read(line: str) -> dict[str, Any] | None:
        if not _LOGFMT_LINE.fullmatch(line):
            return None
        out: dict[str, Any] = {}
        for key, value in _LOGFMT_PAIR.findall(line):
            if value.startswith('"'):
                try:
                    out[key] = json.loads(value)
                except ValueError:
                    out[key] = re.sub(r'\\(.)', r"\1", value[1:-1])
            elif _INT.fullmatch(value):
                out[key] = int(value)
            elif _FLOAT.fullmatch(value):
                out[key] = float(value)
            else:
                out[key] = value
        return out
