"""What every format shares: the registry, the parser contract, and the helpers parsers use.

A parser is any callable ``parser(data: bytes) -> pandas.DataFrame``; one that also takes a
keyword ``start`` (or ``end``) gets the file's start (end) time, a UTC ``pandas.Timestamp``,
which RFC 3164 syslog needs for the year its dates leave out.  ``register(name, parser)`` adds one,
``get(name)`` finds one.  What every built-in returns (and what a user's parser may return):

- ``line_number`` (1-based), else the rows are taken to be the file's lines in order;
- the parsed columns, with the event time always in ``time`` (UTC, tz-aware), integers as
  nullable ``Int64``;
- ``unparsed``: the raw text of a line that did not parse (its parsed columns are then
  null), else null.  No line is ever dropped.
"""
from __future__ import annotations

import difflib
import inspect
import logging
import re
from typing import Any, Callable

import numpy as np
import pandas as pd

from ...core.errors import InvalidInput
from ...core.metadata import NAME_RE

log = logging.getLogger("datalake_nb.rows")
Parser = Callable[..., pd.DataFrame]
TIME = "datetime64[ns, UTC]"
TIME_NAMES = ("time", "timestamp", "@timestamp", "ts", "datetime", "date")
_REGISTRY: dict[str, Parser] = {}


# -- the registry -----------------------------------------------------------------

def register(name: str, parser: Parser) -> Parser:
    """Make ``parser`` available as ``name`` (replacing an earlier one of that name)."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or len(name) > 64:
        raise InvalidInput("format", f"{name!r} is not a format name; use 1 to 64 ASCII "
                                     "letters, digits, '-' or '_'")
    if not callable(parser):
        raise InvalidInput("format", f"the parser for {name!r} must be callable, "
                                     f"got {type(parser).__name__}")
    _REGISTRY[name] = parser
    return parser


def get(name: str) -> Parser:
    """The parser registered as ``name``; InvalidInput naming the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), names(), n=2, cutoff=0.6)
        guess = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise InvalidInput("format", f"unknown format {name!r}; {guess}known: "
                                     f"{', '.join(names())}",
                           api_hint="datalake_nb.rows.formats.register adds one") from None


def names() -> list[str]:
    return sorted(_REGISTRY)


def make(name: str, params: dict[str, Any] | None = None) -> Parser:
    """The parser registered as ``name``, with ``params`` (keyword arguments of its class,
    e.g. ``log_format`` for nginx) over the ones it was registered with.  A parser takes
    parameters when it has a ``params`` dict (the built-in classes do)."""
    parser = get(name)
    if not params:
        return parser
    if not isinstance(getattr(parser, "params", None), dict):
        raise InvalidInput("format", f"format {name!r} takes no parameters (got "
                                     f"{', '.join(map(str, params))})")
    allowed = [p for p in inspect.signature(type(parser)).parameters if p != "engine"]
    unknown = [key for key in params if key not in allowed]
    if unknown:
        raise InvalidInput("format", f"format {name!r} has no parameter {unknown[0]!r}; it "
                                     f"takes: {', '.join(allowed)}")
    return type(parser)(**{**parser.params, **params})


def describe(name: str, params: dict[str, Any] | None) -> str:
    """``name`` and its parameters, as ``format list`` shows them."""
    return " ".join([name] + [f"{key}={value!r}" for key, value in (params or {}).items()])


def parse(parser: Parser, data: bytes, start: pd.Timestamp | None = None,
          label: str = "the file", end: pd.Timestamp | None = None,
          warn: bool = True) -> pd.DataFrame:
    """Run a parser and bring its answer into the shared shape (line_number first,
    ``time`` UTC).  A parser that raises or returns something else is InvalidInput.
    ``start`` and ``end``: the file's time range, for parsers that take those keywords;
    ``warn``: say (log) when lines' times did not read."""
    try:
        taken = _takes(parser)
        extra = {k: v for k, v in (("start", start), ("end", end)) if k in taken}
        frame = parser(data, **extra)
    except InvalidInput:
        raise
    except Exception as exc:  # a user's parser may raise anything: one line, exit 2
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise InvalidInput("format", f"{_name_of(parser)} could not parse {label}: "
                                     f"{type(exc).__name__}: {first}") from None
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput("format", f"{_name_of(parser)} returned {type(frame).__name__} for "
                                     f"{label}; a parser must return a pandas DataFrame")
    if "line_number" not in frame.columns:
        frame = frame.reset_index(drop=True)
        frame.insert(0, "line_number", np.arange(1, len(frame) + 1, dtype="int64"))
    if "time" in frame.columns and not isinstance(frame["time"].dtype, pd.DatetimeTZDtype):
        frame["time"] = to_utc(frame["time"], start=start, end=end)
    if frame.attrs.get("unparsed_time") and warn:
        log.warning("%s: the time of %d line(s) did not read (e.g. %r): they have no time, so "
                    "no window clips them; give the format time_format=", label,
                    frame.attrs["unparsed_time"], frame.attrs.get("time_example"))
    return frame


