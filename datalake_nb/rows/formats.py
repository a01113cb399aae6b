"""Log formats: parsers that turn a file's bytes into a typed DataFrame, one row per line.

A parser is any callable ``parser(data: bytes) -> pandas.DataFrame``; one that also takes a
keyword ``start`` gets the file's start time (a UTC ``pandas.Timestamp``), which RFC 3164
syslog needs for the year its dates leave out.  ``register(name, parser)`` adds one,
``get(name)`` finds one.  What every built-in returns (and what a user's parser may return):

- ``line_number`` (1-based), else the rows are taken to be the file's lines in order;
- the parsed columns, with the event time always in ``time`` (UTC, tz-aware), integers as
  nullable ``Int64``;
- ``unparsed``: the raw text of a line that did not parse (its parsed columns are then
  null), else null.  No line is ever dropped.

Built-ins: ``lines``, ``nginx`` (combined log format), ``syslog`` (RFC 3164 and 5424),
``jsonl`` and ``csv``.  ``JsonLines(time="when")`` and ``Csv(time=..., sep=...)`` make
variants to register under a name of your own.

The engine, and why: the time goes into parsing text, not into reading it.  ``nginx`` uses
Arrow's CSV reader when pyarrow is installed (it is with the ``[dask]`` extra, and pandas
3 uses it for strings): a space-separated, quote-aware tokenizer in C++ that splits a
whole file at once, followed by vectorised Arrow compute (each distinct time string parsed
once, the request split at its spaces, status and bytes checked and cast in bulk).  The
text columns stay in Arrow buffers (pandas' ``str`` dtype), so no Python object is made
per field: that is what keeps both the time and the memory down, and Arrow releases the
GIL, so ``Lake.read`` parses one file per core in threads.  The measured gain over
per-line ``re`` + ``Series.str.extract`` + ``to_datetime`` is in bench/RESULTS-reading.md.
Without pyarrow it falls back to one ``re.findall`` over the whole decoded file (no
per-line Python call) and a single ``to_datetime`` with an explicit format.  ``syslog``
uses that same whole-file ``findall``; ``jsonl`` one ``json.loads`` per line (a line must
be checked to be an object); ``csv`` the stdlib C reader, which knows each row's line.
"""
from __future__ import annotations

import csv as _csv
import inspect
import io
import json
import re
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..core.errors import InvalidInput
from ..core.metadata import NAME_RE

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


def parse(parser: Parser, data: bytes, start: pd.Timestamp | None = None,
          label: str = "the file") -> pd.DataFrame:
    """Run a parser and bring its answer into the shared shape (line_number first,
    ``time`` UTC).  A parser that raises or returns something else is InvalidInput."""
    try:
        frame = parser(data, start=start) if _takes_start(parser) else parser(data)
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


def _takes_start(parser: Parser) -> bool:
    try:
        params = inspect.signature(parser).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "start" or p.kind is p.VAR_KEYWORD for p in params)


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
    """Text of a log file: UTF-8, a bad byte becomes U+FFFD rather than an error; the
    trailing newline and CRs of CRLF line ends removed."""
    text = data.decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text[:-1] if text.endswith("\n") else text


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


def _line_getter(text_or_data: str | bytes) -> Callable[[np.ndarray], list[str]]:
    def raw(numbers: np.ndarray) -> list[str]:
        text = text_or_data if isinstance(text_or_data, str) else decode(text_or_data)
        lines = text.split("\n")
        return [lines[n - 1] for n in numbers]
    return raw


def _findall(pattern: re.Pattern[str], text: str) -> list[tuple[str, ...]]:
    """One tuple of groups per line (the pattern must match every line: end it with a
    catch-all alternative)."""
    return pattern.findall(text) if text else []


# -- lines ------------------------------------------------------------------------

def lines(data: bytes) -> pd.DataFrame:
    """Each line as it is, in ``line``."""
    text = decode(data)
    rows = text.split("\n") if text or data else []
    return pd.DataFrame({"line_number": np.arange(1, len(rows) + 1, dtype="int64"),
                         "line": pd.Series(rows, dtype="str")})


