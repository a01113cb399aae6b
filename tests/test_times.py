"""Tests for datalake_nb.core.times: what people type for a time -> UTC ms since the epoch.

Expected values are computed here with datetime arithmetic (``_ms``), never by
calling the code under test.
"""
from __future__ import annotations

import datetime as dt
import random
import re

import pytest

from datalake_nb.core import times
from datalake_nb.core.errors import InvalidInput

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = dt.timedelta(milliseconds=1)
HOUR = 3_600_000
DAY = 86_400_000
LAST_MS = 253402300799999  # 9999-12-31T23:59:59.999Z, independently: see test_last_ms_constant


def _ms(*args: int, tz: dt.tzinfo = UTC) -> int:
    """datetime(*args) in ``tz`` as ms since the epoch (microseconds are floored to ms)."""
    return (dt.datetime(*args, tzinfo=tz) - EPOCH) // ONE_MS


def _offset(hours: int, minutes: int = 0) -> dt.timezone:
    sign = -1 if hours < 0 else 1
    return dt.timezone(sign * dt.timedelta(hours=abs(hours), minutes=minutes))


# A fixed "now" for relative forms: 2015-03-20T12:34:56.789Z
NOW = _ms(2015, 3, 20, 12, 34, 56, 789000)
MIDNIGHT = _ms(2015, 3, 20)


def test_last_ms_constant():
    assert times.MAX_MS == LAST_MS
    assert LAST_MS == _ms(9999, 12, 31, 23, 59, 59, 999000)


# --------------------------------------------------------------------------
# Accepted strings with exact expected values
# --------------------------------------------------------------------------

