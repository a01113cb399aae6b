"""How records look outside the lake, shared by the API, the CLI, ``%lake`` and the picker:
the record table's columns, its DataFrame (and a row back to its fields), human sizes,
the text table, CSV and JSON lines.

No I/O beyond the stream a caller passes; pandas is imported only to build a DataFrame.
"""
from __future__ import annotations

import csv
import datetime
import json
from typing import TYPE_CHECKING, Any, Iterable, Sequence, TextIO

from .core import times
from .core.metadata import Record

if TYPE_CHECKING:
    import pandas as pd

# The record table for people (CLI `list`); the picker shows the same fields in HTML.
RECORD_HEADER = ["ID", "WHAT", "WHERE", "DATA-VERSION", "START", "END", "SIZE", "WORK_ID"]


def human_size(size: float | None) -> str:
    """1536 -> '1.5 KiB' (bytes as whole numbers)."""
    value = float(size or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """Left-aligned columns, two spaces apart, header first."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
                     for row in [header, *rows])


def record_cells(rec: Record) -> list[str]:
    """One record as the cells of RECORD_HEADER."""
    return [rec.id, rec.what, rec.where, rec.data_version, times.iso(rec.start),
            "-" if rec.end is None else times.iso(rec.end), human_size(rec.size), rec.work_id or "-"]


def totals(count: int, size: int) -> str:
    """The total line under a listing: '3 file(s), 1.5 KiB'."""
    return f"{count} file(s), {human_size(size)}"


def records_table(records: Sequence[Record]) -> str:
    """The record table and a total line ('3 file(s), 1.5 KiB')."""
    total = totals(len(records), sum(r.size or 0 for r in records))
    if not records:
        return total
    return table([record_cells(r) for r in records], RECORD_HEADER) + "\n" + total


def same_bytes_remark(rows: Iterable[tuple[str, str, str, str]]) -> str | None:
    """One line when a listing holds the same bytes (hash) under more than one data
    version, as when one file was pushed twice with different --data-version (a demo and
    a notebook sharing a lake): counts and reads of such a listing see those lines twice.
    ``rows``: (hash, data version, where, what) per record; None when all is well."""
    versions: dict[str, dict[str, tuple[str, str]]] = {}
    for digest, version, where, what in rows:
        versions.setdefault(digest, {})[version] = (where, what)
    doubled = [(names, places) for names, places in versions.items() if len(places) > 1]
    if not doubled:
        return None
    first = doubled[0][1]
    where, what = next(iter(first.values()))
    listed = " and ".join(repr(v) for v in sorted(first))
    more = f" (and {len(doubled) - 1} more)" if len(doubled) > 1 else ""
    return (f"warning: {len(doubled)} file(s) are listed under two or more data versions with "
            f"the same bytes, e.g. {where}/{what} as data-version {listed}{more}: they were "
            "pushed twice, and reading them all counts their lines twice")


def write_csv(records: Iterable[Record], out: TextIO) -> None:
    """CSV with the DataFrame's columns (frame.COLUMNS), one row per record."""
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    writer.writerows(record_row(rec) for rec in records)


def json_line(rec: Record) -> str:
    """The seed's JSON record on one line."""
    return json.dumps(rec.to_json())


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# The seed's JSON record, plus size and url, plus ext (the file's original extension, so a
# row maps back to its record without parsing the URL).  What people read first comes
# first; the long machine values (id, hash, url) last.  CSV output has the same columns.
COLUMNS = ["what", "where", "start", "end", "size", "work_id", "data-version", "version",
           "ext", "id", "hash", "url"]


def record_row(rec: Record) -> dict[str, Any]:
    """One record as a row of COLUMNS (times as epoch ms)."""
    return {**rec.to_json(), "ext": rec.ext}


def to_frame(records: Iterable[Record]) -> "pd.DataFrame":
    """One row per record, times as timezone-aware UTC timestamps."""
    import pandas as pd

    rows = [record_row(rec) for rec in records]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column].astype("Int64"), unit="ms", utc=True)
    frame["size"] = frame["size"].astype("Int64")
    for column in ("id", "what", "where", "work_id", "data-version", "hash", "url", "version",
                   "ext"):
        frame[column] = frame[column].astype(object)
    return frame.reset_index(drop=True)


def row_fields(row: Any) -> dict[str, Any]:
    """The record fields of one DataFrame row (a Series) or JSON dict."""
    def ms(value: Any) -> int | None:
        if value is None or value != value:  # None or NaN/NaT
            return None
        if hasattr(value, "to_pydatetime"):  # a pandas Timestamp, of any unit: through
            value = value.to_pydatetime()  # datetime, which holds every time up to 9999
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            return (value - EPOCH) // datetime.timedelta(milliseconds=1)
        return int(value)

    work_id = row.get("work_id")
    return {
        "what": row["what"], "where": row["where"], "start": ms(row["start"]),
        "end": ms(row.get("end")), "data_version": row["data-version"],
        "work_id": None if work_id is None or work_id != work_id else work_id,
    }