# -- nginx ------------------------------------------------------------------------

NGINX_COLUMNS = {"remote_addr": "str", "remote_user": "str", "time": TIME, "method": "str",
                 "path": "str", "protocol": "str", "status": "Int64", "bytes": "Int64",
                 "referrer": "str", "user_agent": "str"}
_NGINX_TOKENS = ["remote_addr", "ident", "remote_user", "t", "tz", "request", "status",
                 "bytes", "referrer", "user_agent"]
_NGINX_RE = re.compile(
    r'^(?:(\S+) \S+ (\S+) \[([^\]]*)\] "([^ "]+) ([^ "]+) ([^ "]+)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"'
    r'|(.*))$', re.M)
_NGINX_TIME = "%d/%b/%Y:%H:%M:%S %z"


class Nginx:
    """nginx's (and Apache's) combined log format:

        $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
        "$http_referer" "$http_user_agent"

    A line parses when every field has its form (the request is METHOD PATH PROTOCOL,
    status three digits, bytes digits or '-').  '-' in remote_user, bytes and referrer is
    null.  ``engine``: "auto" (pyarrow when installed), "pyarrow" or "python".
    """

    __name__ = "nginx"

    def __init__(self, engine: str = "auto"):
        if engine not in ("auto", "pyarrow", "python"):
            raise InvalidInput("engine", f"{engine!r}; allowed: auto, pyarrow, python")
        self.engine = engine

    def __call__(self, data: bytes) -> pd.DataFrame:
        if not data:
            return _empty(NGINX_COLUMNS)
        arrow = self.engine == "pyarrow" or (self.engine == "auto" and has_pyarrow())
        return self._arrow(data) if arrow else self._python(data)

    @staticmethod
    def _python(data: bytes) -> pd.DataFrame:
        text = decode(data)
        rows = _findall(_NGINX_RE, text)
        cols = [np.array(c, dtype=object) for c in zip(*rows)]
        ok = cols[10] == ""
        ok &= ~((cols[0] == "") & ok)  # an empty line matched nothing
        frame = pd.DataFrame({
            "line_number": np.arange(1, len(rows) + 1, dtype="int64"),
            "remote_addr": cols[0], "remote_user": _dash_null(cols[1]),
            "time": pd.to_datetime(pd.Series(cols[2]).where(ok, None), format=_NGINX_TIME,
                                   utc=True, errors="coerce"),
            "method": cols[3], "path": cols[4], "protocol": cols[5],
            "status": _ints(cols[6], ok),
            "bytes": _ints(cols[7], ok & (cols[7] != "-")),
            "referrer": _dash_null(cols[8]), "user_agent": cols[9]})
        ok &= frame["time"].notna().to_numpy()
        return _finish(frame, ok, _line_getter(text), NGINX_COLUMNS)

    @staticmethod
    def _arrow(data: bytes) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.compute as pc
        table, invalid = _read_tokens(data, use_threads=True)
        if invalid:  # only a single-threaded read knows the line numbers of bad rows
            table, invalid = _read_tokens(data, use_threads=False)
        # Each distinct time string is parsed once (a busy log repeats every second).
        stamp = pc.binary_join_element_wise(table["t"], table["tz"], " ")
        distinct = pc.unique(stamp)
        parsed = pc.strptime(distinct, format="[" + _NGINX_TIME + "]", unit="s",
                             error_is_null=True)
        # Arrow's strptime rolls 31/Feb over into March: keep a time only when its local
        # date and time print back as written.
        local = pc.utf8_slice_codeunits(distinct, 1, 21)
        again = pc.strftime(pc.strptime(local, format=_NGINX_TIME[:-3], unit="s",
                                        error_is_null=True), format=_NGINX_TIME[:-3])
        parsed = pc.if_else(pc.fill_null(pc.equal(again, local), False), parsed, None)
        time = pc.take(parsed, pc.index_in(stamp, value_set=distinct))
        # METHOD PATH PROTOCOL: three non-empty pieces between single spaces
        pieces = pc.split_pattern(table["request"], " ", max_splits=3)
        three = pc.equal(pc.list_value_length(pieces), 3)
        pieces = pc.if_else(three, pieces, pa.scalar(None, pieces.type))
        method, path, protocol = (pc.list_element(pieces, i) for i in range(3))
        request_ok = pc.and_(three, pc.and_(pc.and_(pc.greater(pc.utf8_length(method), 0),
                                                    pc.greater(pc.utf8_length(path), 0)),
                                            pc.greater(pc.utf8_length(protocol), 0)))
        status_ok = pc.and_(pc.equal(pc.utf8_length(table["status"]), 3),
                            pc.ascii_is_decimal(table["status"]))
        bytes_digits = pc.ascii_is_decimal(table["bytes"])  # false for an empty field
        ok = pc.and_(pc.and_(pc.is_valid(time), pc.fill_null(request_ok, False)),
                     pc.and_(status_ok, pc.or_(bytes_digits, pc.equal(table["bytes"], "-"))))

        def dash_null(column: Any) -> Any:
            return pc.if_else(pc.equal(column, "-"), pa.scalar(None, pa.string()), column)

        out = pa.table({
            "remote_addr": table["remote_addr"], "remote_user": dash_null(table["remote_user"]),
            "time": time, "method": method, "path": path, "protocol": protocol,
            "status": pc.cast(pc.if_else(status_ok, table["status"], None), pa.int64()),
            "bytes": pc.cast(pc.if_else(bytes_digits, table["bytes"], None), pa.int64()),
            "referrer": dash_null(table["referrer"]), "user_agent": table["user_agent"]})
        frame = out.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        frame["time"] = frame["time"].astype(TIME)
        total = len(frame) + len(invalid)
        if invalid:
            skipped = np.array([n for n, _ in invalid], dtype="int64")
            numbers = np.setdiff1d(np.arange(1, total + 1, dtype="int64"), skipped)
        else:
            numbers = np.arange(1, total + 1, dtype="int64")
        frame.insert(0, "line_number", numbers)
        ok_mask = ok.to_numpy(zero_copy_only=False).astype(bool) if len(frame) else \
            np.zeros(0, dtype=bool)
        result = _finish(frame, ok_mask, _line_getter(data), NGINX_COLUMNS)
        if not invalid:
            return result
        extra = result.iloc[:0].reindex(range(len(invalid)))
        extra["line_number"] = [n for n, _ in invalid]
        extra["unparsed"] = pd.Series([t for _, t in invalid], dtype="str")
        merged = pd.concat([result, extra], ignore_index=True)
        merged = merged.sort_values("line_number", kind="stable", ignore_index=True)
        merged["line_number"] = merged["line_number"].astype("int64")
        merged.attrs["unparsed"] = int(merged["unparsed"].notna().sum())
        return merged