ACCEPTED = [
    # RFC 3339 / ISO 8601 with Z
    ("2015-03-20T00:05:32.345Z", _ms(2015, 3, 20, 0, 5, 32, 345000)),
    ("2015-03-20T00:05:32.345z", _ms(2015, 3, 20, 0, 5, 32, 345000)),
    ("2015-03-20t00:05:32.345Z", _ms(2015, 3, 20, 0, 5, 32, 345000)),
    ("2015-03-20T00:05:32Z", _ms(2015, 3, 20, 0, 5, 32)),
    ("2015-03-20T00:05Z", _ms(2015, 3, 20, 0, 5)),
    ("2015-03-20T23:59:59.999Z", _ms(2015, 3, 20, 23, 59, 59, 999000)),
    ("2015-03-20 00:05:32.345Z", _ms(2015, 3, 20, 0, 5, 32, 345000)),
    ("2015-03-20T00:05:32,345Z", _ms(2015, 3, 20, 0, 5, 32, 345000)),
    # fractions: fewer and more digits than ms (extra digits are truncated)
    ("2015-03-20T00:05:32.3Z", _ms(2015, 3, 20, 0, 5, 32, 300000)),
    ("2015-03-20T00:05:32.34Z", _ms(2015, 3, 20, 0, 5, 32, 340000)),
    ("2015-03-20T00:05:32.3456789Z", _ms(2015, 3, 20, 0, 5, 32, 345000)),
    ("2015-03-20T00:05:32.999999999Z", _ms(2015, 3, 20, 0, 5, 32, 999000)),
    ("2015-03-20T00:05:32.000001Z", _ms(2015, 3, 20, 0, 5, 32)),
    # offsets
    ("2015-03-20T00:05:32.345+01:00", _ms(2015, 3, 20, 0, 5, 32, 345000, tz=_offset(1))),
    ("2015-03-20T00:05:32.345-05:30", _ms(2015, 3, 20, 0, 5, 32, 345000, tz=_offset(-5, 30))),
    ("2015-03-20T00:05:32+0100", _ms(2015, 3, 20, 0, 5, 32, tz=_offset(1))),
    ("2015-03-20T00:05:32+01", _ms(2015, 3, 20, 0, 5, 32, tz=_offset(1))),
    ("2015-03-20T00:05:32+00:00", _ms(2015, 3, 20, 0, 5, 32)),
    ("2015-03-20T00:05:32-00:00", _ms(2015, 3, 20, 0, 5, 32)),
    ("2015-03-20T05:35:32.345+05:30", _ms(2015, 3, 20, 0, 5, 32, 345000)),
    ("2015-03-19T23:00:00-01:00", _ms(2015, 3, 20)),
    ("2015-03-20T23:59:59+14:00", _ms(2015, 3, 20, 9, 59, 59)),
    ("2015-03-20T00:00:00-12:00", _ms(2015, 3, 20, 12)),
    # naive means UTC
    ("2015-03-20T00:05:32.345", _ms(2015, 3, 20, 0, 5, 32, 345000)),
    ("2015-03-20 00:05:32", _ms(2015, 3, 20, 0, 5, 32)),
    ("2015-03-20T00:05", _ms(2015, 3, 20, 0, 5)),
    # basic (compact) ISO 8601
    ("20150320T000532Z", _ms(2015, 3, 20, 0, 5, 32)),
    ("20150320T000532.345Z", _ms(2015, 3, 20, 0, 5, 32, 345000)),
    ("20150320T0005Z", _ms(2015, 3, 20, 0, 5)),
    # plain dates: midnight UTC
    ("2015-03-20", MIDNIGHT),
    ("20150320", MIDNIGHT),
    ("2016-02-29", _ms(2016, 2, 29)),
    ("1999-12-31", _ms(1999, 12, 31)),
    ("2000-01-01", _ms(2000, 1, 1)),
    # epoch milliseconds: 11 digits or more
    ("1426809920345", 1426809920345),
    ("10000000000", 10_000_000_000),
    ("99999999999", 99_999_999_999),
    ("00000000000", 0),
    (str(LAST_MS), LAST_MS),
    # range edges
    ("1970-01-01T00:00:00Z", 0),
    ("1970-01-01T00:00:00.001Z", 1),
    ("1970-01-01T01:00:00+01:00", 0),
    ("9999-12-31T23:59:59.999Z", LAST_MS),
    ("9999-12-31T23:59:59.999999Z", LAST_MS),
    # output of `date -u` (C locale), including the padded day of month
    ("Fri Mar 20 00:05:32 UTC 2015", _ms(2015, 3, 20, 0, 5, 32)),
    ("Fri Mar 20 00:05:32 GMT 2015", _ms(2015, 3, 20, 0, 5, 32)),
    ("Fri Mar  6 00:05:32 UTC 2015", _ms(2015, 3, 6, 0, 5, 32)),
    ("Mon Feb 29 23:59:59 UTC 2016", _ms(2016, 2, 29, 23, 59, 59)),
    # surrounding white space is ignored
    ("  2015-03-20T00:05:32.345Z\n", _ms(2015, 3, 20, 0, 5, 32, 345000)),
    ("\t20150320 ", MIDNIGHT),
]


@pytest.mark.parametrize("text, expected", ACCEPTED, ids=[repr(a) for a, _ in ACCEPTED])
def test_accepted_strings(text, expected):
    assert times.to_ms(text, now=NOW) == expected


def test_basic_date_is_not_an_epoch():
    """20150320 is a date, never 20150320 ms after the epoch (1970-01-01T05:35:50.320Z)."""
    got = times.to_ms("20150320")
    assert got == MIDNIGHT
    assert got != 20150320


def test_seed_example_times():
    """The seed's example record: start 1426809920345 is 2015-03-20T00:05:20.345Z."""
    assert times.to_ms("2015-03-20T00:05:20.345Z") == 1426809920345
    assert times.to_ms("1426809920345") == 1426809920345
    assert times.to_ms("2015-03-20T23:59:59.114Z") == 1426895999114


# --------------------------------------------------------------------------
# Relative forms, deterministic through now=
# --------------------------------------------------------------------------

