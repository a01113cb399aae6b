"""Syslog lines, RFC 3164 and RFC 5424 mixed freely: each physical line matched in full
against one regular expression (``base.extract``: RE2 over Arrow, or Python's ``re``),
then vectorised columns."""
from __future__ import annotations

import datetime
import re
import zoneinfo
from typing import Any

import numpy as np
import pandas as pd

from ...core.errors import InvalidInput
from .base import TIME, _empty, _finish, extract, has_pyarrow, nearest_year

SYSLOG_COLUMNS = {"time": TIME, "host": "str", "app": "str", "pid": "Int64", "message": "str",
                  "msgid": "str", "structured_data": "str", "sd": "object"}
# RFC 3164's tag as real systems write it: an app of up to three words ("Microsoft Word",
# "syslogd 1.4.1", "sshd(pam_unix)"), a pid, and a context in parentheses after it
# ("sandboxd[129] ([31211]):"); one or more spaces before it.
_WORD = r"[^ \t\n\[\]:]+"
_SD = r'(?:\[(?:[^\]"\\\n]|"(?:[^"\\\n]|\\.)*"|\\.)*\])+'
_TAG = (r"(?P<host{n}>[^ \n]+) +(?P<app{n}>" + _WORD + r"(?: " + _WORD + r"){{0,2}}?)"
        r"(?:\[(?P<pid{n}>[0-9]+)\])?(?P<ctx{n}> \([^()\n]*\))?: ?(?P<msg{n}>.*)")
_SYSLOG = (
    # RFC 3164: [<PRI>]Mmm dd hh:mm:ss[.fraction] host app[pid]: message
    r"(?:<[0-9]{1,3}>)?(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>[0-9]{1,2}) "
    r"(?P<clock>[0-9][0-9]:[0-9][0-9]:[0-9][0-9])(?P<frac3>\.[0-9]{1,9})? " + _TAG.format(n=3) +
    # rsyslog's RSYSLOG_FileFormat (Debian 13's default): RFC 3339 time, then as 3164
    r"|(?:<[0-9]{1,3}>)?(?P<ts6>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})) " + _TAG.format(n=6) +
    # RFC 5424: <PRI>VERSION TIMESTAMP HOST APP PROCID MSGID SD [MSG]
    r"|<[0-9]{1,3}>[0-9]{1,2} (?P<ts5>[^ \n]+) (?P<host5>[^ \n]+) (?P<app5>[^ \n]+) "
    r"(?P<pid5>[^ \n]+) (?P<msgid5>[^ \n]+) (?P<sd5>-|" + _SD + r")(?: (?P<msg5>.*))?")
_GROUPS = ["mon", "day", "clock", "frac3", "host3", "app3", "pid3", "ctx3", "msg3", "ts6",
           "host6", "app6", "pid6", "ctx6", "msg6", "ts5", "host5", "app5", "pid5", "msgid5",
           "sd5", "msg5"]
_SD_ELEMENT = re.compile(r'\[([^ \]"=]+)((?:[^\]"\\]|"(?:[^"\\]|\\.)*"|\\.)*)\]')
_SD_PARAM = re.compile(r'([^ ="\]]+)="((?:[^"\\]|\\.)*)"')
_SD_ESCAPE = re.compile(r'\\(["\\\]])')