def _read_tokens(data: bytes, use_threads: bool) -> tuple[Any, list[tuple[int, str]]]:
    """Arrow's CSV reader splitting nginx lines at spaces outside quotes; the lines with
    another number of fields come back apart, as (line number, text)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    invalid: list[tuple[int, str]] = []

    def on_invalid(row: Any) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    table = pcsv.read_csv(
        pa.BufferReader(data),
        read_options=pcsv.ReadOptions(column_names=_NGINX_TOKENS, use_threads=use_threads,
                                      block_size=16 << 20),
        parse_options=pcsv.ParseOptions(delimiter=" ", quote_char='"', escape_char=False,
                                        double_quote=False, ignore_empty_lines=False,
                                        invalid_row_handler=on_invalid),
        convert_options=pcsv.ConvertOptions(
            column_types={name: pa.string() for name in _NGINX_TOKENS},
            include_columns=[name for name in _NGINX_TOKENS if name != "ident"],
            strings_can_be_null=False, quoted_strings_can_be_null=False))
    return table, invalid


def _ints(values: np.ndarray, valid: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Digit strings (where ``valid``) as a nullable Int64 array."""
    out = np.zeros(len(values), dtype="int64")
    out[valid] = values[valid].astype("int64")
    return pd.arrays.IntegerArray(out, ~valid)