def _takes(parser: Parser) -> set[str]:
    """Which of the keywords start and end the parser takes."""
    try:
        params = inspect.signature(parser).parameters.values()
    except (TypeError, ValueError):
        return set()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return {"start", "end"}
    return {p.name for p in params} & {"start", "end"}


def _name_of(parser: Parser) -> str:
    for name, known in _REGISTRY.items():
        if known is parser:
            return f"format {name!r}"
    return f"parser {getattr(parser, '__name__', type(parser).__name__)!r}"


# -- shared pieces ----------------------------------------------------------------

def has_pyarrow() -> bool:
    """Whether pyarrow can be imported (it comes with the [dask] extra; without it the
    nginx parser takes its pure-Python path)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def decode(data: bytes) -> str:
    """Text of a log file, its lines joined by '\n' (see ``split_lines``): UTF-8, a bad
    byte becomes U+FFFD rather than an error; each line's final CR and the file's trailing
    newline removed.  (b"" and b"\n" both give "": zero lines and one empty line.)"""
    text = data.decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if text.endswith("\r"):  # the last line, without a newline, ends with a CR
            return text[:-1]
    return text[:-1] if text.endswith("\n") else text


def split_lines(data: bytes) -> list[str]:
    """The file's physical lines: the bytes up to each '\n' (the last line may lack it),
    without one final '\r', as text (a byte that is not UTF-8 becomes U+FFFD).  One row
    per such line, in every parser and engine: that is what line numbers count."""
    text = decode(data)
    return text.split("\n") if text or data else []


def raw_lines(data: bytes) -> list[bytes]:
    """``split_lines`` before decoding: each line's bytes as the file holds them."""
    pieces = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        pieces.pop()
    return [piece[:-1] if piece.endswith(b"\r") else piece for piece in pieces]


