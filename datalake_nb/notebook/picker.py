"""LakePicker: choose, look at and fetch log files from a notebook without writing a query.

Built from standard ipywidgets 8 controls only, so it runs wherever widgets do
(JupyterLab, Notebook 7, VS Code, Voila).  Everything it does goes through
``Lake`` (list, catalog, fetch), and what was picked is readable from code —
``.results``, ``.selected``, ``.paths`` are traitlets that can be observed — so
later cells can use it.  Errors are shown inside the widget as one short line.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import io
import logging
from pathlib import Path
from typing import Any, Callable, Iterator

import ipywidgets as widgets
import pandas as pd
import traitlets

from ..core import times
from ..core.errors import DatalakeError, InvalidInput
from ..formatting import human_size
from ..frame import to_frame
from ..lake import Lake
from ..progress import FileCounter

__all__ = ["LakePicker", "QUICK_RANGES"]

_log = logging.getLogger(__name__)
UTC = dt.timezone.utc
QUICK_RANGES: dict[str, dt.timedelta | None] = {
    "last hour": dt.timedelta(hours=1),
    "last day": dt.timedelta(days=1),
    "last week": dt.timedelta(weeks=1),
    "all": None,
}
MESSAGE_MAX = 300  # characters of an error message shown; the rest is cut


def _stamp(value: Any) -> str:
    return "" if value is None or pd.isna(value) else value.strftime("%Y-%m-%d %H:%M:%S")


def _short(exc: BaseException) -> str:
    """One line for people: our own errors say what is wrong; others get their type."""
    text = " ".join(str(exc).split())
    if not isinstance(exc, DatalakeError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= MESSAGE_MAX else text[:MESSAGE_MAX - 1] + "…"


class LakePicker(widgets.VBox):
    """Pick whats, wheres, a time range and a work id; list, select and fetch files.

    ``LakePicker(lake=None)`` uses ``Lake()`` (the configured lake) when no
    lake is given.  Code can drive every control (they are public attributes)
    and call ``do_list()`` / ``do_fetch()`` just as the buttons do.
    """

    results = traitlets.Instance(pd.DataFrame, help="the files the last List found (list() columns)")
    selected = traitlets.Instance(pd.DataFrame, help="the rows chosen in .rows (a slice of .results)")
    paths = traitlets.List(traitlets.Instance(Path), help="local paths of the last Fetch")
    max_rows = traitlets.Int(200, help="rows shown in the table and selectable in .rows")

    @traitlets.default("results")
    def _no_results(self) -> pd.DataFrame:
        return to_frame([])

    @traitlets.default("selected")
    def _nothing_selected(self) -> pd.DataFrame:
        return to_frame([])

    def __init__(self, lake: Lake | None = None, *, max_rows: int = 200,
                 quick: str | None = "last day", **kwargs: Any):
        super().__init__(**kwargs)
        self.max_rows = max_rows
        self._catalog: dict[str, list[str]] = {}
        self._quick_setting = False     # True while a quick range writes start/end
        self._timeline_stale = True
        self._query: dict[str, Any] = {}
        self._syncing_rows = False      # True while new results replace the rows' options

        self.message = widgets.HTML()
        self.message.add_class("datalake-message")
        self.what = widgets.SelectMultiple(description="what", rows=6,
                                           tooltip="none chosen: every what")
        self.what.add_class("datalake-what")
        self.where = widgets.SelectMultiple(description="where", rows=6,
                                            tooltip="narrowed to the chosen whats; none chosen: every where")
        self.where.add_class("datalake-where")
        self.quick = widgets.ToggleButtons(options=list(QUICK_RANGES), value=None,
                                           tooltips=["start one hour ago", "start one day ago",
                                                     "start one week ago", "no time limits"],
                                           style={"button_width": "6.5em"})
        self.quick.add_class("datalake-quick")
        local = "shown in your browser's time zone; the summary says UTC"
        self.start = widgets.DatetimePicker(description="start", tooltip=local)
        self.start.add_class("datalake-start")
        self.end = widgets.DatetimePicker(description="end", tooltip=local)
        self.end.add_class("datalake-end")
        self.work_id = widgets.Text(description="work id", placeholder="optional",
                                    continuous_update=False)
        self.work_id.add_class("datalake-work-id")
        self.list_button = widgets.Button(description="List", button_style="primary", icon="search",
                                          tooltip="list the files that match")
        self.list_button.add_class("datalake-list")
        self.refresh_button = widgets.Button(description="", icon="refresh",
                                             tooltip="re-read the lake's catalog of whats and wheres",
                                             layout=widgets.Layout(width="3em"))
        self.refresh_button.add_class("datalake-refresh")
        self.summary = widgets.HTML()
        self.summary.add_class("datalake-summary")
        self.table = widgets.HTML()
        self.table.add_class("datalake-table")
        self.timeline_output = widgets.Output()
        self.timeline_output.add_class("datalake-timeline")
        self.tabs = widgets.Tab(children=[self.table, self.timeline_output],
                                titles=("files", "timeline"))
        self.tabs.add_class("datalake-tabs")
        self.rows = widgets.SelectMultiple(description="select", rows=8,
                                           tooltip="rows to fetch; none selected: all listed files",
                                           layout=widgets.Layout(width="100%"))
        self.rows.add_class("datalake-rows")
        self.dest = widgets.Text(description="dest", placeholder="folder for fetched files")
        self.dest.add_class("datalake-dest")
        self.fetch_button = widgets.Button(description="Fetch", icon="download",
                                           tooltip="download the selected rows (none selected: all)")
        self.fetch_button.add_class("datalake-fetch")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="")
        self.progress.add_class("datalake-progress")
        self.paths_output = widgets.HTML()
        self.paths_output.add_class("datalake-paths")

        self.children = [
            widgets.HBox([self.what, self.where,
                          widgets.VBox([self.quick, self.start, self.end,
                                        widgets.HBox([self.work_id, self.list_button,
                                                      self.refresh_button])])]),
            self.message, self.summary, self.tabs, self.rows,
            widgets.HBox([self.dest, self.fetch_button, self.progress]),
            self.paths_output,
        ]
        self.add_class("datalake-picker")

        self.what.observe(lambda _: self._narrow_wheres(), names="value")
        self.quick.observe(self._on_quick, names="value")
        self.start.observe(self._on_range_edit, names="value")
        self.end.observe(self._on_range_edit, names="value")
        self.rows.observe(self._on_rows, names="value")
        self.tabs.observe(self._on_tab, names="selected_index")
        self.observe(self._on_results, names="results")
        self.observe(self._on_paths, names="paths")
        self.observe(lambda _: self._show_results(), names="max_rows")
        self.list_button.on_click(lambda _: self.do_list())
        self.fetch_button.on_click(lambda _: self.do_fetch())
        self.refresh_button.on_click(lambda _: self.refresh())

        self.lake: Lake | None = None
        try:
            self.lake = lake if lake is not None else Lake()
        except Exception as exc:  # a bad config must not stop the widget from showing
            self._error("Lake", exc)
        if self.lake is not None:
            self.dest.value = self.lake.config["DATALAKE_FETCH_DIR"] or "."
            self.refresh()
        if quick is not None:
            self.quick.value = quick
        self._show_results()

    # -- actions (the buttons call these; code can too) -----------------------

    def refresh(self) -> dict[str, list[str]]:
        """Re-read the lake's catalog, so whats and wheres pushed since are offered."""
        self.message.value = ""
        with self._reporting("Catalog"):
            catalog = self._require_lake().catalog()
            self._catalog = {what: sorted(set(wheres)) for what, wheres in catalog.items()}
            self._set_options(self.what, sorted(self._catalog))
            self._narrow_wheres()
        return self._catalog

    def query(self) -> dict[str, Any]:
        """The ``Lake.list()`` arguments the controls describe (None means no filter)."""
        work_id = self.work_id.value.strip()
        return {"what": list(self.what.value) or None, "where": list(self.where.value) or None,
                "start": self.start.value, "end": self.end.value, "work_id": work_id or None}

    def do_list(self) -> pd.DataFrame:
        """List the matching files into ``.results`` (what the List button does).

        A quick range is taken from the time of listing ("last hour" means the
        hour before this click, not before the range was chosen).  Errors are
        shown in ``.message`` and leave ``.results`` empty.
        """
        self.message.value = ""
        if self.quick.value is not None:
            self._apply_quick(self.quick.value)
        self.summary.value = "listing…"

        def failed() -> None:
            self._query = {}
            self.results = to_frame([])

        with self._reporting("List", self.list_button, failed):
            query = self.query()
            frame = self._require_lake().list(**query)
            self._query = query
            self.results = frame
        return self.results

    def do_fetch(self) -> list[Path]:
        """Download the selected rows (all listed files when none is selected) into ``dest``.

        Goes through ``Lake.fetch`` (hash checks, cache, readable names) at the
        lake's full concurrency; ``.progress`` moves as each file arrives (the lake
        reports to it, the shared Lake is not changed).  ``.paths`` gets the local
        paths; after an error it stays empty.
        """
        self.message.value = ""
        with self._reporting("Fetch", self.fetch_button, self._fetch_failed):
            lake = self._require_lake()
            frame = self.selected if len(self.selected) else self.results
            if not len(frame):
                raise InvalidInput("fetch", "nothing to fetch: List files first "
                                            "(select rows, or none to fetch all)")
            dest = Path(self.dest.value.strip() or lake.config["DATALAKE_FETCH_DIR"] or ".")
            self.progress.bar_style = ""
            self.progress.max, self.progress.value = len(frame), 0
            self.progress.description = f"0/{len(frame)}"
            fetched = lake.fetch(frame, dest=dest.expanduser(), progress=FileCounter(self._moved))
            self.progress.max = self.progress.value = len(frame)  # cached files need no download
            self.progress.description = f"{len(frame)}/{len(frame)}"
            self.paths = fetched
            self.progress.bar_style = "success"
        return self.paths

    def draw_timeline(self) -> None:
        """Show ``timeline(self.results)`` in the timeline tab, as a PNG image.

        The figure is made without pyplot and rendered here, so nothing depends
        on the notebook's matplotlib backend and no figure is left open.
        """
        with self._reporting("Timeline"):
            from matplotlib.figure import Figure

            from .timeline import figure_size, timeline

            frame = self.results
            wheres = frame["where"].nunique() if len(frame) else 0
            fig = Figure(figsize=figure_size(wheres), layout="constrained")
            timeline(frame, ax=fig.subplots())
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=96)
            png = base64.b64encode(buffer.getvalue()).decode("ascii")
            self.timeline_output.outputs = ({
                "output_type": "display_data", "metadata": {},
                "data": {"image/png": png, "text/plain": f"<timeline of {len(frame)} files>"},
            },)
            self._timeline_stale = False

    def __repr__(self) -> str:
        """Short text form (the default lists every child widget and its value)."""
        return f"LakePicker({self.lake!r})"

    def close(self) -> None:
        """Close the controls and boxes inside too (each is a widget with its own comm)."""
        def inner(box: widgets.Widget) -> Iterator[widgets.Widget]:
            for child in getattr(box, "children", ()):
                yield from inner(child)
                yield child
        for child in list(inner(self)):
            child.close()
        super().close()

    # -- reactions ------------------------------------------------------------

    def _on_quick(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self._apply_quick(change["new"])

    def _apply_quick(self, name: str) -> None:
        """Set start/end for a quick range: the span before now (rounded to seconds)."""
        span = QUICK_RANGES[name]
        now = dt.datetime.now(UTC)
        self._quick_setting = True
        try:
            if span is None:
                self.start.value = self.end.value = None
            else:
                self.start.value = (now - span).replace(microsecond=0)
                self.end.value = (now + dt.timedelta(seconds=1)).replace(microsecond=0)
        finally:
            self._quick_setting = False

    def _on_range_edit(self, change: dict[str, Any]) -> None:
        """A start or end set by hand is no longer a quick range."""
        if not self._quick_setting:
            self.quick.value = None

    def _narrow_wheres(self) -> None:
        chosen = self.what.value or tuple(self._catalog)
        wheres = sorted({where for what in chosen for where in self._catalog.get(what, [])})
        self._set_options(self.where, wheres)

    @staticmethod
    def _set_options(control: widgets.SelectMultiple, options: list[str]) -> None:
        """New options, keeping the chosen values that are still offered."""
        if list(control.options) == options:
            return
        kept = tuple(v for v in control.value if v in options)
        control.options = options
        control.value = kept

    def _on_results(self, change: dict[str, Any]) -> None:
        self._timeline_stale = True
        with self._reporting("Show"):
            self._show_results()
        if self.tabs.selected_index == 1:
            self.draw_timeline()

    def _on_tab(self, change: dict[str, Any]) -> None:
        if change["new"] == 1 and self._timeline_stale:
            self.draw_timeline()

    def _on_rows(self, change: dict[str, Any]) -> None:
        if self._syncing_rows:
            return
        positions = sorted(i for i in change["new"] if 0 <= i < len(self.results))
        self.selected = self.results.iloc[positions]

    def _on_paths(self, change: dict[str, Any]) -> None:
        text = "\n".join(str(p) for p in change["new"])
        self.paths_output.value = f"<pre>{html.escape(text)}</pre>" if text else ""

    def _moved(self, done: int, total: int) -> None:
        """The lake's report while fetching: ``done`` of the ``total`` files to download."""
        self.progress.max = max(total, 1)
        self.progress.value = done
        self.progress.description = f"{done}/{total}"

    def _fetch_failed(self) -> None:
        self.paths = []
        self.progress.bar_style = "danger"

    # -- rendering ------------------------------------------------------------

    def _show_results(self) -> None:
        """Summary, table and selectable rows for ``.results`` (at most max_rows shown)."""
        frame = self.results
        total, shown = len(frame), min(len(frame), max(self.max_rows, 0))
        size = int(frame["size"].fillna(0).sum()) if total else 0
        note = f"showing first {shown} of {total}" if shown < total else ""
        self.summary.value = self._summary_html(total, size, note)
        self.table.value = self._table_html(frame.iloc[:shown], note)
        self._syncing_rows = True
        try:
            self.rows.options = [(self._row_label(i, row), i) for i, row
                                 in enumerate(frame.iloc[:shown].itertuples(index=False))]
            self.rows.value = ()
        finally:
            self._syncing_rows = False
        self.selected = frame.iloc[[]]

    def _summary_html(self, total: int, size: int, note: str) -> str:
        if not self._query and not total:
            return "Choose whats, wheres and a time range, then <b>List</b>."
        if not self._query:
            return f"<b>{total}</b> files, {human_size(size)}" + (f" — <i>{note}</i>" if note else "")
        start, end = self._query.get("start"), self._query.get("end")
        span = ""
        if start is not None or end is not None:
            span = (f" from {html.escape(self._utc(start) or 'the beginning')}"
                    f" to {html.escape(self._utc(end) or 'now')} UTC")
        head = (f"<b>{total}</b> file{'s' if total != 1 else ''}, {human_size(size)}"
                if total else "<b>no files</b> match")
        return head + span + (f" — <i>{note}</i>" if note else "")

    @staticmethod
    def _utc(value: Any) -> str:
        return "" if value is None else times.iso(times.to_ms(value))[:19].replace("T", " ")

    @staticmethod
    def _table_html(frame: pd.DataFrame, note: str) -> str:
        if not len(frame):
            return ""
        shown = pd.DataFrame({
            "#": range(len(frame)),
            "start (UTC)": [_stamp(v) for v in frame["start"]],
            "end (UTC)": [_stamp(v) for v in frame["end"]],
            "what": frame["what"].to_numpy(), "where": frame["where"].to_numpy(),
            "size": [human_size(0 if pd.isna(v) else v) for v in frame["size"]],
            "work_id": frame["work_id"].fillna("").to_numpy(),
            "id": frame["id"].to_numpy(),
        })
        table = shown.to_html(index=False, escape=True, border=0, na_rep="")
        tail = f"<p><i>{html.escape(note)}</i></p>" if note else ""
        return f'<div style="max-height:24em;overflow:auto">{table}</div>{tail}'

    @staticmethod
    def _row_label(i: int, row: Any) -> str:
        start, end = _stamp(row.start), _stamp(row.end)
        if end and end[:10] == start[:10]:
            end = end[11:]
        span = f"{start} → {end}" if end else f"{start} (instant)"
        size = human_size(0 if pd.isna(row.size) else row.size)
        work = f"  work {row.work_id}" if isinstance(row.work_id, str) else ""
        return f"{i}: {span}  {row.what} @ {row.where}  {size}{work}"

    # -- errors ---------------------------------------------------------------

    def _require_lake(self) -> Lake:
        if self.lake is None:
            raise DatalakeError("no lake: fix the configuration, then make a new picker")
        return self.lake

    @contextlib.contextmanager
    def _reporting(self, action: str, button: widgets.Button | None = None,
                   on_error: Callable[[], None] | None = None) -> Iterator[None]:
        """Run an action with its button disabled; an error becomes one line in .message."""
        if button is not None:
            button.disabled = True
        try:
            yield
        except Exception as exc:
            if on_error is not None:
                try:
                    on_error()
                except Exception:  # the cleanup must not hide the first error
                    _log.debug("cleanup after %s failed", action, exc_info=True)
            self._error(action, exc)
        finally:
            if button is not None:
                button.disabled = False

    def _error(self, action: str, exc: BaseException) -> None:
        _log.debug("%s failed", action, exc_info=exc)  # the traceback, for whoever enables logging
        line = f"{action} failed: {_short(exc)}"
        self.message.value = f'<span style="color:#b71c1c">⚠ {html.escape(line)}</span>'
