"""How ``%load_ext datalake_nb`` shows record frames in a notebook: sizes read as
``1.5 KiB`` while the ``size`` column stays integers (sums, filters and sorting work).

A record frame is a DataFrame with the ``what``, ``where``, ``size`` and ``hash`` columns
of ``Lake.list()`` (also after filtering or sorting it).  The formatters are registered
by name, so pandas is not imported until a frame is shown; other frames show as usual.
"""
from __future__ import annotations

from typing import Any

from ..output import human_size

RECORD_COLUMNS = {"what", "where", "size", "hash"}
# DataFrame's __module__: "pandas" from pandas 3, "pandas.core.frame" before
_FRAMES = [("pandas", "DataFrame"), ("pandas.core.frame", "DataFrame")]


def is_record_frame(frame: Any) -> bool:
    return RECORD_COLUMNS <= set(frame.columns) and str(frame["size"].dtype) in (
        "Int64", "int64")


def _size(value: Any) -> str:
    return "" if value is None or value != value else human_size(value)


def frame_html(frame: Any) -> str | None:
    """A record frame's HTML with human sizes (pandas' own for any other frame)."""
    if not is_record_frame(frame):
        return frame._repr_html_()
    import pandas as pd
    options = pd.get_option
    return frame.to_html(formatters={"size": _size}, notebook=True, bold_rows=True,
                         max_rows=options("display.max_rows"),
                         max_cols=options("display.max_columns"),
                         show_dimensions=options("display.show_dimensions"))


def frame_text(frame: Any, printer: Any, cycle: bool) -> None:
    """The same for the plain-text view (a terminal, nbval's comparison)."""
    if is_record_frame(frame):
        from pandas.io.formats.format import get_dataframe_repr_params
        text = frame.to_string(formatters={"size": _size}, **get_dataframe_repr_params())
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