class Syslog:
    """RFC 3164 (``Nov  1 09:00:33 host app[pid]: message``, optionally with ``<PRI>``
    and a fraction of a second), rsyslog's RSYSLOG_FileFormat (the same with an RFC 3339
    time: ``2026-11-01T09:00:33.123456+01:00 host app[pid]: message``, Debian 13's
    default) and RFC 5424 (``<PRI>1 2026-11-01T09:00:33.1+02:00 host app pid msgid [sd] message``)
    lines, mixed freely.  5424 times carry their offset and are converted to UTC.  3164
    times have no zone and no year: they are read in ``tz`` (the zone of the host that
    wrote the file: an IANA name such as "America/New_York" or an offset such as "-05:00";
    default UTC), in the year that puts the line nearest the file's [start, end] (so a
    file from December into January, or one whose start is already the next year in UTC,
    is right).
    5424's '-' (nil) fields and an empty message are null; its MSGID is ``msgid``, its
    STRUCTURED-DATA ``structured_data`` as written and ``sd`` parsed
    (``{"exampleSDID@32473": {"iut": "3"}}``).  A 3164 tag may hold spaces (``Microsoft
    Word[14463]:``) and a context after the pid (``sandboxd[129] ([31211]):``, kept in
    front of the message).  ``engine``: as ``Nginx``'s."""

    __name__ = "syslog"

    def __init__(self, engine: str = "auto", tz: str | None = None):
        if engine not in ("auto", "pyarrow", "python"):
            raise InvalidInput("engine", f"{engine!r}; allowed: auto, pyarrow, python")
        self.engine, self.tz, self._zone = engine, tz, zone(tz)

    @property
    def params(self) -> dict[str, str]:
        """What makes this parser differ from the default one (stored with the format)."""
        return {} if self.tz is None else {"tz": self.tz}

    def __call__(self, data: bytes, start: pd.Timestamp | None = None,
                 end: pd.Timestamp | None = None) -> pd.DataFrame:
        if not data:
            return _empty(SYSLOG_COLUMNS)
        arrow = self.engine == "pyarrow" or (self.engine == "auto" and has_pyarrow())
        c, matched, lines = extract(data, _SYSLOG, _GROUPS, "pyarrow" if arrow else "python")
        is3164 = (c["mon"] != "").to_numpy(dtype=bool) & matched
        is3339 = (c["ts6"] != "").to_numpy(dtype=bool) & matched & ~is3164
        is5424 = (c["ts5"] != "").to_numpy(dtype=bool) & matched & ~is3164 & ~is3339
        text3164 = (c["mon"] + " " + c["day"] + " " + c["clock"]).where(is3164)
        t3164 = nearest_year(text3164, self._zone, start, end) + fraction(c["frac3"])
        t3339 = pd.to_datetime(c["ts6"].where(is3339), format="ISO8601", utc=True,
                               errors="coerce")
        stamp5424 = c["ts5"].where(is5424 & (c["ts5"] != "-"))
        t5424 = pd.to_datetime(stamp5424, format="ISO8601", utc=True, errors="coerce")
        time = t3164.astype(TIME).where(is3164, t3339.astype(TIME).where(is3339,
                                                                          t5424.astype(TIME)))

        def nil(col: pd.Series) -> pd.Series:
            return col.where((col != "-") & (col != ""))

        def tagged(name: str) -> pd.Series:
            """A field of the tag forms (3164 and rsyslog's RFC 3339 one)."""
            return c[name + "3"].where(is3164, c[name + "6"])

        pid_text = tagged("pid").where(is3164 | is3339, c["pid5"].where(is5424, ""))
        pid = pd.to_numeric(pid_text.where(pid_text.str.fullmatch("[0-9]+")), errors="coerce")
        context = tagged("ctx").str.lstrip(" ")  # kept, in front of the message
        msg = tagged("msg")
        message = (context + " " + msg).where(context != "", msg).where(
            is3164 | is3339, nil(c["msg5"].str.removeprefix("\ufeff")))
        raw_sd = nil(c["sd5"]).where(is5424)
        frame = pd.DataFrame({
            "line_number": np.arange(1, len(matched) + 1, dtype="int64"),
            "time": time,
            "host": tagged("host").where(is3164 | is3339, nil(c["host5"])),
            "app": tagged("app").where(is3164 | is3339, nil(c["app5"])),
            "pid": pid.astype("Int64"),
            "message": message,
            "msgid": nil(c["msgid5"]).where(is5424),
            "structured_data": raw_sd,
            "sd": raw_sd.map(structured_data, na_action="ignore").astype(object)})
        good = time.notna().to_numpy()
        ok = ((is3164 | is3339) & good) | (is5424 & (good | (c["ts5"] == "-").to_numpy(dtype=bool)))
        return _finish(frame, ok, lambda numbers: lines.iloc[numbers - 1].tolist(),
                       SYSLOG_COLUMNS)


def fraction(text: pd.Series) -> pd.Series:
    """'.123' -> 123 ms as a Timedelta ('' -> 0), exact to the nanosecond."""
    digits = text.str[1:10].str.ljust(9, "0").where(text != "", "0")
    return pd.to_timedelta(pd.to_numeric(digits).to_numpy(), unit="ns")


def zone(tz: str | None) -> Any:
    """A zone pandas takes, from an IANA name or a "+HH:MM" offset; InvalidInput if neither."""
    if tz is None or tz in ("UTC", "Z"):
        return "UTC"
    offset = re.fullmatch(r"([+-])([0-9]{2}):?([0-9]{2})", tz) if isinstance(tz, str) else None
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        return datetime.timezone(sign * datetime.timedelta(hours=int(offset.group(2)),
                                                           minutes=int(offset.group(3))))
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput("tz", f"unknown time zone {tz!r}; give an IANA name such as "
                                 "'America/New_York' or an offset such as '-05:00'") from None


def structured_data(text: str) -> dict[str, dict[str, str]]:
    """RFC 5424 STRUCTURED-DATA as {SD-ID: {PARAM-NAME: value}} (\\", \\\\ and \\] undone)."""
    return {element.group(1): {name: _SD_ESCAPE.sub(r"\1", value)
                               for name, value in _SD_PARAM.findall(element.group(2))}
            for element in _SD_ELEMENT.finditer(text)}
