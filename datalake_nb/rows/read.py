"""From a query to rows: read (parse) and grep archived files, through the verified cache.

``read`` and ``grep`` take the query keywords of ``Lake.list`` (or rows from earlier: a
list() DataFrame, ids, Records), download what the cache lacks (verifying each file's
hash before it is kept, so nothing unverified is parsed), decompress by extension, and
work on the files in parallel.  The lake's own format mapping (``set_format``) says which
parser reads each data version; it lives in the lake as one small object per pair,
``formats/<what>/<data-version>``, holding the format's name.
"""
from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import formats
from ..core import layout, times
from .compression import codec_of, decompress
from ..core.errors import InvalidInput
from ..core.metadata import Record, check_name

Lake = Any  # a datalake_nb.lake.Lake (not imported: the Lake imports this module)

FORMATS = "formats/"
QUERY_KEYS = ("what", "where", "start", "end", "work_id")
PROVENANCE = ["id", "what", "where", "line_number"]


# -- the lake's format mapping -------------------------------------------------------

def format_key(what: str, data_version: str) -> str:
    return f"{FORMATS}{what}/{data_version}"


def set_format(lake: "Lake", what: str, data_version: str, format_name: str) -> None:
    """Record in the lake that ``format_name`` parses ``what`` files of ``data_version``."""
    check_name("what", what)
    check_name("data-version", data_version)
    formats.get(format_name)  # known here, so a typo is caught before it is shared
    lake.store.put_bytes(format_key(what, data_version), format_name.encode())


def format_table(lake: "Lake") -> dict[tuple[str, str], str]:
    """{(what, data-version): format name} as the lake records it."""
    out = {}
    for entry in lake.store.list(FORMATS):
        what, _, version = entry.key[len(FORMATS):].partition("/")
        try:
            check_name("what", what)
            check_name("data-version", version)
        except InvalidInput:
            continue  # not an entry the lake writes
        with lake.store.open(entry.key) as stream:
            out[(what, version)] = stream.read(200).decode("utf-8", errors="replace").strip()
    return out


def formats_frame(lake: "Lake") -> pd.DataFrame:
    rows = [{"what": w, "data-version": v, "format": f}
            for (w, v), f in sorted(format_table(lake).items())]
    return pd.DataFrame(rows, columns=["what", "data-version", "format"], dtype=object)


def parsers_for(lake: "Lake", records: list[Record],
                format: str | None) -> dict[str, tuple[str, formats.Parser]]:
    """{record id: (format name, parser)}: ``format`` for all, else the lake's mapping."""
    if format is not None:
        parser = formats.get(format)
        return {r.id: (format, parser) for r in records}
    table = format_table(lake) if records else {}
    out = {}
    for rec in records:
        name = table.get((rec.what, rec.data_version))
        if name is None:
            raise InvalidInput("format", f"no format is set for what {rec.what!r}, data-version "
                                         f"{rec.data_version!r}; give format= (known: "
                                         f"{', '.join(formats.names())}) or set one with "
                                         "set_format")
        out[rec.id] = (name, formats.get(name))
    return out


# -- choosing the files ------------------------------------------------------------

def select(lake: "Lake", rows: Any, query: dict[str, Any]) -> tuple[list[Record], tuple[int | None, int | None]]:
    """The records to read and the query's [start, end] window (ms, None = open)."""
    unknown = sorted(set(query) - set(QUERY_KEYS))
    if unknown:
        raise InvalidInput(unknown[0], "unknown query keyword; allowed: " + ", ".join(QUERY_KEYS))
    start = None if query.get("start") is None else times.to_ms(query["start"], "start")
    end = None if query.get("end") is None else times.to_ms(query["end"], "end")
    if start is not None and end is not None and end < start:
        raise InvalidInput("end", f"{times.iso(end)} is before start {times.iso(start)}")
    if rows is None:
        return lake.records(**query), (start, end)
    chosen = sorted(set(query) - {"start", "end"})
    if chosen:
        raise InvalidInput(chosen[0], "give rows or a query, not both (with rows, only start "
                                      "and end are allowed: they clip the rows' times)")
    return lake.resolve(rows), (start, end)


def label(rec: Record) -> str:
    return f"{rec.where}/{rec.what} file {rec.id}"


def content(lake: "Lake", rec: Record, path: Path) -> bytes:
    """The verified cached file's content (decompressed by extension)."""
    source = f"{lake.store.url_for(layout.data_key(rec))} (id {rec.id})"
    return decompress(path.read_bytes(), rec.ext or rec.url or "", source)


