"""Syslog lines, RFC 3164 and RFC 5424 mixed freely: one whole-file ``re.findall`` (no
per-line Python call), then vectorised columns."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .base import TIME, _empty, _findall, _finish, _line_getter, decode

SYSLOG_COLUMNS = {"time": TIME, "host": "str", "app": "str", "pid": "Int64", "message": "str"}
_SYSLOG_RE = re.compile(
    r"^(?:"
    # RFC 3164: [<PRI>]Mmm dd hh:mm:ss host app[pid]: message
    r"(?:<\d{1,3}>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d) (\S+) ([^\s\[:]+)"
    r"(?:\[(\d+)\])?: ?(.*)"
    # RFC 5424: <PRI>VERSION TIMESTAMP HOST APP PROCID MSGID SD [MSG]
    r"|<\d{1,3}>\d{1,2} (\S+) (\S+) (\S+) (\S+) \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?"
    r"|(.*))$", re.M)


_MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


class Syslog:
    """RFC 3164 (``Nov  1 09:00:33 host app[pid]: message``, optionally with ``<PRI>``)
    and RFC 5424 (``<PRI>1 2026-11-01T09:00:33.1+02:00 host app pid msgid [sd] message``)
    lines, mixed freely.  5424 times carry their offset and are converted to UTC; 3164
    times have none and are read as UTC, in the year of the file's start (the next year
    for months before the start's, so a file from December into January is right).
    5424's '-' (nil) fields are null."""

    __name__ = "syslog"

    def __call__(self, data: bytes, start: pd.Timestamp | None = None) -> pd.DataFrame:
        if not data:
            return _empty(SYSLOG_COLUMNS)
        text = decode(data)
        rows = _findall(_SYSLOG_RE, text)
        c = [np.array(col, dtype=object) for col in zip(*rows)]
        is3164 = c[0] != ""
        is5424 = (c[7] != "") & ~is3164
        year = (start if start is not None else pd.Timestamp.now(tz="UTC")).year
        month0 = start.month if start is not None else 1
        months = pd.Series(c[0]).map(_MONTHS).fillna(13).to_numpy()
        years = np.where(months < month0, year + 1, year).astype(str).astype(object)
        text3164 = np.where(is3164, years + " " + c[0] + " " + c[1] + " " + c[2], None)
        t3164 = pd.to_datetime(pd.Series(text3164, dtype=object), format="%Y %b %d %H:%M:%S",
                               utc=True, errors="coerce")
        stamp5424 = pd.Series(np.where(is5424 & (c[7] != "-"), c[7], None), dtype=object)
        t5424 = pd.to_datetime(stamp5424, format="ISO8601", utc=True, errors="coerce")
        time = t3164.astype(TIME).where(is3164, t5424.astype(TIME))

        def nil(col: np.ndarray) -> np.ndarray:
            return np.where((col == "-") | (col == ""), None, col)

        pid_text = np.where(is3164, c[5], np.where(is5424, c[10], ""))
        pid_text = np.where(np.char.isdigit(pid_text.astype(str)), pid_text, None)
        message = np.where(is3164, c[6], c[11])
        message = np.array([m[1:] if m.startswith("\ufeff") else m for m in message],
                           dtype=object) if any(m.startswith("\ufeff") for m in message) \
            else message
        frame = pd.DataFrame({
            "line_number": np.arange(1, len(rows) + 1, dtype="int64"),
            "time": time,
            "host": np.where(is3164, c[3], nil(c[8])),
            "app": np.where(is3164, c[4], nil(c[9])),
            "pid": pd.to_numeric(pd.Series(pid_text, dtype=object)),
            "message": message})
        ok = (is3164 & time.notna().to_numpy()) | (is5424 & (time.notna().to_numpy()
                                                            | (c[7] == "-")))
        return _finish(frame, ok, _line_getter(text), SYSLOG_COLUMNS)
