"""How records and results look to people, shared by the CLI, ``%lake`` and the picker:
human sizes, the text table, the columns of the record table, CSV and JSON lines.

No I/O beyond the stream a caller passes; pandas is not needed here.
"""
from __future__ import annotations

import csv
import json
from typing import Any, Iterable, Sequence, TextIO

from .core import times
from .core.metadata import Record
from .frame import COLUMNS, record_row

# The record table for people (CLI `list`); the picker shows the same fields in HTML.
RECORD_HEADER = ["ID", "WHAT", "WHERE", "START", "END", "SIZE", "WORK_ID"]


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
    return [rec.id, rec.what, rec.where, times.iso(rec.start),
            "-" if rec.end is None else times.iso(rec.end), human_size(rec.size), rec.work_id or "-"]


def records_table(records: Sequence[Record]) -> str:
    """The record table and a total line ('3 file(s), 1.5 KiB')."""
    total = f"{len(records)} file(s), {human_size(sum(r.size or 0 for r in records))}"
    if not records:
        return total
    return table([record_cells(r) for r in records], RECORD_HEADER) + "\n" + total


def write_csv(records: Iterable[Record], out: TextIO) -> None:
    """CSV with the DataFrame's columns (frame.COLUMNS), one row per record."""
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    writer.writerows(record_row(rec) for rec in records)


def json_line(rec: Record) -> str:
    """The seed's JSON record on one line."""
    return json.dumps(rec.to_json())
