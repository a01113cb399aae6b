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



# The table's columns: (heading, the text of a row's cell, right-aligned).  The table is
# the selection list itself (one option per file), so a file shows once; the long machine
# columns (id, hash, url) stay in .results.
COLUMNS: list[tuple[str, Any, bool]] = [
    ("#", lambda i, row: str(i), True),
    ("start (UTC)", lambda i, row: stamp(row["start"]), False),
    ("end (UTC)", lambda i, row: stamp(row["end"]), False),
    ("what", lambda i, row: str(row["what"]), False),
    ("where", lambda i, row: str(row["where"]), False),
    ("data-version", lambda i, row: _text(row["data-version"]), False),
    ("ext", lambda i, row: _text(row["ext"]), False),
    ("size", lambda i, row: human_size(0 if pd.isna(row["size"]) else row["size"]), True),
    ("work_id", lambda i, row: _text(row["work_id"]), False),
]
PAD = "\u00a0"  # a no-break space: a browser keeps it, so the columns line up
GAP = PAD * 2
# Monospace for the heading and the list, so the padded cells form columns.
TABLE_CSS = ("<style>.datalake-picker .datalake-rows select, .datalake-picker .datalake-table-head"
             " {font: 400 12px/1.35 var(--jp-code-font-family, monospace) !important;"
             " letter-spacing: 0 !important;}"
             ".datalake-table-head {white-space: pre; overflow: hidden; padding-left: 3px; color: var("
             "--jp-ui-font-color1, #333); border-bottom: 1px solid var(--jp-border-color2, #ccc);"
             " margin-bottom: 2px;}</style>")


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def table_rows(frame: pd.DataFrame) -> tuple[str, list[str]]:
    """(heading, one line per row): the frame's files as aligned columns of text, the
    options of the picker's selection list."""
    cells = [[cell(i, row) for _, cell, _ in COLUMNS]
             for i, row in enumerate(frame.to_dict("records"))]
    widths = [max([len(name)] + [len(line[n]) for line in cells])
              for n, (name, _, _) in enumerate(COLUMNS)]

    def line(texts: list[str]) -> str:
        padded = [(text.rjust(width) if right else text.ljust(width)).replace(" ", PAD)
                  for text, width, (_, _, right) in zip(texts, widths, COLUMNS)]
        return GAP.join(padded).rstrip(PAD)

    return line([name for name, _, _ in COLUMNS]), [line(texts) for texts in cells]


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