def _dash_null(values: np.ndarray) -> np.ndarray:
    out = values.copy()
    out[out == "-"] = None
    return out


# -- syslog -----------------------------------------------------------------------

SYSLOG_COLUMNS = {"time": TIME, "host": "str", "app": "str", "pid": "Int64", "message": "str"}
_SYSLOG_RE = re.compile(
    r"^(?:"
    # RFC 3164: [<PRI>]Mmm dd hh:mm:ss host app[pid]: message
    r"(?:<\d{1,3}>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d) (\S+) ([^\s\[:]+)"
    r"(?:\[(\d+)\])?: ?(.*)"
    # RFC 5424: <PRI>VERSION TIMESTAMP HOST APP PROCID MSGID SD [MSG]
    r"|<\d{1,3}>\d{1,2} (\S+) (\S+) (\S+) (\S+) \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?"
    r"|(.*))$", re.M)


_MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


class Syslog:
    """RFC 3164 (``Nov  1 09:00:33 host app[pid]: message``, optionally with ``<PRI>``)
    and RFC 5424 (``<PRI>1 2026-11-01T09:00:33.1+02:00 host app pid msgid [sd] message``)
    lines, mixed freely.  5424 times carry their offset and are converted to UTC; 3164
    times have none and are read as UTC, in the year of the file's start (the next year
    for months before the start's, so a file from December into January is right).
    5424's '-' (nil) fields are null."""

    __name__ = "syslog"

    def __call__(self, data: bytes, start: pd.Timestamp | None = None) -> pd.DataFrame:
        if not data:
            return _empty(SYSLOG_COLUMNS)
        text = decode(data)
        rows = _findall(_SYSLOG_RE, text)
        c = [np.array(col, dtype=object) for col in zip(*rows)]
        is3164 = c[0] != ""
        is5424 = (c[7] != "") & ~is3164
        year = (start if start is not None else pd.Timestamp.now(tz="UTC")).year
        month0 = start.month if start is not None else 1
        months = pd.Series(c[0]).map(_MONTHS).fillna(13).to_numpy()
        years = np.where(months < month0, year + 1, year).astype(str).astype(object)
        text3164 = np.where(is3164, years + " " + c[0] + " " + c[1] + " " + c[2], None)
        t3164 = pd.to_datetime(pd.Series(text3164, dtype=object), format="%Y %b %d %H:%M:%S",
                               utc=True, errors="coerce")
        stamp5424 = pd.Series(np.where(is5424 & (c[7] != "-"), c[7], None), dtype=object)
        t5424 = pd.to_datetime(stamp5424, format="ISO8601", utc=True, errors="coerce")
        time = t3164.astype(TIME).where(is3164, t5424.astype(TIME))

        def nil(col: np.ndarray) -> np.ndarray:
            return np.where((col == "-") | (col == ""), None, col)

        pid_text = np.where(is3164, c[5], np.where(is5424, c[10], ""))
        pid_text = np.where(np.char.isdigit(pid_text.astype(str)), pid_text, None)
        message = np.where(is3164, c[6], c[11])
        message = np.array([m[1:] if m.startswith("\ufeff") else m for m in message],
                           dtype=object) if any(m.startswith("\ufeff") for m in message) \
            else message
        frame = pd.DataFrame({
            "line_number": np.arange(1, len(rows) + 1, dtype="int64"),
            "time": time,
            "host": np.where(is3164, c[3], nil(c[8])),
            "app": np.where(is3164, c[4], nil(c[9])),
            "pid": pd.to_numeric(pd.Series(pid_text, dtype=object)),
            "message": message})
        ok = (is3164 & time.notna().to_numpy()) | (is5424 & (time.notna().to_numpy()
                                                            | (c[7] == "-")))
        return _finish(frame, ok, _line_getter(text), SYSLOG_COLUMNS)