def _start(rec: Record) -> pd.Timestamp:
    return pd.Timestamp(rec.start, unit="ms", tz="UTC")


# -- read ----------------------------------------------------------------------------

def read(lake: "Lake", rows: Any = None, *, format: str | None = None, clip: bool = True,
         **query: Any) -> pd.DataFrame:
    """See ``Lake.read``."""
    records, window = select(lake, rows, query)
    parsers = parsers_for(lake, records, format)
    paths = lake.cached(records)
    categories = provenance_categories(records)

    def one(item: tuple[Record, Path]) -> pd.DataFrame:
        rec, path = item
        data = content(lake, rec, path)
        return parse_file(data, rec, parsers[rec.id][1], window if clip else None, categories)

    with parsing_pool(len(records)) as pool:
        frames = list(pool.map(one, zip(records, paths)))
    if not frames:
        empty = formats.parse(formats.get(format), b"") if format else pd.DataFrame(
            {"line_number": pd.Series(dtype="int64")})
        frames = [with_provenance(empty, None, categories)]
    return combine(frames)


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
    frame = formats.parse(parser, data, start=_start(rec), label=label(rec))
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
    frame = with_provenance(frame, rec, categories or provenance_categories([rec]))
    frame.attrs["unparsed"] = unparsed
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
    not parse."""
    unparsed = sum(f.attrs.get("unparsed", 0) for f in frames)
    result = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    result.attrs = {"unparsed": int(unparsed)}
    return result


# -- grep ----------------------------------------------------------------------------

def compile_pattern(pattern: str, ignore_case: bool = False, fixed: bool = False) -> re.Pattern[str]:
    """Python ``re`` syntax (``fixed``: the text as it is); one-line InvalidInput if bad."""
    if not isinstance(pattern, str) or pattern == "" and not fixed:
        raise InvalidInput("pattern", f"expected a non-empty regular expression, got {pattern!r}")
    try:
        return re.compile(re.escape(pattern) if fixed else pattern,
                          re.MULTILINE | (re.IGNORECASE if ignore_case else 0))
    except re.error as exc:
        raise InvalidInput("pattern", f"{pattern!r} is not a valid regular expression: "
                                      f"{exc}") from None


def matching_lines(text: str, pattern: re.Pattern[str], invert: bool = False) -> tuple[list[int], list[str]]:
    """(line numbers, lines) of ``text`` (no trailing newline) that match, as grep finds
    them: one search over the whole text, each hit checked against its own line (a
    pattern may not match across a line end)."""
    if invert:
        lines = text.split("\n") if text else []
        search = pattern.search
        picked = [(n, line) for n, line in enumerate(lines, 1) if not search(line)]
        return [n for n, _ in picked], [line for _, line in picked]
    numbers, found = [], []
    pos, counted, line_no = 0, 0, 1
    search, find, rfind, count = pattern.search, text.find, text.rfind, text.count
    while pos <= len(text):
        m = search(text, pos)
        if m is None:
            break
        begin = rfind("\n", 0, m.start()) + 1 if m.start() > pos else pos
        end = find("\n", begin)
        end = len(text) if end < 0 else end
        line = text[begin:end]
        if search(line):
            line_no += count("\n", counted, begin)
            counted = begin
            numbers.append(line_no)
            found.append(line)
        pos = end + 1
    return numbers, found


def gnu_grep(source: Path | bytes, pattern: str, ignore_case: bool, fixed: bool,
             invert: bool) -> tuple[list[int], list[str]] | None:
    """GNU grep's candidate lines (``-n``) of a file, or of bytes given on its stdin; None
    when there is no GNU grep or it refuses the pattern (then Python's ``re`` scans).
    Perl-compatible syntax (``-P``) is Python's for all but exotic patterns, and the
    caller re-checks every candidate with Python's ``re``."""
    if GREP is None or not gnu_takes(pattern):
        return None
    args: list[str | bytes] = [GREP, "-n", "-a", "-h", "--color=never", "-F" if fixed else "-P"]
    args += ["-i"] * ignore_case + ["-v"] * invert + ["-e", pattern.encode()]
    if isinstance(source, Path):
        args += ["--", str(source)]
    try:
        proc = subprocess.run(args, input=None if isinstance(source, Path) else source,
                              capture_output=True, env={**os.environ, "LC_ALL": "C.UTF-8"})
    except OSError:
        return None
    if proc.returncode == 1:
        return [], []
    if proc.returncode != 0:
        return None
    numbers, found = [], []
    for row in proc.stdout.decode("utf-8", errors="replace").split("\n")[:-1]:
        number, _, line = row.partition(":")
        numbers.append(int(number))
        found.append(line[:-1] if line.endswith("\r") else line)
    return numbers, found


def gnu_takes(pattern: str) -> bool:
    """Whether GNU grep would search for the very pattern Python does.  Not with a NUL (no
    argument can hold one), a line end (grep splits the pattern into several there and keeps
    a CRLF line's CR, so ``-v`` would drop lines), U+FFFD (Python's text has it for a byte
    that is not UTF-8, grep sees the byte) or a lone surrogate (not UTF-8 at all)."""
    if any(char in pattern for char in "\0\n\r\ufffd"):
        return False
    try:
        pattern.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _grep_gnu_path() -> str | None:
    """GNU grep with -P (PCRE), or None."""
    path = shutil.which("grep")
    if path is None:
        return None
    try:
        probe = subprocess.run([path, "-P", "-c", "x"], input=b"x\n", capture_output=True,
                               timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if probe.returncode == 0 else None


GREP = _grep_gnu_path()


def grep(lake: "Lake", pattern: str, rows: Any = None, *, ignore_case: bool = False,
         fixed: bool = False, invert: bool = False, **query: Any) -> pd.DataFrame:
    """See ``Lake.grep``."""
    regex = compile_pattern(pattern, ignore_case, fixed)
    records, _ = select(lake, rows, query)
    mapping = format_table(lake) if records else {}
    paths = lake.cached(records)
    categories = provenance_categories(records)

    def one(item: tuple[Record, Path]) -> pd.DataFrame:
        rec, path = item
        packed = codec_of(rec.ext or rec.url or "") is not None
        data = content(lake, rec, path) if packed else None
        text: str | None = None
        hits = gnu_grep(data if packed else path, pattern, ignore_case, fixed, invert)
        if hits is not None:  # keep exactly the lines Python's re agrees on
            keep = [bool(regex.search(line)) != invert for line in hits[1]]
            numbers = [n for n, k in zip(hits[0], keep) if k]
            found = [line for line, k in zip(hits[1], keep) if k]
        else:
            data = path.read_bytes() if data is None else data
            text = formats.decode(data)
            numbers, found = matching_lines(text, regex, invert) if data else ([], [])
        frame = pd.DataFrame({"line_number": np.array(numbers, dtype="int64"),
                              "line": pd.Series(found, dtype="str")})
        name = mapping.get((rec.what, rec.data_version))
        if name is not None and name in formats.names() and found:
            if text is None and isinstance(formats.get(name), formats.Csv):
                text = formats.decode(data if data is not None else path.read_bytes())
            frame["time"] = _times_of(found, text or "", formats.get(name), rec)
        return with_provenance(frame, rec, categories)

    with parsing_pool(len(records)) as pool:
        frames = list(pool.map(one, zip(records, paths)))
    if not frames:
        frames = [with_provenance(pd.DataFrame({"line_number": pd.Series(dtype="int64"),
                                                "line": pd.Series(dtype="str")}), None,
                                  categories)]
    if any("time" in f.columns for f in frames):
        frames = [f if "time" in f.columns else f.assign(time=pd.Series(pd.NaT, index=f.index,
                                                                        dtype=formats.TIME))
                  for f in frames]
    result = combine(frames)
    result.attrs = {}
    return result


def _times_of(found: list[str], text: str, parser: formats.Parser, rec: Record) -> pd.Series:
    """The format's time of each matched line (parsing just those lines; a CSV file's
    header goes first).  NaT where a line has none."""
    header = isinstance(parser, formats.Csv)
    data = "\n".join(([text.split("\n", 1)[0]] if header else []) + found).encode()
    try:
        parsed = formats.parse(parser, data, start=_start(rec), label=label(rec))
    except InvalidInput:
        parsed = pd.DataFrame()
    nat = pd.Series(pd.NaT, index=range(len(found)), dtype=formats.TIME)
    if "time" not in parsed.columns:
        return nat
    offset = 1 if header else 0
    lookup = pd.Series(parsed["time"].to_numpy(), index=parsed["line_number"].to_numpy() - offset)
    return pd.Series(lookup.reindex(range(1, len(found) + 1)).to_numpy(),
                     dtype=formats.TIME).rename(None)
