"""Files into rows: parse verified cached files, in parallel, into one DataFrame.

The caller (``Lake.read``) has chosen the records, their parsers (``mapping``) and fetched
them into the cache (so nothing unverified is parsed); this decompresses each by its
extension, parses it, clips it to the query's window and puts provenance in front.
"""
from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import formats
from .compression import decompress
from ..core.errors import InvalidInput
from ..core.metadata import Record

PROVENANCE = ["id", "what", "where", "line_number"]
# A read's columns: what people read first (when, where, what), the format's fields, and
# the long provenance (the line's number in its file, the file's id) last.
LEADING = ["time", "where", "what"]
TRAILING = ["line_number", "id"]
Locate = Callable[[Record], str]  # a record's object URL, for messages


def label(rec: Record) -> str:
    return f"{rec.where}/{rec.what} file {rec.id}"


def content(rec: Record, path: Path, url_of: Locate) -> bytes:
    """The verified cached file's content (decompressed by extension)."""
    source = f"{url_of(rec)} (id {rec.id})"
    return decompress(path.read_bytes(), rec.ext or rec.url or "", source)


def start_of(rec: Record) -> pd.Timestamp:
    return pd.Timestamp(rec.start, unit="ms", tz="UTC")


def end_of(rec: Record) -> pd.Timestamp:
    """The file's end (its start for a file without one)."""
    return pd.Timestamp(rec.stop, unit="ms", tz="UTC")


# -- read ----------------------------------------------------------------------------

def read(records: list[Record], paths: list[Path], parsers: dict[str, tuple[str, formats.Parser]],
         window: tuple[int | None, int | None] | None, url_of: Locate,
         empty: formats.Parser | None = None) -> pd.DataFrame:
    """The rows of the files (``paths``, verified, in the records' order), each parsed by
    its record's parser and clipped to ``window`` (None: not clipped).  ``url_of`` names a
    record's object in messages; ``empty`` gives the columns of an answer without files."""
    categories = provenance_categories(records)

    def one(item: tuple[Record, Path]) -> pd.DataFrame:
        rec, path = item
        data = content(rec, path, url_of)
        return parse_file(data, rec, parsers[rec.id][1], window, categories)

    with parsing_pool(len(records)) as pool:
        frames = list(pool.map(one, zip(records, paths)))
    if not frames:
        frame = formats.parse(empty, b"") if empty is not None else pd.DataFrame(
            {"line_number": pd.Series(dtype="int64")})
        frames = [with_provenance(frame, None, categories)]
    return reading_order(combine(frames))


def reading_order(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s columns as a read shows them: time, where, what, the format's fields,
    then line_number and id (attrs kept)."""
    columns = list(frame.columns)
    lead = [c for c in LEADING if c in columns]
    tail = [c for c in TRAILING if c in columns]
    order = lead + [c for c in columns if c not in lead and c not in tail] + tail
    if order == columns:
        return frame
    attrs = frame.attrs
    frame = frame[order]
    frame.attrs = attrs
    return frame


def check_sort(sort: str | None) -> str | None:
    """``sort`` if it is one read takes (None or "time"), else a one-line InvalidInput."""
    if sort is not None and sort != "time":
        raise InvalidInput("sort", f"{sort!r}: allowed: 'time' (one timeline) or None")
    return sort


def sorted_by(frame: pd.DataFrame, sort: str | None) -> pd.DataFrame:
    """The rows in one timeline (``sort="time"``): by time, stable (a file's lines and the
    files' order stay as they were among equal times), rows without a time last."""
    if check_sort(sort) is None:
        return frame
    if "time" not in frame.columns:
        if frame.empty:
            return frame
        raise InvalidInput("sort", "these rows have no time to sort by (their format has "
                                   "none: give a format with times, e.g. --format auto)")
    attrs = frame.attrs
    frame = frame.sort_values("time", kind="stable", na_position="last").reset_index(drop=True)
    frame.attrs = attrs
    return frame


def parsing_pool(files: int) -> concurrent.futures.ThreadPoolExecutor:
    """Parsing is CPU work (Arrow and NumPy release the GIL): one thread per core, which
    also bounds the memory of files in flight to a file per core."""
    return concurrent.futures.ThreadPoolExecutor(max(1, min(files, os.cpu_count() or 1)))


def provenance_categories(records: list[Record]) -> dict[str, list[str]]:
    return {field: list(dict.fromkeys(getattr(r, field) for r in records))
            for field in ("id", "what", "where")}


def parse_file(data: bytes, rec: Record, parser: formats.Parser,
               window: tuple[int | None, int | None] | None,
               categories: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """One file's rows: parsed, clipped to ``window`` by ``time`` (both edges inside; a
    row without a time, e.g. an unparsed line, is kept), provenance columns in front."""
    frame = formats.parse(parser, data, start=start_of(rec), label=label(rec),
                          end=end_of(rec))
    unparsed = int(frame["unparsed"].notna().sum()) if "unparsed" in frame.columns else 0
    if window is not None and "time" in frame.columns and window != (None, None):
        time = frame["time"]
        keep = time.isna()
        inside = pd.Series(True, index=frame.index)
        if window[0] is not None:
            inside &= time >= pd.Timestamp(window[0], unit="ms", tz="UTC")
        if window[1] is not None:
            inside &= time <= pd.Timestamp(window[1], unit="ms", tz="UTC")
        frame = frame[keep | inside.fillna(False)]
    untimed = int(frame.attrs.get("unparsed_time", 0))
    detected = frame.attrs.get("format")
    frame = reading_order(with_provenance(frame, rec,
                                          categories or provenance_categories([rec])))
    frame.attrs = {"unparsed": unparsed, "unparsed_time": untimed}
    if detected is not None:  # format="auto" said which
        frame.attrs["formats"] = {rec.id: detected}
    return frame


def with_provenance(frame: pd.DataFrame, rec: Record | None,
                    categories: dict[str, list[str]]) -> pd.DataFrame:
    """id, what, where (categoricals over every file of the answer: they repeat on each
    row, and frames with the same categories concatenate without recoding) and
    line_number in front."""
    n = len(frame)
    out = {}
    for field in ("id", "what", "where"):
        code = -1 if rec is None else categories[field].index(getattr(rec, field))
        out[field] = pd.Categorical.from_codes(np.full(n, code, dtype="int32"),
                                               categories=categories[field])
    out["line_number"] = frame["line_number"].to_numpy(dtype="int64")
    result = pd.DataFrame(out)
    for column in frame.columns:
        if column not in PROVENANCE:
            result[column] = frame[column].reset_index(drop=True)
    return result


def combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame in the records' order, ``attrs['unparsed']`` the total of lines that did
    not parse, ``attrs['unparsed_time']`` of those whose time did not read, and with
    format="auto" ``attrs['format']``: what was found."""
    totals: dict[str, Any] = {key: int(sum(f.attrs.get(key, 0) for f in frames))
                              for key in ("unparsed", "unparsed_time")}
    detected = {k: v for f in frames for k, v in f.attrs.get("formats", {}).items()}
    if detected:  # format="auto": the one format found, else {id: format}
        totals["format"] = next(iter(detected.values())) if len(set(detected.values())) == 1 \
            else detected
    result = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    result.attrs = totals
    return result
