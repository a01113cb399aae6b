"""A file's start and end from its content: ``resolve_times(path, ...)``.

A push needs the time span a file covers, which a person rotating ``access.log`` every
night does not know.  The file knows: start is its earliest event time and end its
latest (not its first and last lines: logs are slightly out of order), read in one
streaming pass (``rows.formats.time_range``) with the same parser ``read`` uses for the
file later, so every row ``read`` gives lies inside [start, end].  ``.gz``, ``.bz2`` and
``.xz`` files are read through their decompressor.  ``"mtime"`` stands for the file's
modification time (a rotated file's last write).

Used by ``push`` (``Lake.push_many``) and by anything else that takes a file in (the
spool's ``enqueue``): call ``resolve_times`` with what the user gave; it reads the file
only when a time is missing.
"""
from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

from ..core import times
from ..core.errors import InvalidInput
from ..core.metadata import validate_order
from ..rows.compression import open_decompressed
from ..stores.base import Store

if TYPE_CHECKING:  # imported where a file is read: a push with its times given needs
    import pandas as pd  # neither (pandas alone is ~0.3 s of a CLI push's start)

    from ..rows import formats

MTIME = "mtime"
DETECT_BYTES = 1 << 20  # what format="auto" reads of a file: as much as ``detect`` looks at
PathLike = str | os.PathLike[str]


@dataclasses.dataclass(frozen=True)
class Format:
    """The parser that reads a file, and its name (for messages and the mapping)."""
    name: str
    parser: formats.Parser


@dataclasses.dataclass(frozen=True)
class Times:
    """A file's [start, end] in UTC ms, and where each came from: "given", "mtime" or
    "content" (then ``format`` names the parser that read it and ``lines`` how many lines
    had a time)."""
    start: int
    end: int | None
    start_from: str
    end_from: str | None
    format: str | None = None
    lines: int = 0


def format_for(format: "str | formats.Parser | None" = None, *, store: Store | None = None,
               what: str | None = None, data_version: str | None = None) -> Format | None:
    """The parser of a file: ``format`` (a name, ``"auto"``, or a parser) when given, else
    the lake's mapping for ``what`` and ``data_version`` (one small GET); None when
    neither says."""
    from ..rows import formats, mapping
    if format is not None:
        if isinstance(format, str):
            return Format(format, formats.get(format))
        if callable(format):
            return Format(getattr(format, "__name__", type(format).__name__), format)
        raise InvalidInput("format", f"expected a format name or a parser, got "
                                     f"{type(format).__name__}")
    if store is None or what is None or data_version is None:
        return None
    if not (isinstance(what, str) and isinstance(data_version, str)):
        return None
    found = mapping.entry_for(store, what, data_version)
    if found is None:
        return None
    name, params = found
    return Format(name, formats.make(name, params))


def mtime_ms(path: PathLike) -> int:
    return os.stat(path).st_mtime_ns // 1_000_000