RELATIVE = [
    ("now", NOW),
    ("NOW", NOW),
    (" Now ", NOW),
    ("today", MIDNIGHT),
    ("Today", MIDNIGHT),
    ("yesterday", MIDNIGHT - DAY),
    ("YESTERDAY", MIDNIGHT - DAY),
    ("-2h", NOW - 2 * HOUR),
    ("-2H", NOW - 2 * HOUR),
    ("-7d", NOW - 7 * DAY),
    ("-90s", NOW - 90_000),
    ("-30m", NOW - 30 * 60_000),
    ("-15min", NOW - 15 * 60_000),
    ("-2w", NOW - 14 * DAY),
    ("-0d", NOW),
    ("now-30m", NOW - 30 * 60_000),
    ("now - 30m", NOW - 30 * 60_000),
    ("now-1hour", NOW - HOUR),
    ("now-3days", NOW - 3 * DAY),
    ("now+1d", NOW + DAY),
    ("+2h", NOW + 2 * HOUR),
    ("2 hours ago", NOW - 2 * HOUR),
    ("1 hour ago", NOW - HOUR),
    ("1 week ago", NOW - 7 * DAY),
    ("45 seconds ago", NOW - 45_000),
    ("10 minutes ago", NOW - 600_000),
    ("3 days ago", NOW - 3 * DAY),
    ("2 Hours Ago", NOW - 2 * HOUR),
    ("2hours ago", NOW - 2 * HOUR),
]


@pytest.mark.parametrize("text, expected", RELATIVE, ids=[repr(a) for a, _ in RELATIVE])
def test_relative_forms_use_now(text, expected):
    assert times.to_ms(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["now", "-2h", "today", "yesterday", "2 hours ago", "now-30m"])
def test_relative_forms_follow_the_given_now(text):
    """Moving ``now`` by a whole day moves the answer by exactly that day."""
    assert times.to_ms(text, now=NOW + DAY) - times.to_ms(text, now=NOW) == DAY


def test_today_at_exact_midnight_and_just_before():
    assert times.to_ms("today", now=MIDNIGHT) == MIDNIGHT
    assert times.to_ms("today", now=MIDNIGHT - 1) == MIDNIGHT - DAY
    assert times.to_ms("yesterday", now=MIDNIGHT) == MIDNIGHT - DAY


def test_relative_before_the_epoch_is_rejected():
    with pytest.raises(InvalidInput) as info:
        times.to_ms("-1d", "start", now=HOUR)
    assert info.value.field == "start"
    assert "'-1d'" in str(info.value)


def test_absolute_times_ignore_now():
    assert times.to_ms("2015-03-20", now=0) == times.to_ms("2015-03-20", now=NOW) == MIDNIGHT


# --------------------------------------------------------------------------
# Rejected strings: InvalidInput naming the field and quoting the input
# --------------------------------------------------------------------------

REJECTED = [
    # the seed README's two malformed examples: a fraction only after seconds
    "2015-03-20T00:00:05:32.345Z",
    "2015-03-20T23:59.114Z",
    "2015-03-20T23.5Z",
    "2015-03-20T00:05:32.Z",
    "2015-03-20T00:05:32.1234567890Z",
    # not times at all
    "garbage",
    "nowish",
    "yesterdays",
    "to day",
    "now-",
    "now-30",
    "-2",
    "-2y",
    "-2mo",
    "-2 fortnights",
    "2 months ago",
    "ago",
    "2 hours",
    # malformed dates
    "2015-13-01",
    "2015-00-10",
    "2015-02-29",
    "2015-02-30",
    "2015-03-32",
    "2015/03/20",
    "20-03-2015",
    "03/20/2015",
    "2015-3-20",
    "15-03-20",
    "10000-01-01",
    # malformed times and offsets
    "2015-03-20T24:00:00Z",
    "2015-03-20T00:60Z",
    "2015-03-20T00:00:61Z",
    "2015-03-20T1:05Z",
    "2015-03-20T00:05:32+5",
    "2015-03-20T00:05:32+25:00",
    "2015-03-20T00:05:32 UTC",
    "2015-03-20T00:05:32 PST",
    # digit strings that are neither a basic date nor epoch ms
    "1426809920",  # epoch *seconds*: 10 digits
    "123",
    "2015032",
    "201503201",
    "20151320",  # 8 digits but not a date
    "1426809920345.5",
    "0x1f",
    "-1426809920345",
    # `date -u` look-alikes that are not
    "Fri Mar 20 00:05:32 PST 2015",
    "Fri Mar 32 00:05:32 UTC 2015",
    "Fri Foo 20 00:05:32 UTC 2015",
    "Fri Mar 20 25:05:32 UTC 2015",
    "Fri Mar 20 00:05:32 UTC",
]