# -- JSON lines -------------------------------------------------------------------

class JsonLines:
    """One JSON object per line; its top-level keys become columns (nested values stay
    Python objects).  The event time is the key ``time`` names, else the first of
    time, timestamp, @timestamp, ts, datetime, date that is present; it is renamed
    ``time`` and read as ISO 8601 text or epoch seconds/milliseconds.  A line that is not
    a JSON object (an array, a number, broken JSON) does not parse."""

    __name__ = "jsonl"

    def __init__(self, time: str | None = None):
        self.time = time

    def __call__(self, data: bytes) -> pd.DataFrame:
        text = decode(data)
        loads, objects, good = json.loads, [], []
        rows = text.split("\n") if text or data else []
        for line in rows:
            try:
                value = loads(line)
            except ValueError:
                value = None
            if isinstance(value, dict):
                objects.append(value)
                good.append(True)
            else:
                objects.append({})
                good.append(False)
        ok = np.array(good, dtype=bool)
        frame = pd.DataFrame(objects, index=pd.RangeIndex(len(rows)), dtype=object)
        if "line_number" in frame.columns or "unparsed" in frame.columns:
            frame = frame.rename(columns={"line_number": "_line_number", "unparsed": "_unparsed"})
        frame = _time_first(frame, self.time, "jsonl")
        frame = infer_types(frame)
        frame.insert(0, "line_number", np.arange(1, len(rows) + 1, dtype="int64"))
        columns = {name: str(dtype) for name, dtype in frame.dtypes.items()
                   if name != "line_number"}
        return _finish(frame, ok, lambda n: [rows[i - 1] for i in n], columns)


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


# -- CSV --------------------------------------------------------------------------

class Csv:
    """Comma-separated values with a header line: the header names the columns; numbers
    become Int64 or float, a time column (given, or named like time/timestamp) UTC.  A row
    with another number of fields than the header does not parse."""

    __name__ = "csv"

    def __init__(self, sep: str = ",", time: str | None = None):
        self.sep, self.time = sep, time

    def __call__(self, data: bytes) -> pd.DataFrame:
        text = decode(data)
        reader = _csv.reader(io.StringIO(text, newline=""), delimiter=self.sep)
        try:
            header = next(reader)
        except StopIteration:
            return pd.DataFrame({"line_number": pd.Series(dtype="int64"),
                                 "unparsed": pd.Series(dtype="str")})
        except _csv.Error as exc:
            raise InvalidInput("format", f"csv: the header line is not CSV: {exc}") from None
        width, values, numbers, good = len(header), [], [], []
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except _csv.Error:
                row = []
            numbers.append(line)
            good.append(len(row) == width)
            values.append(row if len(row) == width else [None] * width)
        frame = pd.DataFrame(values, columns=header, dtype=object)
        for name in header:
            converted = pd.to_numeric(frame[name], errors="coerce")
            present = frame[name].notna() & (frame[name] != "")
            if present.any() and converted[present].notna().all():
                whole = (converted[present] % 1 == 0).all() and not frame[name][present].str.contains(
                    r"[.eE]", regex=True).any()
                frame[name] = converted.where(present).astype("Int64" if whole else "float64")
            else:
                frame[name] = frame[name].astype("str")
        frame = _time_first(frame, self.time, "csv")
        frame.insert(0, "line_number", np.array(numbers, dtype="int64"))
        columns = {name: str(dtype) for name, dtype in frame.dtypes.items()
                   if name != "line_number"}
        lines_ = text.split("\n")
        return _finish(frame, np.array(good, dtype=bool),
                       lambda n: [lines_[i - 1] if i <= len(lines_) else "" for i in n], columns)


register("lines", lines)
register("nginx", Nginx())
register("syslog", Syslog())
register("jsonl", JsonLines())
register("csv", Csv())