def line_array(data: bytes) -> Any:
    """``split_lines`` as an Arrow string array, cut with NumPy over the whole buffer (no
    Python object per line)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if not data:
        return pa.array([], pa.string())
    if b"\r" not in data and len(data) < 2**31 - 1:
        # Every line with its newline, then one code unit off each: no NumPy gather.
        whole = data if data.endswith(b"\n") else data + b"\n"
        breaks = np.flatnonzero(np.frombuffer(whole, dtype=np.uint8) == 10)
        offsets = np.zeros(len(breaks) + 1, dtype=np.int32)
        offsets[1:] = breaks + 1
        array = pa.Array.from_buffers(pa.string(), len(breaks),
                                      [None, pa.py_buffer(offsets), pa.py_buffer(whole)])
        if not _valid_utf8(array):
            return line_array(data.decode("utf-8", errors="replace").encode("utf-8"))
        return pc.utf8_slice_codeunits(array, 0, -1)
    buf = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(buf)]))
    if data.endswith(b"\n"):  # no line after the final newline
        starts, ends = starts[:-1], ends[:-1]
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    ends = ends - cr
    keep = np.ones(len(buf), dtype=bool)
    keep[breaks] = False
    keep[ends[cr]] = False
    payload = buf[keep]
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=offsets[1:])
    kind = pa.large_string() if offsets[-1] >= 2**31 else pa.string()
    offsets = offsets if kind == pa.large_string() else offsets.astype(np.int32)
    array = pa.Array.from_buffers(kind, len(starts), [None, pa.py_buffer(offsets),
                                                      pa.py_buffer(payload)])
    if not _valid_utf8(array):  # replace the bad bytes as Python's decoder does
        return line_array(data.decode("utf-8", errors="replace").encode("utf-8"))
    return array


def _valid_utf8(array: Any) -> bool:
    import pyarrow as pa
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def text_series(values: Any) -> pd.Series:
    """Strings (a NumPy object array or an Arrow array) as a pandas ``str`` Series."""
    if isinstance(values, np.ndarray):
        return pd.Series(values, dtype="str")
    return pd.Series(values.to_pandas(), dtype="str")


def extract(data: bytes, body: str, groups: list[str], engine: str
            ) -> tuple[dict[str, pd.Series], np.ndarray, pd.Series]:
    """Match each physical line in full against the regular expression ``body`` (named
    groups ``groups``): ({group: text, '' where the group took part in no match}, matched,
    the lines).  An empty line never matches.

    ``engine`` "pyarrow" runs RE2 over an Arrow array of the lines, "python" runs ``re``
    line by line; ``body`` is written in the syntax both share (no \\d, \\s, \\w or \\b,
    whose meaning differs; every negated class excludes '\\n'), and RE2 takes the same
    submatches as ``re`` (leftmost-first), so both engines give the same rows."""
    if engine == "pyarrow":
        import pyarrow.compute as pc
        array = line_array(data)
        found = pc.extract_regex(array, "^(?:" + body + ")$")
        matched = pc.and_(found.is_valid(), pc.greater(pc.binary_length(array), 0))
        ok = matched.to_numpy(zero_copy_only=False).astype(bool)
        columns = {name: text_series(found.field(name)).where(ok, "") for name in groups}
        return columns, ok, text_series(array)
    pattern = re.compile("(?:" + body + ")")
    lines = split_lines(data)
    full = pattern.fullmatch
    nothing = ("",) * len(groups)
    rows = [m.groups("") if line and (m := full(line)) else nothing for line in lines]
    ok = np.fromiter((r is not nothing for r in rows), dtype=bool, count=len(rows))
    index = [pattern.groupindex[name] - 1 for name in groups]
    cols = list(zip(*rows)) if rows else [()] * pattern.groups
    columns = {name: pd.Series(np.array(cols[i], dtype=object), dtype="str")
               for name, i in zip(groups, index)}
    return columns, ok, pd.Series(lines, dtype="str")


# Time forms read without being told (time_format= for the others), tried in this order
# on the strings the earlier ones left: ISO 8601 (a comma before the fraction too), the
# access-log form, ctime's, and syslog's without a year.
TIME_FORMS = ("%d/%b/%Y:%H:%M:%S %z", "%a %b %d %H:%M:%S %Y", "%a %b %d %H:%M:%S.%f %Y")
_COMMA_FRACTION = re.compile(r"^(.*[0-9]{2}:[0-9]{2}:[0-9]{2}),([0-9]+)")
_NO_YEAR = re.compile(r"^[A-Z][a-z]{2} {1,2}[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")
_EPOCH_TEXT = re.compile(r"^[0-9]{9,19}(?:\.[0-9]+)?$")


def to_utc(values: Any, time_format: str | None = None, start: pd.Timestamp | None = None,
           end: pd.Timestamp | None = None) -> pd.Series:
    """Times as UTC timestamps.  Numbers are epoch seconds, milliseconds, microseconds or
    nanoseconds (by the column's magnitude); text is read with ``time_format`` when given,
    else as ISO 8601 (any offset; naive is UTC; ``2015-10-18 18:01:47,978`` too),
    ``17/May/2015:10:05:03 +0000``, ctime's ``Sun Dec 04 04:47:44 2005`` (brackets
    around it ignored), syslog's ``Jun 14 15:16:01`` (the year nearest the file's
    [``start``, ``end``]) or epoch digits.  NaT where none reads; each distinct text is
    read once."""
    series = pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").astype(TIME)
    if pd.api.types.is_datetime64_dtype(series.dtype):
        return series.dt.tz_localize("UTC").astype(TIME)
    numbers = pd.to_numeric(series.where(series.map(_is_number, na_action="ignore") == True),
                            errors="coerce")  # noqa: E712 (a nullable comparison)
    result = pd.Series(pd.NaT, index=series.index, dtype=TIME)
    if numbers.notna().any():
        result[numbers.notna()] = _epoch(numbers[numbers.notna()])
    text = series.notna() & numbers.isna()
    if text.any():
        strings = series[text].astype(str).str.strip()
        codes, distinct = pd.factorize(strings)
        parsed = _read_times(pd.Series(distinct, dtype=object), time_format, start, end)
        values_ = parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
        result[text] = pd.Series(values_[codes], index=strings.index).dt.tz_localize("UTC")
    return result


def _epoch(numbers: pd.Series) -> pd.Series:
    """Epoch numbers in the unit their magnitude says (up to 1e11 seconds, i.e. the year
    5138; then ms, us, ns)."""
    biggest = numbers.abs().max()
    unit = "s" if biggest < 1e11 else "ms" if biggest < 1e14 else "us" if biggest < 1e17 else "ns"
    return pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce").astype(TIME)


def _read_times(text: pd.Series, time_format: str | None, start: pd.Timestamp | None,
                end: pd.Timestamp | None) -> pd.Series:
    """Distinct time strings as UTC (see ``to_utc``)."""
    if time_format is not None:
        return pd.to_datetime(text, format=time_format, utc=True, errors="coerce").astype(TIME)
    iso = text.str.replace(_COMMA_FRACTION, r"\1.\2", regex=True)
    out = pd.to_datetime(iso, format="ISO8601", utc=True, errors="coerce").astype(TIME)
    bare = text.str.strip("[]")
    for form in TIME_FORMS:
        left = out.isna()
        if not left.any():
            return out
        out[left] = pd.to_datetime(bare[left], format=form, utc=True, errors="coerce")
    left = out.isna() & bare.str.match(_NO_YEAR)
    if left.any():
        out[left] = nearest_year(bare[left], "UTC", start, end)
    left = out.isna() & text.str.match(_EPOCH_TEXT)
    if left.any():
        out[left] = _epoch(pd.to_numeric(text[left]))
    return out


def nearest_year(text: pd.Series, where: Any, start: pd.Timestamp | None,
                 end: pd.Timestamp | None) -> pd.Series:
    """Times without a year or zone ("Dec 31 20:00:00", RFC 3164's) as UTC: local times in
    the zone ``where``, each in the year (of the three around the start's) that puts it
    nearest to [start, end] (now, without a start).  Each distinct text is worked out once."""
    low = start if start is not None else pd.Timestamp.now(tz="UTC")
    high = max(end, low) if end is not None else low
    codes, distinct = pd.factorize(text)
    year = low.tz_convert(where).year
    best = pd.Series(pd.NaT, index=range(len(distinct)), dtype=TIME)
    gap = pd.Series(np.inf, index=best.index)
    for candidate in (year, year - 1, year + 1):  # ties go to the start's own year
        naive = pd.to_datetime(pd.Series(f"{candidate} " + pd.Index(distinct, dtype=object)),
                               format="%Y %b %d %H:%M:%S", errors="coerce")
        local = naive.dt.tz_localize(where, ambiguous=np.ones(len(naive), dtype=bool),
                                     nonexistent="shift_forward")
        utc = local.dt.tz_convert("UTC").astype(TIME)
        away = ((low - utc).clip(lower=pd.Timedelta(0)) + (utc - high).clip(
            lower=pd.Timedelta(0))).dt.total_seconds()
        closer = away.notna() & (away < gap)
        best, gap = best.where(~closer, utc), gap.where(~closer, away)
    values = best.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    out = np.full(len(codes), np.datetime64("NaT", "ns"))
    hit = codes >= 0
    out[hit] = values[codes[hit]]
    return pd.Series(out, index=text.index).dt.tz_localize("UTC")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def infer_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of Python values typed: all whole numbers -> Int64, all numbers -> float64,
    all text -> str; anything else (mixed, nested) stays as it is."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object:
            continue
        present = column.dropna()
        kinds = {type(v) for v in present}
        if not kinds:
            continue
        if kinds <= {int} or kinds <= {int, np.int64}:
            frame[name] = column.astype("Int64")
        elif all(_is_number(v) for v in present):
            frame[name] = column.astype("float64")
        elif kinds == {str}:
            frame[name] = column.astype("str")
    return frame


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"line_number": pd.Series(dtype="int64"),
                         **{name: pd.Series(dtype=dtype) for name, dtype in columns.items()},
                         "unparsed": pd.Series(dtype="str")})


def _finish(frame: pd.DataFrame, ok: np.ndarray, raw: Callable[[np.ndarray], list[str]],
            columns: dict[str, str]) -> pd.DataFrame:
    """Null the parsed columns of the lines that failed (``~ok``), put their raw text in
    ``unparsed`` and give every column its type."""
    bad = ~ok
    out = {"line_number": frame["line_number"].to_numpy(dtype="int64")}
    for name, dtype in columns.items():
        column = frame[name]
        if bad.any():
            column = column.where(ok)
        out[name] = column.astype(dtype) if str(column.dtype) != dtype else column
    unparsed = pd.Series(pd.NA, index=frame.index, dtype="str")
    if bad.any():
        unparsed[bad] = raw(frame["line_number"].to_numpy()[bad])
    out["unparsed"] = unparsed
    result = pd.DataFrame(out)
    result.attrs = {**frame.attrs, "unparsed": int(bad.sum())}
    return result


# -- column helpers the parsers share -------------------------------------------

def parse_times(text: pd.Series, fmt: str) -> pd.Series:
    """Times in ``fmt`` (with its %z offset) as UTC; NaT where one does not parse.  Each
    distinct string is parsed once: a busy log repeats every second many times."""
    codes, distinct = pd.factorize(text.where(text != ""))
    parsed = pd.to_datetime(pd.Index(distinct, dtype=object), format=fmt, utc=True,
                            errors="coerce").astype(TIME)
    values = np.full(len(codes), np.datetime64("NaT", "ns"))
    hit = codes >= 0
    values[hit] = parsed.tz_localize(None).to_numpy()[codes[hit]]
    return pd.Series(values, index=text.index).dt.tz_localize("UTC")


def to_ints(text: pd.Series) -> pd.Series:
    """Digit strings (the expression checked them) as Int64, '' and '-' null."""
    digits = text.where((text != "") & (text != "-"))
    if has_pyarrow():  # Arrow's cast, not a Python int per value
        return digits.astype("int64[pyarrow]").astype("Int64")
    return pd.to_numeric(digits).astype("Int64")


def dash_null(text: pd.Series) -> pd.Series:
    return text.where(text != "-")


def unescape(text: pd.Series) -> pd.Series:
    r"""Apache's escapes in quoted fields: \" is a quote, \\ a backslash."""
    if not text.str.contains("\\", regex=False).any():
        return text
    return text.str.replace(r'\\(["\\])', r"\1", regex=True)


# -- lines ------------------------------------------------------------------------

def lines(data: bytes) -> pd.DataFrame:
    """Each line as it is, in ``line``."""
    rows = split_lines(data)
    return pd.DataFrame({"line_number": np.arange(1, len(rows) + 1, dtype="int64"),
                         "line": pd.Series(rows, dtype="str")})


def _joined_reads_more(frame: pd.DataFrame, pair: list[Any], time_format: str | None,
                       start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
    """Whether "date time" reads on more of the first rows than the time column alone."""
    head = frame[pair].head(100).dropna()
    joined = head.astype("str").agg(" ".join, axis=1)
    return bool(to_utc(joined, time_format, start, end).notna().sum()
                > to_utc(head[pair[1]], time_format, start, end).notna().sum())


def _time_first(frame: pd.DataFrame, given: str | list[str] | None, fmt: str,
                time_format: str | None = None, start: pd.Timestamp | None = None,
                end: pd.Timestamp | None = None) -> pd.DataFrame:
    """The event time first, as ``time`` (UTC).  Its column is ``given`` (several, e.g.
    "Date,Time", are joined with a space), else on each row the first of TIME_NAMES that
    it has (lines of one file may say ``time`` or ``ts``); found case-insensitively.
    When every present value reads, the text columns that gave it go; otherwise they stay
    (as ``time_text`` if one was called time) and ``attrs["unparsed_time"]`` counts the
    lines whose time did not read."""
    wanted = ([n.strip() for n in given.split(",")] if isinstance(given, str) else
              list(given) if given is not None else None)
    lowered = {str(c).lower(): c for c in reversed(list(frame.columns))}

    def find(name: str) -> Any:
        return name if name in frame.columns else lowered.get(name.lower())

    if wanted is not None:
        names = [find(n) for n in wanted]
        if None in names and len(frame):
            missing = wanted[names.index(None)]
            raise InvalidInput("format", f"{fmt}: no column {missing!r} for the time; columns: "
                                         + ", ".join(map(str, frame.columns)))
        if None in names:
            return frame
    else:
        names = list(dict.fromkeys(find(n) for n in TIME_NAMES if find(n) is not None))
        if not names:
            return frame
        pair = [find("date"), find("time")]
        if None not in pair and _joined_reads_more(frame, pair, time_format, start, end):
            names, wanted = pair, pair  # a Date column and a Time of day: one time
    if wanted is not None and len(names) > 1:
        raw = frame[names].astype("str").agg(" ".join, axis=1).where(
            frame[names].notna().all(axis=1))
        used = names
    else:
        raw, taken, used = frame[names[0]], frame[names[0]].notna(), names[:1]
        for name in names[1:]:  # the first a row has; a column goes only if all of it was used
            column = frame[name]
            raw = raw.where(raw.notna(), column)
            if not (column.notna() & taken).any():
                used.append(name)
            taken = taken | column.notna()
    time = to_utc(raw, time_format, start, end)
    present = raw.notna() & (raw.astype("str").str.strip() != "")
    failed = present & time.isna()
    if failed.any():
        frame.attrs["unparsed_time"] = int(failed.sum())
        frame.attrs["time_example"] = str(raw[failed].iloc[0])
    else:
        frame = frame.drop(columns=used, errors="ignore")
    frame = frame.rename(columns={"time": "time_text"})
    frame.insert(0, "time", time)
    return frame