@pytest.mark.parametrize("text", REJECTED)
def test_rejected_strings_quote_the_input(text):
    with pytest.raises(InvalidInput) as info:
        times.to_ms(text, "start", now=NOW)
    err = info.value
    assert err.field == "start"
    assert str(err).startswith("start: ")
    assert repr(text) in str(err)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_strings_are_rejected(text):
    with pytest.raises(InvalidInput) as info:
        times.to_ms(text, "end", now=NOW)
    assert str(info.value).startswith("end: ")
    assert "''" in str(info.value)


def test_default_field_name_is_time():
    with pytest.raises(InvalidInput) as info:
        times.to_ms("garbage")
    assert info.value.field == "time"
    assert "'garbage'" in str(info.value)


def test_rejection_is_a_value_error_too():
    with pytest.raises(ValueError):
        times.to_ms("2015-03-20T23:59.114Z")


@pytest.mark.parametrize("text", ["2015-03-20T00:00+05:99", "2015-03-20T00:00:00-0160"])
def test_offset_minutes_beyond_59_are_rejected(text):
    with pytest.raises(InvalidInput) as info:
        times.to_ms(text)
    assert repr(text) in str(info.value)


def test_superscript_digits_raise_invalid_input():
    text = "\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u2070\u00b9"  # ¹²³⁴⁵⁶⁷⁸⁹⁰¹
    with pytest.raises(InvalidInput) as info:
        times.to_ms(text, "start")
    assert repr(text) in str(info.value)


def test_date_u_with_wrong_weekday_is_rejected():
    text = "Mon Mar 20 00:05:32 UTC 2015"
    with pytest.raises(InvalidInput) as info:
        times.to_ms(text)
    assert repr(text) in str(info.value)


# --------------------------------------------------------------------------
# Non-string inputs
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value", [True, False, None, 1.5, 1426809920345.0, float("nan"),
                                   float("inf"), b"2015-03-20", [2015, 3, 20], (0,), {}, object()],
                         ids=lambda v: type(v).__name__ + ":" + repr(v)[:20])
def test_wrong_types_are_rejected(value):
    with pytest.raises(InvalidInput) as info:
        times.to_ms(value, "start")
    assert info.value.field == "start"
    assert str(info.value).startswith("start: ")


def test_bool_is_not_an_int_time():
    """bool is an int subclass; True must not be read as 1 ms after the epoch."""
    with pytest.raises(InvalidInput) as info:
        times.to_ms(True, "end")
    assert "True" in str(info.value)


NON_STRING_ACCEPTED = [
    (0, 0),
    (1426809920345, 1426809920345),
    (LAST_MS, LAST_MS),
    (dt.datetime(2015, 3, 20, 0, 5, 32, 345678, tzinfo=UTC), _ms(2015, 3, 20, 0, 5, 32, 345000)),
    (dt.datetime(2015, 3, 20, 0, 5, 32, 345000), _ms(2015, 3, 20, 0, 5, 32, 345000)),  # naive
    (dt.datetime(2015, 3, 20, 1, 5, 32, tzinfo=_offset(1)), _ms(2015, 3, 20, 0, 5, 32)),
    (dt.datetime(2015, 3, 19, 19, 5, 32, tzinfo=_offset(-5)), _ms(2015, 3, 20, 0, 5, 32)),
    (dt.date(2015, 3, 20), MIDNIGHT),
    (dt.datetime(1970, 1, 1), 0),
    (dt.datetime(9999, 12, 31, 23, 59, 59, 999999), LAST_MS),
]


@pytest.mark.parametrize("value, expected", NON_STRING_ACCEPTED, ids=lambda v: repr(v)[:40])
def test_non_string_times(value, expected):
    assert times.to_ms(value) == expected


