"""Turn what people type for a time into UTC milliseconds since the epoch.

Accepted: ISO 8601 / RFC 3339 (``Z`` or an offset; naive means UTC), plain
dates (``2015-03-20``, ``20150320``), epoch milliseconds (11 or more digits),
``now``, ``today``, ``yesterday``, relative forms (``-2h``, ``-7d``, ``now-30m``,
``2 hours ago``) and the default output of ``date -u``.  Anything else is an
``InvalidInput`` that quotes the input: we never guess.
"""
from __future__ import annotations

import datetime as dt
import re
import time

from .errors import InvalidInput

MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z, the last time ISO 8601 can write
UTC = dt.timezone.utc

_UNITS_MS = {
    "s": 1000, "sec": 1000, "second": 1000, "seconds": 1000,
    "m": 60_000, "min": 60_000, "minute": 60_000, "minutes": 60_000,
    "h": 3_600_000, "hour": 3_600_000, "hours": 3_600_000,
    "d": 86_400_000, "day": 86_400_000, "days": 86_400_000,
    "w": 604_800_000, "week": 604_800_000, "weeks": 604_800_000,
}
_RELATIVE = re.compile(r"(?:now)?\s*([-+])\s*([0-9]+)\s*([a-z]+)", re.ASCII)
_AGO = re.compile(r"([0-9]+)\s*([a-z]+)\s+ago", re.ASCII)
_DATE_U = "%a %b %d %H:%M:%S %Y"  # `date -u` with its zone (UTC/GMT) removed
HELP = ("ISO 8601 (2015-03-20T00:05:32.345Z, offsets allowed, naive = UTC), a date "
        "(2015-03-20), epoch ms (11+ digits), now, today, yesterday, or relative "
        "(-2h, -7d, now-30m, '2 hours ago')")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_ms(value: object, field: str = "time", now: int | None = None) -> int:
    """Return ``value`` as UTC ms since the epoch, or raise ``InvalidInput``."""
    if isinstance(value, bool):
        raise InvalidInput(field, f"expected a time, got {value!r}")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, dt.datetime):
        ms = _datetime_ms(value)
    elif isinstance(value, dt.date):
        ms = _datetime_ms(dt.datetime(value.year, value.month, value.day))
    elif isinstance(value, str):
        ms = _parse(value.strip(), field, now)
    else:
        raise InvalidInput(field, f"expected a time, got {type(value).__name__} {value!r}")
    if not 0 <= ms <= MAX_MS:
        raise InvalidInput(field, f"{value!r} is outside 1970-01-01 .. 9999-12-31 (UTC)")
    return ms


def _datetime_ms(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - dt.datetime(1970, 1, 1, tzinfo=UTC)
    return delta // dt.timedelta(milliseconds=1)


def _midnight(ms: int) -> int:
    return ms - ms % 86_400_000


def _parse(text: str, field: str, now: int | None) -> int:
    low = text.lower()
    current = now_ms() if now is None else now
    if low == "now":
        return current
    if low == "today":
        return _midnight(current)
    if low == "yesterday":
        return _midnight(current) - 86_400_000
    if low == "tomorrow":
        return _midnight(current) + 86_400_000
    match = _RELATIVE.fullmatch(low)
    if match and match.group(3) in _UNITS_MS:
        sign = -1 if match.group(1) == "-" else 1
        return current + sign * int(match.group(2)) * _UNITS_MS[match.group(3)]
    match = _AGO.fullmatch(low)
    if match and match.group(2) in _UNITS_MS:
        return current - int(match.group(1)) * _UNITS_MS[match.group(2)]
    if text.isascii() and text.isdigit():
        if len(text) == 8:  # 20150320 is a basic ISO date, never a 1970 epoch
            return _iso(text, field)
        if len(text) >= 11:
            return int(text)
        raise InvalidInput(field, f"cannot read {text!r}: epoch milliseconds need 11 or more "
                                  "digits; write dates as 2015-03-20")
    return _iso(text, field)


_ISO = re.compile(
    r"([0-9]{4})-?([0-9]{2})-?([0-9]{2})"
    r"(?:[Tt ]([0-9]{2})(?::?([0-9]{2})(?::?([0-9]{2})(?:[.,]([0-9]{1,9}))?)?)?)?"
    r"\s*(Z|z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?")


def _iso(text: str, field: str) -> int:
    """ISO 8601 / RFC 3339 by a strict pattern: a fraction only after seconds."""
    match = _ISO.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, frac, zone = match.groups()
        try:
            stamp = dt.datetime(int(year), int(month), int(day), int(hour or 0),
                                int(minute or 0), int(second or 0),
                                int((frac or "0").ljust(6, "0")[:6]), tzinfo=_zone(zone))
            return _datetime_ms(stamp)
        except ValueError as exc:
            raise InvalidInput(field, f"cannot read {text!r} as a time: {exc}") from None
    parts = text.split()
    if len(parts) == 6 and parts[4] in ("UTC", "GMT"):  # output of `date -u`
        try:
            stamp = dt.datetime.strptime(" ".join(parts[:4] + parts[5:]), _DATE_U)
            if stamp.strftime("%a") == parts[0]:  # strptime ignores a wrong weekday
                return _datetime_ms(stamp)
        except ValueError:
            pass
    raise InvalidInput(field, f"cannot read {text!r} as a time; use {HELP}")


def _zone(zone: str | None) -> dt.timezone:
    if zone is None or zone in "Zz":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0)))


def to_datetime(ms: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=ms)


def compact(ms: int) -> str:
    """A fixed-width, sortable UTC form used in keys: 20150320T000532345Z."""
    return to_datetime(ms).strftime("%Y%m%dT%H%M%S") + f"{ms % 1000:03d}Z"


_COMPACT = re.compile(r"[0-9]{8}T[0-9]{9}Z")


def from_compact(text: str) -> int:
    if not _COMPACT.fullmatch(text):
        raise ValueError(f"not a compact time: {text!r}")
    # by hand: strptime was a third of a listing's CPU (two times in every key)
    stamp = dt.datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]),
                        int(text[11:13]), int(text[13:15]), tzinfo=UTC)
    return _datetime_ms(stamp) + int(text[15:18])


def iso(ms: int) -> str:
    """RFC 3339 with milliseconds, for people."""
    return to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
