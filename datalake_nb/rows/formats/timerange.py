"""A file's time range without building its frame: ``time_range(stream, fmt)``.

The stream is read in chunks cut at a line end (memory stays about a chunk and its parse,
whatever the file's size), each chunk's times come from the format's own parser (its
``times`` method when it has a faster one that gives the same answer: the default
``nginx``'s), and only the earliest, the latest and the count are kept.  So the answer is
exactly ``read``'s: the least and greatest ``time`` and how many rows have one.
"""
from __future__ import annotations

from typing import BinaryIO, NamedTuple

import pandas as pd

from ...core.errors import InvalidInput
from .base import Parser, get, parse

CHUNK = 2 << 20  # measured: as fast as 8 MiB on nginx, a third of the memory


class TimeRange(NamedTuple):
    earliest: pd.Timestamp | None
    latest: pd.Timestamp | None
    lines: int  # lines with a time


def time_range(stream: BinaryIO, fmt: str | Parser, *, start: pd.Timestamp | None = None,
               end: pd.Timestamp | None = None, chunk: int = CHUNK) -> TimeRange:
    """(earliest, latest, lines with a time) of the lines in ``stream`` (binary, read to
    its end) parsed by ``fmt`` (a format name or a parser); (None, None, 0) without a
    time.  ``start``/``end``: what the parser may need to know of the file (syslog's
    year), as ``read`` gives them.  A format with a header line (csv) gets it again in
    front of every chunk."""
    parser = get(fmt) if isinstance(fmt, str) else fmt
    if not callable(parser):
        raise InvalidInput("format", f"expected a format name or a parser, got "
                                     f"{type(fmt).__name__}")
    times_of = getattr(parser, "times", None)
    header = b"" if getattr(parser, "header_lines", 0) == 0 else None
    earliest = latest = None
    count = 0
    rest = b""
    while True:
        block = stream.read(chunk)
        data = rest + block if block else rest
        if block:
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # a line longer than a chunk: read on
                rest = data
                continue
            data, rest = data[:cut], data[cut:]
        else:
            rest = b""
        if header is None:  # the first line is the header: every chunk gets it
            first = data.find(b"\n") + 1 or len(data)
            header = data[:first]
        elif header and data:
            data = header + data
        if data:
            times = times_of(data, start=start, end=end) if times_of else \
                parse(parser, data, start=start, end=end).get("time")
            if times is not None:
                times = times.dropna()
                if len(times):
                    low, high = times.min(), times.max()
                    earliest = low if earliest is None or low < earliest else earliest
                    latest = high if latest is None or high > latest else latest
                    count += len(times)
        if not block:
            return TimeRange(earliest, latest, count)
