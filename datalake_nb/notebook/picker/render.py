"""What the picker shows, as text and HTML: pure functions of the frame, paths or error
they are given (the widget puts them into its controls)."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from ...core import times
from ...core.errors import DatalakeError
from ...output import human_size

MESSAGE_MAX = 300  # characters of an error message shown; the rest is cut
PATHS_SHOWN = 10    # more fetched paths than this are collapsed under one line
PATHS_LISTED = 1000  # at most this many paths are put into the page (all are in .paths)


def stamp(value: Any) -> str:
    return "" if value is None or pd.isna(value) else value.strftime("%Y-%m-%d %H:%M:%S")


def short(exc: BaseException) -> str:
    """One line for people: our own errors say what is wrong; others get their type."""
    text = " ".join(str(exc).split())
    if not isinstance(exc, DatalakeError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= MESSAGE_MAX else text[:MESSAGE_MAX - 1] + "…"


def utc(value: Any) -> str:
    return "" if value is None else times.iso(times.to_ms(value))[:19].replace("T", " ")



def table_html(frame: pd.DataFrame, note: str) -> str:
    if not len(frame):
        return ""
    shown = pd.DataFrame({
        "#": range(len(frame)),
        "start (UTC)": [stamp(v) for v in frame["start"]],
        "end (UTC)": [stamp(v) for v in frame["end"]],
        "what": frame["what"].to_numpy(), "where": frame["where"].to_numpy(),
        "size": [human_size(0 if pd.isna(v) else v) for v in frame["size"]],
        "work_id": frame["work_id"].fillna("").to_numpy(),
        "id": frame["id"].to_numpy(),
    })
    table = shown.to_html(index=False, escape=True, border=0, na_rep="")
    tail = f"<p><i>{html.escape(note)}</i></p>" if note else ""
    return f'<div style="max-height:24em;overflow:auto">{table}</div>{tail}'



def row_label(i: int, row: Any) -> str:
    start, end = stamp(row.start), stamp(row.end)
    if end and end[:10] == start[:10]:
        end = end[11:]
    span = f"{start} → {end}" if end else f"{start} (instant)"
    size = human_size(0 if pd.isna(row.size) else row.size)
    work = f"  work {row.work_id}" if isinstance(row.work_id, str) else ""
    return f"{i}: {span}  {row.what} @ {row.where}  {size}{work}"



def paths_html(paths: list[Path]) -> str:
    """A few paths one per line; many collapsed under '300 files in DEST: show'."""
    if not paths:
        return ""
    listed = "\n".join(str(p) for p in paths[:PATHS_LISTED])
    if len(paths) > PATHS_LISTED:
        listed += f"\n… and {len(paths) - PATHS_LISTED:,} more (all are in .paths)"
    block = f'<pre style="max-height:16em;overflow:auto">{html.escape(listed)}</pre>'
    if len(paths) <= PATHS_SHOWN:
        return block
    folder = common_folder(paths)
    return (f"<details><summary>{len(paths):,} files in {html.escape(folder)}: show"
            f"</summary>{block}</details>")



def common_folder(paths: list[Path]) -> str:
    parts = [p.parent.parts for p in paths]
    common = parts[0]
    for other in parts[1:]:
        n = 0
        while n < min(len(common), len(other)) and common[n] == other[n]:
            n += 1
        common = common[:n]
    return str(Path(*common)) if common else "."