# --------------------------------------------------------------------------
# Range limits: 1970-01-01 .. 9999-12-31 UTC
# --------------------------------------------------------------------------

OUT_OF_RANGE = [
    -1,
    -1426809920345,
    LAST_MS + 1,
    10 ** 18,
    str(LAST_MS + 1),
    "99999999999999999999",
    "1969-12-31T23:59:59.999Z",
    "1969-12-31",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00+00:01",
    "1970-01-01T00:59:59.999+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:00:00-12:00",
    dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=_offset(-1)),
    dt.date(1969, 12, 31),
]


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=lambda v: repr(v)[:40])
def test_out_of_range_is_rejected(value):
    with pytest.raises(InvalidInput) as info:
        times.to_ms(value, "start")
    assert info.value.field == "start"
    if isinstance(value, (str, int)):
        assert repr(value) in str(info.value)


def test_far_future_relative_is_rejected():
    with pytest.raises(InvalidInput) as info:
        times.to_ms("+1d", now=LAST_MS)
    assert "'+1d'" in str(info.value)
    assert times.to_ms("+1s", now=LAST_MS - 1000) == LAST_MS


# --------------------------------------------------------------------------
# compact / from_compact / iso
# --------------------------------------------------------------------------

COMPACT = [
    (0, "19700101T000000000Z", "1970-01-01T00:00:00.000Z"),
    (1, "19700101T000000001Z", "1970-01-01T00:00:00.001Z"),
    (999, "19700101T000000999Z", "1970-01-01T00:00:00.999Z"),
    (_ms(2015, 3, 20, 0, 5, 32, 345000), "20150320T000532345Z", "2015-03-20T00:05:32.345Z"),
    (_ms(2016, 2, 29, 23, 59, 59, 999000), "20160229T235959999Z", "2016-02-29T23:59:59.999Z"),
    (_ms(2000, 1, 1), "20000101T000000000Z", "2000-01-01T00:00:00.000Z"),
    (LAST_MS, "99991231T235959999Z", "9999-12-31T23:59:59.999Z"),
]


@pytest.mark.parametrize("ms, compact, iso", COMPACT)
def test_compact_and_iso_forms(ms, compact, iso):
    assert times.compact(ms) == compact
    assert times.from_compact(compact) == ms
    assert times.iso(ms) == iso
    assert times.to_ms(iso) == ms


def _sample_ms(count: int = 300) -> list[int]:
    rng = random.Random(20150320)
    values = [rng.randrange(0, LAST_MS + 1) for _ in range(count)]
    values += [rng.randrange(_ms(2010, 1, 1), _ms(2030, 1, 1)) for _ in range(count)]
    values += [0, 1, 999, 1000, DAY - 1, DAY, LAST_MS - 1, LAST_MS]
    return values


def test_compact_round_trip_and_fixed_width():
    for ms in _sample_ms():
        text = times.compact(ms)
        assert re.fullmatch(r"\d{8}T\d{9}Z", text), text
        assert times.from_compact(text) == ms


def test_compact_sorts_like_the_number():
    values = sorted(set(_sample_ms()))
    compacts = [times.compact(ms) for ms in values]
    assert compacts == sorted(compacts)


def test_iso_round_trip():
    for ms in _sample_ms():
        text = times.iso(ms)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", text), text
        assert times.to_ms(text) == ms
        expected = (EPOCH + dt.timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.")
        assert text == expected + f"{ms % 1000:03d}Z"


def test_to_datetime_is_aware_utc():
    value = times.to_datetime(_ms(2015, 3, 20, 0, 5, 32, 345000))
    assert value == dt.datetime(2015, 3, 20, 0, 5, 32, 345000, tzinfo=UTC)
    assert value.utcoffset() == dt.timedelta(0)


def test_now_ms_is_a_plausible_int():
    got = times.now_ms()
    assert isinstance(got, int) and not isinstance(got, bool)
    assert _ms(2020, 1, 1) < got < LAST_MS
