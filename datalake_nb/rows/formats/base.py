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

import inspect
import re
from typing import Any, Callable

import numpy as np
import pandas as pd

from ...core.errors import InvalidInput
from ...core.metadata import NAME_RE

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
        raise InvalidInput("format", f"unknown format {name!r}; known: {', '.join(names())} "
                                     "(datalake_nb.rows.formats.register adds one)") from None


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
          label: str = "the file", end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Run a parser and bring its answer into the shared shape (line_number first,
    ``time`` UTC).  A parser that raises or returns something else is InvalidInput.
    ``start`` and ``end``: the file's time range, for parsers that take those keywords."""
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
        frame["time"] = to_utc(frame["time"])
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
    if not data:
        return pa.array([], pa.string())
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
    payload = buf[keep] if len(breaks) or cr.any() else buf
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=offsets[1:])
    kind = pa.large_string() if offsets[-1] >= 2**31 else pa.string()
    offsets = offsets if kind == pa.large_string() else offsets.astype(np.int32)
    array = pa.Array.from_buffers(kind, len(starts), [None, pa.py_buffer(offsets),
                                                      pa.py_buffer(payload)])
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:  # not UTF-8: replace the bad bytes as Python's decoder does
        return line_array(data.decode("utf-8", errors="replace").encode("utf-8"))
    return array


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


def to_utc(values: Any) -> pd.Series:
    """Times as UTC timestamps: ISO 8601 text (any offset, naive taken as UTC), or numbers
    of seconds (milliseconds when they are larger than 1e11) since the epoch."""
    series = pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").astype(TIME)
    if pd.api.types.is_datetime64_dtype(series.dtype):
        return series.dt.tz_localize("UTC").astype(TIME)
    numbers = pd.to_numeric(series.where(series.map(_is_number, na_action="ignore") == True),
                            errors="coerce")  # noqa: E712 (a nullable comparison)
    result = pd.Series(pd.NaT, index=series.index, dtype=TIME)
    if numbers.notna().any():
        unit = "ms" if numbers.abs().max() > 1e11 else "s"
        result[numbers.notna()] = pd.to_datetime(numbers[numbers.notna()], unit=unit, utc=True)
    text = series.notna() & numbers.isna()
    if text.any():
        result[text] = pd.to_datetime(series[text].astype(str), format="ISO8601", utc=True,
                                      errors="coerce")
    return result


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
    result.attrs["unparsed"] = int(bad.sum())
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


def _time_first(frame: pd.DataFrame, given: str | None, fmt: str) -> pd.DataFrame:
    """Rename the time column to ``time`` (typed UTC) and put it first."""
    if given is not None and given not in frame.columns and len(frame):
        raise InvalidInput("format", f"{fmt}: no column {given!r} for the time; columns: "
                                     + ", ".join(map(str, frame.columns)))
    name = given if given in frame.columns else next(
        (n for n in TIME_NAMES if n in frame.columns), None)
    if name is None:
        return frame
    time = to_utc(frame[name])
    frame = frame.drop(columns=[name, "time"], errors="ignore")
    frame.insert(0, "time", time)
    return frame
