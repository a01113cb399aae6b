"""Records <-> pandas DataFrames (pandas is imported only when a frame is made)."""
from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Iterable

from .core.metadata import Record

if TYPE_CHECKING:
    import pandas as pd

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
