"""How ``%load_ext datalake_nb`` shows record frames in a notebook: what people read first
(time span, what, where, data-version, size as ``1.5 KiB``, work_id), the long machine
columns (id, hash, url, ...) one click away, no cell wrapped, and the totals under the
table as the CLI prints them ("3 file(s), 1.5 KiB").  Only the display changes: the frame
keeps every column, ``size`` stays integers (sums, filters and sorting work).

A record frame is a DataFrame with the ``what``, ``where``, ``size`` and ``hash`` columns
of ``Lake.list()`` (also after filtering or sorting it).  The formatters are registered
by name, so pandas is not imported until a frame is shown; other frames show as usual.
Set ``datalake_nb.notebook.display.ALL_COLUMNS = True`` to show every column in the table
(and in the text view).
"""
from __future__ import annotations

import html
import re
from typing import Any

from ..output import human_size, totals

RECORD_COLUMNS = {"what", "where", "size", "hash"}
# What people read, in this order (those the frame has); MACHINE columns are folded away.
LEADING = ["start", "end", "what", "where", "data-version", "size", "work_id"]
MACHINE = ["version", "ext", "id", "hash", "url"]
ALL_COLUMNS = False  # a setting: True shows the machine columns in the table too
# DataFrame's __module__: "pandas" from pandas 3, "pandas.core.frame" before
_FRAMES = [("pandas", "DataFrame"), ("pandas.core.frame", "DataFrame")]
_NOWRAP = 'style="white-space: nowrap"'


def is_record_frame(frame: Any) -> bool:
    return RECORD_COLUMNS <= set(frame.columns) and str(frame["size"].dtype) in (
        "Int64", "int64")


def _missing(value: Any) -> bool:
    return value is None or value != value  # None, NaN, NaT, pd.NA


def _size(value: Any) -> str:
    return "" if _missing(value) else human_size(value)


def _blank(value: Any) -> str:
    return "-" if _missing(value) else str(value)


def _time(value: Any) -> str:
    """A UTC timestamp to the millisecond, without the '+00:00' every row would repeat."""
    if _missing(value):
        return "-"
    if not hasattr(value, "strftime"):
        return str(value)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _readable(frame: Any, columns: list[str]) -> Any:
    """A copy of ``columns`` of ``frame`` with sizes, times and empty work ids as text
    (pandas would show a missing value as NaN whatever the formatter)."""
    shown = frame[columns].copy()
    texts = {"size": _size, "work_id": _blank, "data-version": _blank}
    for column in ("start", "end"):
        if column in columns and str(frame[column].dtype).startswith("datetime64"):
            texts[column] = _time
    for column, text in texts.items():
        if column in columns:
            shown[column] = frame[column].astype(object).map(text)
    return shown


def shown_columns(frame: Any) -> tuple[list[str], list[str]]:
    """(the columns of the table, the machine columns folded away) of a record frame."""
    columns = [str(c) for c in frame.columns]
    lead = [c for c in LEADING if c in columns]
    rest = [c for c in columns if c not in lead]
    if ALL_COLUMNS:
        return lead + rest, []
    return lead + [c for c in rest if c not in MACHINE], [c for c in rest if c in MACHINE]


def footer(frame: Any) -> str:
    """'N file(s), X KiB' (times in UTC), as the CLI's list ends."""
    size = int(frame["size"].fillna(0).sum()) if len(frame) else 0
    return totals(len(frame), size) + " (times in UTC)"


def _table_html(frame: Any, columns: list[str]) -> str:
    import pandas as pd
    option = pd.get_option
    text = _readable(frame, columns).to_html(notebook=True, bold_rows=True,
                         max_rows=option("display.max_rows"),
                         max_cols=option("display.max_columns"),
                         show_dimensions=False)
    return re.sub(r"<(td|th)([ >])", rf"<\1 {_NOWRAP}\2", text)  # no cell wraps


def is_grep_frame(frame: Any) -> bool:
    """A frame of Lake.grep (its ``line`` shown whole: the status and path are at its end)."""
    return {"line", "line_number"} <= set(map(str, frame.columns))


GREP_LEADING = ["time", "where", "what", "line_number", "match"]


