"""Lines (or grep matches) counted over time, per where: a picture of what a lake holds.

The timeline says which files cover which hours; this says how much happened in each
minute of them (Loki's Explore view opens with it).  Counts come from the rows ``read``
parses or the lines ``grep`` finds, so a count is a line a reader would see.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from . import grep as grepping
from . import read as reading
from ..core.errors import InvalidInput
from ..core.metadata import Record

# Bin widths the automatic choice picks from: round numbers people read as such.
STEPS = ["1s", "5s", "10s", "15s", "30s", "1min", "2min", "5min", "10min", "15min", "30min",
         "1h", "2h", "3h", "6h", "12h", "1D", "7D"]
TARGET_BINS = 60  # the automatic width is the smallest step giving at most this many bins
MAX_BINS = 100_000  # an `every` that would make more bins than this is a mistake
_EVERY = re.compile(r"^\s*([0-9]+)\s*(s|sec|min|m|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": "s", "sec": "s", "min": "min", "m": "min", "h": "h", "d": "D", "w": "W"}
EVERY_HELP = "a width like 10s, 1min, 5m, 1h, 1d (default: chosen for about 60 bins)"


def parse_every(every: object) -> pd.Timedelta:
    """``"1min"``, ``"5m"``, ``"1h"``, ``"1d"`` (or a Timedelta) as a positive width."""
    if isinstance(every, (pd.Timedelta, np.timedelta64)) or hasattr(every, "total_seconds"):
        width = pd.Timedelta(every)
    else:
        found = _EVERY.match(str(every)) if isinstance(every, str) else None
        if found is None:
            raise InvalidInput("every", f"{every!r} is not a bin width; {EVERY_HELP}")
        number, unit = found.groups()
        width = pd.Timedelta(int(number), unit=_UNITS[unit.lower()]) if unit.lower() != "w" \
            else pd.Timedelta(weeks=int(number))
    if width < pd.Timedelta(seconds=1):
        raise InvalidInput("every", f"{every!r}: the width must be at least 1s")
    return width


def auto_every(low: pd.Timestamp, high: pd.Timestamp) -> pd.Timedelta:
    """The smallest of ``STEPS`` that covers [low, high] in at most ``TARGET_BINS`` bins."""
    span = high - low
    for step in STEPS:
        width = pd.Timedelta(step)
        if span / width < TARGET_BINS:
            return width
    return pd.Timedelta(STEPS[-1])


def counts(times: pd.Series, wheres: pd.Series, every: object = None,
           window: tuple[int | None, int | None] | None = None,
           all_wheres: list[str] | None = None,
           files: tuple[int | None, int | None] | None = None) -> pd.DataFrame:
    """Columns time (each bin's start, UTC), where, count: how many of ``times`` (one per
    line, NaT for a line without a time) fall in each bin, per where.

    Every bin from the first to the last is there, zeros too (a gap is news), for each of
    ``all_wheres`` (default: the wheres seen).  Bins start at multiples of the width since
    the epoch (a day's at UTC midnight); the range is the query's ``window`` (ms) where it
    is given, else the lines' and the ``files``' span (ms), so quiet stretches show.  ``attrs``: ``every`` (the width) and ``untimed`` (lines
    without a time, not counted)."""
    stamps = pd.to_datetime(pd.Series(times, copy=False), utc=True).reset_index(drop=True)
    where = pd.Series(wheres, copy=False).astype(str).reset_index(drop=True)
    timed = stamps.notna()
    untimed = int((~timed).sum())
    stamps, where = stamps[timed], where[timed]
    low, high = _range(stamps, window, files)
    width = parse_every(every) if every is not None else (
        auto_every(low, high) if low is not None else pd.Timedelta("1min"))
    names = list(all_wheres) if all_wheres is not None else sorted(where.unique())
    if low is None:
        frame = pd.DataFrame({"time": pd.Series(dtype="datetime64[ns, UTC]"),
                              "where": pd.Series(dtype="str"),
                              "count": pd.Series(dtype="int64")})
    else:
        first, last = low.floor(width), high.floor(width)
        if (last - first) / width >= MAX_BINS:
            raise InvalidInput("every", f"{width} makes more than {MAX_BINS:,} bins over "
                                        f"{first} .. {high}; give a wider one")
        bins = pd.date_range(first, last, freq=width)
        counted = pd.DataFrame({"time": stamps.dt.floor(width), "where": where}) \
            .groupby(["time", "where"]).size()
        grid = pd.MultiIndex.from_product([bins, names], names=["time", "where"])
        frame = counted.reindex(grid, fill_value=0).rename("count").reset_index()
        frame["count"] = frame["count"].astype("int64")
    frame.attrs = {"every": width, "untimed": untimed}
    return frame


def of_files(records: list[Record], paths: list[Any], parsers: dict[str, Any],
             window: tuple[int | None, int | None], url_of: reading.Locate,
             every: object = None, search: "grepping.Search | None" = None,
             empty: Any = None) -> pd.DataFrame:
    """The counts of the files' lines (with ``search``: of the lines that match) per bin
    and where; ``paths`` are the records' verified files, ``empty`` the parser whose
    columns an answer without files has."""
    if search is None:
        lines = reading.read(records, paths, parsers, window, url_of, empty=empty)
    else:
        lines = grepping.grep(search, records, paths, parsers, url_of)
    return of_lines(lines, records, window, every, matches=search is not None)


def of_lines(lines: pd.DataFrame, records: list[Record],
             window: tuple[int | None, int | None], every: object = None,
             matches: bool = False) -> pd.DataFrame:
    """The counts of ``lines`` (``read``'s rows, or with ``matches`` ``grep``'s, which
    are not clipped to ``window``: that is done here) per bin and where, over every where
    of ``records`` and, without a window, the files' span."""
    times = lines["time"] if "time" in lines.columns else None
    if times is None and len(lines):
        raise InvalidInput("format", "the lines have no time to count them by: give a "
                                     "format that reads one (format='auto', 'nginx', ...)"
                                     " or set one with set_format")
    if times is None:
        times = pd.Series(pd.NaT, index=lines.index, dtype="datetime64[ns, UTC]")
    if matches:
        low, high = (None if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC")
                     for ms in window)
        inside = pd.Series(True, index=lines.index)
        if low is not None:
            inside &= ~(times < low)
        if high is not None:
            inside &= ~(times > high)
        lines, times = lines[inside], times[inside]
    wheres = list(dict.fromkeys(r.where for r in records))
    files = (min((r.start for r in records), default=None),
             max((r.stop for r in records), default=None))
    frame = counts(times, lines["where"], every, window, wheres, files)
    frame.attrs["counting"] = "matches" if matches else "lines"
    return frame


def _range(stamps: pd.Series, window: tuple[int | None, int | None] | None,
           files: tuple[int | None, int | None] | None = None
           ) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """[low, high] of the bins: the window's edges where given, else what the lines and
    the files cover."""
    def edge(side: int, pick: Any) -> pd.Timestamp | None:
        if window is not None and window[side] is not None:
            return pd.Timestamp(window[side], unit="ms", tz="UTC")
        found = [pd.Timestamp(files[side], unit="ms", tz="UTC")] \
            if files is not None and files[side] is not None else []
        if len(stamps):
            found.append(stamps.min() if side == 0 else stamps.max())
        return pick(found) if found else None

    low, high = edge(0, min), edge(1, max)
    if low is None or high is None:
        return None, None
    return low, max(low, high)


def bars(frame: pd.DataFrame, width: int = 40) -> list[str]:
    """The counts as text, a line per bin and where: ``time  where  count  ████``
    (bars scaled to the largest count), for a terminal."""
    if not len(frame):
        return []
    top = int(frame["count"].max()) or 1
    every = frame.attrs.get("every")
    seconds = every is not None and every % pd.Timedelta(minutes=1) != pd.Timedelta(0)
    stamp = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    where_width = max(len("where"), *(len(w) for w in frame["where"]))
    count_width = max(len("count"), len(str(top)))
    time_width = 19 if seconds else 16
    lines = [f"{'time (UTC)':<{time_width}}  {'where':<{where_width}}  {'count':>{count_width}}"]
    for time, where, count in frame.itertuples(index=False):
        bar = "█" * round(width * count / top) if count else ""
        if count and not bar:
            bar = "▏"  # a count too small to round to a block still shows
        lines.append(f"{time.strftime(stamp)}  {where:<{where_width}}  "
                     f"{count:>{count_width}}  {bar}".rstrip())
    return lines