def content_range(path: PathLike, fmt: Format, hint: tuple[int | None, int | None] = (None, None),
                  ) -> tuple[pd.Timestamp | None, pd.Timestamp | None, int, str]:
    """(earliest, latest, lines with a time, the format that read them) of the file's
    content, in one streaming pass.  ``hint``: what is known of its span (ms), for formats
    whose times leave out the year (RFC 3164 syslog): they take the year nearest to it.
    ``"auto"`` is worked out once from the file's first lines, as ``read`` does."""
    import pandas as pd

    from ..rows import formats
    low, high = (None if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC") for ms in hint)
    with open_decompressed(open(path, "rb"), os.fspath(path)) as stream:
        parser, name = fmt.parser, fmt.name
        if isinstance(parser, formats.Auto):
            head = stream.read(DETECT_BYTES)
            name = formats.detect(head, low, high).format
            parser = formats.get(name)
            stream = _Prefixed(head, stream)
        found = formats.time_range(stream, parser, start=low, end=high)
    return found.earliest, found.latest, found.lines, name


class _Prefixed:
    """Bytes already read, then the rest of a stream."""

    def __init__(self, head: bytes, rest: Any):
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size < 0:
                out, self.head = self.head + self.rest.read(), b""
                return out
            out, self.head = self.head[:size], self.head[size:]
            return out
        return self.rest.read(size)


def resolve_times(path: PathLike, start: Any = None, end: Any = None, *,
                  format: "str | formats.Parser | None" = None, store: Store | None = None,
                  what: str | None = None, data_version: str | None = None,
                  found: Format | None = None, given_from: str = "given") -> Times:
    """The file's [start, end]: each of ``start``/``end`` given (any time the lake reads,
    or ``"mtime"``) is kept; each one that is None comes from the content (earliest and
    latest event time), read with ``format``, else the lake's format of ``what`` and
    ``data_version`` in ``store`` (``found``: that parser, already looked up).  The file
    is read only when a time is missing.  InvalidInput, naming the file, when a time is
    missing and no format is known, when no line has a time, or when end < start.

    ``given_from`` names where given times came from, in messages ("the path").

    (A caller that wants a snapshot, an instant at ``start``, does not ask for an end.)"""
    label = os.fspath(path)
    given = {name: _given(path, value, name) for name, value in (("start", start), ("end", end))}
    sources = {name: None if value is None else (MTIME if is_mtime(raw) else "given")
               for (name, value), raw in zip(given.items(), (start, end))}
    if given["start"] is not None and given["end"] is not None:
        validate_order(given["start"], given["end"])
        return Times(given["start"], given["end"], sources["start"], sources["end"])
    fmt = found or format_for(format, store=store, what=what, data_version=data_version)
    if fmt is None:
        raise InvalidInput("start", f"{label}: no --start given and no format known to read it "
                                    "from the content; give --start (a time, or mtime), or "
                                    "--format F (or auto), or set a format for this what and "
                                    "data version (datalake format set)")
    mtime = mtime_ms(path)
    hint = (given["start"] if given["start"] is not None else mtime,
            given["end"] if given["end"] is not None else mtime)
    try:
        earliest, latest, lines, name = content_range(path, fmt, hint)
    except OSError as exc:
        raise InvalidInput("path", f"{label}: cannot read it ({exc.strerror or exc})") from None
    if earliest is None:
        read_by = f"format {fmt.name!r}" if name == fmt.name else \
            f"format {fmt.name!r} (found {name!r})"
        raise InvalidInput("start", f"{label}: no line has a time that {read_by} reads; give "
                                    "--start (a time, or mtime) and --end")
    start_ms = given["start"] if given["start"] is not None else _floor_ms(earliest)
    end_ms = given["end"] if given["end"] is not None else _ceil_ms(latest)
    if end_ms < start_ms:
        came = {"given": "as given" if given_from == "given" else f"from {given_from}",
                MTIME: "the file's mtime", None: "from the content"}
        hint = ("; if the date in its name is the day it was rotated, not the day it starts, "
                "write it {_} in the template" if given_from == "the path" else "")
        raise InvalidInput("end", f"{label}: end {times.iso(end_ms)} ({came[sources['end']]}) is "
                                  f"before start {times.iso(start_ms)} "
                                  f"({came[sources['start']]}){hint}; or give --start and --end")
    return Times(start_ms, end_ms, sources["start"] or "content", sources["end"] or "content",
                 name, lines)


def is_mtime(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == MTIME


def _given(path: PathLike, value: Any, field: str) -> int | None:
    if value is None:
        return None
    if is_mtime(value):
        return mtime_ms(path)
    return times.to_ms(value, field)


def _floor_ms(stamp: pd.Timestamp) -> int:
    return stamp.value // 1_000_000


def _ceil_ms(stamp: pd.Timestamp) -> int:
    return -((-stamp.value) // 1_000_000)

