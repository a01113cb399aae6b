"""nginx's (and Apache's) combined log format.

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
per-line Python call) and a single ``to_datetime`` with an explicit format.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ...core.errors import InvalidInput
from .base import TIME, _empty, _findall, _finish, _line_getter, decode, has_pyarrow

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