def _grep_shown(frame: Any) -> Any:
    """A grep frame as shown: time, where, what, line_number (match), the other columns,
    the line last (it takes the width that is left); the file's long id is left out."""
    columns = [str(c) for c in frame.columns]
    lead = [c for c in GREP_LEADING if c in columns]
    rest = [c for c in columns if c not in lead and c not in ("line", "id")]
    return frame[lead + rest + ["line"]]


def _grep_footer(frame: Any) -> str:
    files = frame["id"].nunique() if "id" in frame.columns else 0
    return (f"{len(frame)} line(s) from {files} file(s)"
            + ("; each file's id: the frame's id column" if "id" in frame.columns else ""))


def _grep_html(frame: Any) -> str:
    """The lines whole, each wrapped in its cell (left-aligned, as text reads); the other
    cells do not wrap; the file ids left out (they are in the frame)."""
    import pandas as pd
    shown = _grep_shown(frame)
    with pd.option_context("display.max_colwidth", None):
        text = shown._repr_html_()
    styles = ['style="white-space: pre-wrap; text-align: left; min-width: 30em"'
              if str(c) == "line" else _NOWRAP for c in shown.columns]

    def row(match: Any) -> str:
        cells = iter(styles)
        return re.sub(r"<td>", lambda _: f"<td {next(cells, _NOWRAP)}>", match.group(0))

    return (re.sub(r"<tr>.*?</tr>", row, text, flags=re.S)
            + f'\n<div style="color: #555">{html.escape(_grep_footer(frame))}</div>')


def frame_html(frame: Any) -> str | None:
    """A record frame's HTML: the readable columns, the machine ones behind a click, the
    totals; a grep frame's with its lines whole (pandas' own HTML for any other frame)."""
    if is_grep_frame(frame):
        return _grep_html(frame)
    if not is_record_frame(frame):
        return frame._repr_html_()
    lead, folded = shown_columns(frame)
    parts = [_table_html(frame, lead),
             f'<div style="color: #555">{html.escape(footer(frame))}</div>']
    if folded:
        parts.append(f"<details><summary>all {len(frame.columns)} columns (with "
                     f"{html.escape(', '.join(folded))})</summary>"
                     f"{_table_html(frame, lead + folded)}</details>")
    return "\n".join(parts)


def frame_text(frame: Any, printer: Any, cycle: bool) -> None:
    """The same for the plain-text view (a terminal, nbval's comparison): the readable
    columns, then a line with the totals and the columns left out."""
    if is_record_frame(frame):
        from pandas.io.formats.format import get_dataframe_repr_params
        lead, folded = shown_columns(frame)
        params = {**get_dataframe_repr_params(), "show_dimensions": False,
                  "max_cols": None, "line_width": None}  # the readable columns fit a line
        text = _readable(frame, lead).to_string(**params)
        text += "\n" + footer(frame)
        if folded:
            text += f"; not shown: {', '.join(folded)} (all columns: frame.columns)"
    elif is_grep_frame(frame):
        import pandas as pd
        with pd.option_context("display.max_colwidth", None):
            text = repr(_grep_shown(frame)) + "\n" + _grep_footer(frame)
    else:
        text = repr(frame)
    with printer.group():  # line by line, as IPython prints any multi-line repr
        for number, line in enumerate(text.splitlines()):
            if number:
                printer.break_()
            printer.text(line)


def register(shell: Any) -> None:
    formatters = shell.display_formatter.formatters
    for frame_type in _FRAMES:
        formatters["text/html"].for_type_by_name(*frame_type, frame_html)
        formatters["text/plain"].for_type_by_name(*frame_type, frame_text)


def unregister(shell: Any) -> None:
    for mime, printer in (("text/html", frame_html), ("text/plain", frame_text)):
        formatter = shell.display_formatter.formatters[mime]
        try:
            import pandas as pd
            if formatter.lookup_by_type(pd.DataFrame) is printer:
                formatter.pop(pd.DataFrame)
        except (ImportError, KeyError):
            pass
        for frame_type in _FRAMES:
            if formatter.deferred_printers.get(frame_type) is printer:
                formatter.deferred_printers.pop(frame_type)
