"""LakePicker: choose, look at and fetch log files from a notebook without writing a query.

Built from standard ipywidgets 8 controls only, so it runs wherever widgets do
(JupyterLab, Notebook 7, VS Code, Voila).  Everything it does goes through
``Lake`` (list, catalog, latest, fetch), and what was picked is readable from code —
``.results``, ``.selected``, ``.paths`` are traitlets that can be observed — so
later cells can use it.  Errors are shown inside the widget as one short line.

The buttons never block the kernel: their work (and the first catalog read) runs on
a background thread, one action at a time, with a Cancel button; code calls
``do_list()`` / ``do_fetch()`` / ``refresh()``, which wait, or ``wait()`` after a click.
Times are typed and shown in UTC, in the lake's own time vocabulary.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import io
import logging
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import ipywidgets as widgets
import pandas as pd
import traitlets

from . import render
from .tasks import Tasks
from ...core import times
from ...core.errors import DatalakeError, InvalidInput, NotFound
from ...output import human_size
from ...output import to_frame
from ...lake import Interrupted, Lake
from ...engine.progress import BAR_MIN_BYTES, TransferCounter

__all__ = ["LakePicker", "QUICK_RANGES"]

_log = logging.getLogger(__name__)
UTC = dt.timezone.utc
NEWEST_DAY = "newest day"
QUICK_RANGES: dict[str, dt.timedelta | str | None] = {
    NEWEST_DAY: NEWEST_DAY,  # the UTC day of the newest file of the chosen whats/wheres
    "last hour": dt.timedelta(hours=1),
    "last day": dt.timedelta(days=1),
    "last week": dt.timedelta(weeks=1),
    "all": None,
}
TIME_HINT = "2015-03-20 10:00, -2h, now"  # the label says UTC
ROWS_SHOWN = 12  # rows of the table in view; more scroll
BYTES_FROM = BAR_MIN_BYTES  # a fetch of this many bytes or more counts bytes, not files
SMALL_FILE = 256 << 10       # ... unless its files average less than this


def _time_text(value: dt.datetime) -> str:
    """A UTC time as the start/end boxes show it (naive text is read back as UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class LakePicker(widgets.VBox):
    """Pick whats, wheres, a time range and a work id; list, select and fetch files.

    ``LakePicker(lake=None)`` uses ``Lake()`` (the configured lake) when no
    lake is given.  It shows at once and reads the lake's catalog in the
    background ("connecting…", then the lists, or an error line); code that
    drives it calls ``wait()`` first.  Code can drive every control (they are
    public attributes) and call ``do_list()`` / ``do_fetch()`` just as the
    buttons do (those run in the caller's thread and return the result).
    """

    results = traitlets.Instance(pd.DataFrame, help="the files the last List found (list() columns)")
    selected = traitlets.Instance(pd.DataFrame, help="the rows chosen in .rows (a slice of .results)")
    paths = traitlets.List(traitlets.Instance(Path), help="local paths of the last Fetch")
    max_rows = traitlets.Int(200, help="rows shown in the table and selectable in .rows")
    confirm_files = traitlets.Int(1, help="Fetch with nothing selected asks first above this "
                                          "many files")
    confirm_bytes = traitlets.Int(1 << 30, help="... or above this many bytes")
    busy = traitlets.Unicode("", help="the action running in the background ('' when idle)")

    @traitlets.default("results")
    def _no_results(self) -> pd.DataFrame:
        return to_frame([])

    @traitlets.default("selected")
    def _nothing_selected(self) -> pd.DataFrame:
        return to_frame([])

    def __init__(self, lake: Lake | None = None, *, max_rows: int = 200,
                 quick: str | None = NEWEST_DAY, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_rows = max_rows
        self._catalog: dict[str, list[str]] = {}
        self._quick_setting = False     # True while a quick range writes start/end
        self._timeline_stale = True
        self._query: dict[str, Any] = {}
        self._syncing_rows = False      # True while new results replace the rows' options
        self._by_bytes = False          # the fetch's bar counts bytes (a large download)
        self._time_error: str | None = None  # the time box whose text the message is about
        self._tasks = Tasks(self._set_busy, self._error, self._note)
        self._build()
        self._wire()

        self.lake: Lake | None = None
        try:
            self.lake = lake if lake is not None else Lake()
        except Exception as exc:  # a bad config must not stop the widget from showing
            self._error("Lake", exc)
        if quick is not None:
            self.quick.value = quick
        self._show_results()
        if self.lake is not None:
            self.dest.value = self.lake.config.value("DATALAKE_FETCH_DIR")
            self.summary.value = f"connecting to {html.escape(self.lake.url)}…"
            self._start("Catalog", lambda cancel: self._load(cancel), self._catalog_failed)

    # -- controls -------------------------------------------------------------

    def _build(self) -> None:
        """Make the controls and lay them out (no behaviour yet: see _wire)."""
        wide = {"description_width": "initial"}  # labels in full, never cut
        self.message = widgets.HTML()
        self.message.add_class("datalake-message")
        self.search = widgets.Text(description="search", placeholder="part of a what or where",
                                   style=wide, layout=widgets.Layout(width="20em"))
        self.search.add_class("datalake-search")
        self.what = widgets.SelectMultiple(description="what", rows=8, style=wide,
                                           tooltip="none chosen: every what",
                                           layout=widgets.Layout(width="16em"))
        self.what.add_class("datalake-what")
        self.where = widgets.SelectMultiple(description="where", rows=8, style=wide,
                                            tooltip="narrowed to the chosen whats; none chosen: every where",
                                            layout=widgets.Layout(width="16em"))
        self.where.add_class("datalake-where")
        self.quick = widgets.ToggleButtons(options=list(QUICK_RANGES), value=None,
                                           tooltips=["the UTC day of the newest file",
                                                     "start one hour ago", "start one day ago",
                                                     "start one week ago", "no time limits"],
                                           style={"button_width": "auto"})  # never cut
        self.quick.add_class("datalake-quick")
        self.start = widgets.Text(description="start (UTC)", placeholder=TIME_HINT, style=wide,
                                  continuous_update=False, layout=widgets.Layout(width="24em"))
        self.start.add_class("datalake-start")
        self.end = widgets.Text(description="end (UTC)", placeholder=TIME_HINT, style=wide,
                                continuous_update=False, layout=widgets.Layout(width="24em"))
        self.end.add_class("datalake-end")
        self.work_id = widgets.Text(description="work id", placeholder="optional", style=wide,
                                    continuous_update=False)
        self.work_id.add_class("datalake-work-id")
        self.list_button = widgets.Button(description="List", button_style="primary", icon="search",
                                          tooltip="list the files that match")
        self.list_button.add_class("datalake-list")
        self.refresh_button = widgets.Button(description="", icon="refresh",
                                             tooltip="re-read the lake's catalog of whats and wheres",
                                             layout=widgets.Layout(width="3em"))
        self.refresh_button.add_class("datalake-refresh")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            tooltip="stop what is running (fetched files are kept)")
        self.cancel_button.add_class("datalake-cancel")
        self.summary = widgets.HTML()
        self.summary.add_class("datalake-summary")
        # The table is the selection: a heading over a list whose options are the rows
        # (aligned columns), so each file shows once and a click on it selects it.
        self.table_head = widgets.HTML()
        self.table_head.add_class("datalake-table-head")
        self.rows = widgets.SelectMultiple(rows=8, tooltip="click (Ctrl/Shift: more) to choose "
                                           "the files to fetch; none chosen: Fetch offers all",
                                           layout=widgets.Layout(width="auto", max_width="100%"))
        self.rows.add_class("datalake-rows")
        self.table_note = widgets.HTML()
        self.table_note.add_class("datalake-table-note")
        css = widgets.HTML(render.TABLE_CSS, layout=widgets.Layout(display="none"))  # applies, unseen
        self.table = widgets.VBox([css, self.table_head, self.rows,
                                   self.table_note])
        self.table.add_class("datalake-table")
        self.timeline_output = widgets.Output(
            layout=widgets.Layout(max_height="28em", overflow="auto"))
        self.timeline_output.add_class("datalake-timeline")
        self.tabs = widgets.Tab(children=[self.table, self.timeline_output],
                                titles=("files", "timeline"))
        self.tabs.add_class("datalake-tabs")
        self.dest = widgets.Text(description="dest", placeholder="folder for fetched files",
                                 style=wide)
        self.dest.add_class("datalake-dest")
        self.fetch_button = widgets.Button(description="Fetch", icon="download", disabled=True,
                                           tooltip="List files first",
                                           layout=widgets.Layout(width="auto"))
        self.fetch_button.add_class("datalake-fetch")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="",
                                            style=wide)
        self.progress.add_class("datalake-progress")
        self.confirm_text = widgets.HTML()
        self.confirm_yes = widgets.Button(description="Fetch all", button_style="warning",
                                          icon="download")
        self.confirm_yes.add_class("datalake-confirm-yes")
        self.confirm_no = widgets.Button(description="No")
        self.confirm_no.add_class("datalake-confirm-no")
        self.confirm = widgets.HBox([self.confirm_text, self.confirm_yes, self.confirm_no],
                                    layout=widgets.Layout(display="none"))
        self.confirm.add_class("datalake-confirm")
        self.paths_output = widgets.HTML()
        self.paths_output.add_class("datalake-paths")

        self.children = [
            widgets.HBox([widgets.VBox([self.search,
                                        widgets.HBox([self.what, self.where])]),
                          widgets.VBox([self.quick, self.start, self.end,
                                        widgets.HBox([self.work_id, self.list_button,
                                                      self.refresh_button])])],
                         layout=widgets.Layout(flex_flow="row wrap")),
            self.message, self.summary, self.tabs,
            widgets.HBox([self.dest, self.fetch_button, self.cancel_button, self.progress],
                         layout=widgets.Layout(flex_flow="row wrap")),
            self.confirm, self.paths_output,
        ]
        self.add_class("datalake-picker")

    def _wire(self) -> None:
        """Connect the controls: observers, then buttons."""
        self.what.observe(lambda _: self._narrow_wheres(), names="value")
        self.search.observe(lambda _: self._filter_names(), names="value")
        self.quick.observe(self._on_quick, names="value")
        self.start.observe(self._on_range_edit, names="value")
        self.end.observe(self._on_range_edit, names="value")
        self.rows.observe(self._on_rows, names="value")
        self.tabs.observe(self._on_tab, names="selected_index")
        self.observe(self._on_results, names="results")
        self.observe(lambda _: self._label_fetch(), names="selected")
        self.observe(self._on_paths, names="paths")
        self.observe(lambda _: self._show_results(), names="max_rows")
        self.list_button.on_click(lambda _: self._start("List", self._list))
        self.fetch_button.on_click(lambda _: self._on_fetch_click())
        self.confirm_yes.on_click(lambda _: self._on_confirm(True))
        self.confirm_no.on_click(lambda _: self._on_confirm(False))
        self.refresh_button.on_click(lambda _: self._start("Catalog", lambda c: self._load(c, False),
                                                           self._catalog_failed))
        self.cancel_button.on_click(lambda _: self.cancel())

    # -- actions (the buttons call these; code can too) -----------------------

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the background action (a click, the first catalog read) is over;
        False if it still runs after ``timeout`` seconds."""
        self._tasks.wait(timeout)
        return not self.busy

    def cancel(self) -> None:
        """Stop the background action.  A fetch stops within seconds, keeping the files it
        finished (nothing partial); a listing is abandoned (its answer is ignored)."""
        # A fetch stops at its next progress report and says what it kept; a listing may
        # hang on the network: stop waiting for it now.
        action = self._tasks.cancel(abandon=lambda action: action != "Fetch")
        if action is None or action == "Fetch":
            return
        self.summary.value = ""
        self._note(f"{action} cancelled")

    def refresh(self) -> dict[str, list[str]]:
        """Re-read the lake's catalog, so whats and wheres pushed since are offered."""
        self.wait()
        self.message.value = ""
        with self._reporting("Catalog", on_error=self._catalog_failed):
            self._load(threading.Event(), False)
        return self._catalog

    def query(self) -> dict[str, Any]:
        """The ``Lake.list()`` arguments the controls describe (None means no filter).

        start and end are read as UTC; one that cannot be read is an ``InvalidInput``
        naming it (never silently no limit)."""
        work_id = self.work_id.value.strip()
        return {"what": list(self.what.value) or None, "where": list(self.where.value) or None,
                "start": self._time(self.start, "start"), "end": self._time(self.end, "end"),
                "work_id": work_id or None}

    def do_list(self) -> pd.DataFrame:
        """List the matching files into ``.results`` (what the List button does).

        A quick range is taken from the time of listing ("last hour" means the
        hour before this call, not before the range was chosen).  Errors are
        shown in ``.message`` and leave ``.results`` as the last List found them.
        """
        self.wait()
        with self._reporting("List"):
            self._list(threading.Event())
        return self.results

    def do_fetch(self) -> list[Path]:
        """Download the selected rows (all listed files when none is selected) into ``dest``.

        Goes through ``Lake.fetch`` (hash checks, cache, readable names) at the
        lake's full concurrency; ``.progress`` moves as each file arrives (the lake
        reports to it; the shared Lake is not changed).  ``.paths`` gets the local
        paths, also of the files fetched before an error or a cancel.  (The
        Fetch button asks first when nothing is selected: see ``confirm_files``.)
        """
        self.wait()
        frame, _ = self._fetch_target()
        with self._reporting("Fetch", on_error=self._fetch_failed):
            self._fetch(frame, self._dest(), threading.Event())
        return self.paths

    def draw_timeline(self) -> None:
        """Show ``timeline(self.results)`` in the timeline tab, as a PNG image.

        The figure is made without pyplot and rendered here, so nothing depends
        on the notebook's matplotlib backend and no figure is left open.
        """
        with self._reporting("Timeline"):
            from matplotlib.figure import Figure

            from ...plot import figure_size, timeline

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

    # -- the work (run by the background thread, or by the do_* methods) ------

    def _load(self, cancel: threading.Event, first: bool = True) -> None:
        """Read the catalog into the what/where lists; then (first time) the newest day."""
        self.message.value = ""
        catalog = self._require_lake().catalog()
        if cancel.is_set():
            return
        self._catalog = {what: sorted(set(wheres)) for what, wheres in catalog.items()}
        self._filter_names()
        if not self._query:
            self.summary.value = ""
            self._show_results()
        if first and self.quick.value == NEWEST_DAY:
            self._apply_quick(NEWEST_DAY)

    def _list(self, cancel: threading.Event) -> None:
        self.message.value = ""
        self._clear_fetch()
        self.summary.value = "listing…"
        try:
            if self.quick.value is not None:
                self._apply_quick(self.quick.value)
            query = self.query()
            frame = self._require_lake().list(**query)
        except Exception:
            # The last listing stays (a typo or a network hiccup must not wipe what was
            # found); the summary says it is the earlier one, the message what failed.
            self._show_results(stale=True)
            raise
        if not cancel.is_set():
            self._query = query
            self.results = frame

    def _fetch(self, frame: pd.DataFrame, dest: Path, cancel: threading.Event) -> None:
        """Fetch ``frame``'s files into ``dest`` in batches (so .progress moves); a set
        ``cancel`` stops it through ``Lake.fetch``; the files finished are kept."""
        lake = self._require_lake()
        if not len(frame):
            raise InvalidInput("fetch", "nothing to fetch: List files first "
                                        "(select rows, or none to fetch all)")
        self._clear_fetch()
        fetched: list[Path] = []
        self.progress.max, self.progress.value = len(frame), 0
        self.progress.description = f"0/{len(frame)}"
        try:
            fetched = lake.fetch(frame, dest=dest, cancel=cancel,
                                 progress=TransferCounter(self._moved))
        except Interrupted:
            fetched = self._keep_finished(lake, frame, dest)
            self.progress.max, self.progress.value = len(frame), len(fetched)
            self.progress.description = f"{len(fetched)}/{len(frame)} files"
            self.progress.bar_style = "warning"
            self._note(f"Fetch cancelled: {len(fetched)} of {len(frame)} files fetched into "
                       f"{dest} (nothing partial); Fetch again for the rest")
            if threading.current_thread() is threading.main_thread():
                raise  # Ctrl-C in a cell that called do_fetch(): stop the cell too
            return
        finally:
            self.paths = fetched
        if self._by_bytes:  # full, in the bar's own unit
            self.progress.value = self.progress.max
            self.progress.description = (f"{human_size(self.progress.max)}, {len(frame)}/"
                                         f"{len(frame)} files")
        else:  # cached files need no download: count them too
            self.progress.max = self.progress.value = len(frame)
            self.progress.description = f"{len(frame)}/{len(frame)}"
        self.progress.bar_style = "success"

    @staticmethod
    def _keep_finished(lake: Lake, rest: pd.DataFrame, dest: Path) -> list[Path]:
        """After a cancel: place the files of ``rest`` that were downloaded whole (they are
        in the lake's cache, which holds only verified files), as a Fetch would."""
        done = rest[[lake.cache.path(h).is_file() for h in rest["hash"]]]
        return lake.fetch(done, dest=dest) if len(done) else []

    def _on_fetch_click(self) -> None:
        """The Fetch button: the selection, or all listed files (asking first above
        ``confirm_files`` / ``confirm_bytes``)."""
        self.message.value = ""
        frame, everything = self._fetch_target()
        if not len(frame):
            self._error("Fetch", InvalidInput("fetch", "nothing to fetch: List files first "
                                                       "(select rows, or none to fetch all)"))
            return
        size = int(frame["size"].fillna(0).sum())
        if everything and (len(frame) > self.confirm_files or size > self.confirm_bytes):
            self.confirm_text.value = (
                f"Nothing is selected: fetch <b>all {len(frame):,} files</b>, "
                f"{human_size(size)}, into {html.escape(str(self._dest()))}?")
            self.confirm.layout.display = "flex"
            return
        self._start_fetch(frame)

    def _on_confirm(self, yes: bool) -> None:
        self.confirm.layout.display = "none"
        if yes:
            self._start_fetch(self.results)

    def _start_fetch(self, frame: pd.DataFrame) -> None:
        dest = self._dest()
        self._start("Fetch", lambda cancel: self._fetch(frame, dest, cancel), self._fetch_failed)

    def _fetch_target(self) -> tuple[pd.DataFrame, bool]:
        """(the rows Fetch acts on, whether that is every listed file for lack of a selection)"""
        if len(self.selected):
            return self.selected, False
        return self.results, True

    def _dest(self) -> Path:
        lake = self._require_lake()
        return Path(self.dest.value.strip() or lake.config.value("DATALAKE_FETCH_DIR")).expanduser()

    def _clear_fetch(self) -> None:
        """Forget the last fetch: its paths, its progress, a question not answered."""
        if self.paths:
            self.paths = []
        self.progress.value, self.progress.max = 0, 1
        self.progress.description, self.progress.bar_style = "", ""
        self._by_bytes = False
        self.confirm.layout.display = "none"

    # -- the background thread ------------------------------------------------

    def _start(self, action: str, work: Callable[[threading.Event], None],
               on_error: Callable[[], None] | None = None) -> threading.Thread | None:
        """Run ``work(cancel)`` in the background (see ``tasks``): one action at a time."""
        return self._tasks.start(action, work, on_error)

    def _set_busy(self, action: str) -> None:
        """Buttons while an action runs: List, refresh and Fetch off, Cancel on."""
        self.busy = action
        for button in (self.list_button, self.refresh_button):
            button.disabled = bool(action)
        self.cancel_button.disabled = not action
        self._label_fetch()

    # -- reactions ------------------------------------------------------------

    def _on_quick(self, change: dict[str, Any]) -> None:
        if change["new"] == NEWEST_DAY:  # asks the lake: in the background (none yet: _load)
            if self._catalog:
                self._start("Time range", lambda cancel: self._apply_quick(NEWEST_DAY))
        elif change["new"] is not None:
            self._apply_quick(change["new"])

    def _apply_quick(self, name: str) -> None:
        """Set start/end for a quick range: the span before now (rounded to seconds), or
        the UTC day of the newest file (of the chosen whats and wheres)."""
        span = QUICK_RANGES[name]
        now = dt.datetime.now(UTC)
        if span == NEWEST_DAY:
            day = self._newest_day()
            values = ("", "") if day is None else (_time_text(day),
                                                   _time_text(day + dt.timedelta(days=1)))
        elif span is None:
            values = ("", "")
        else:
            values = (_time_text(now - span), _time_text(now + dt.timedelta(seconds=1)))
        self._quick_setting = True
        try:
            self.start.value, self.end.value = values
        finally:
            self._quick_setting = False

    def _newest_day(self) -> dt.datetime | None:
        """Midnight (UTC) of the day the newest file starts, of the chosen whats (none
        chosen: all) from the chosen wheres: one ``Lake.latest`` per what."""
        lake = self._require_lake()
        wheres = list(self.where.value) or None
        newest = None
        for what in self.what.value or sorted(self._catalog):
            try:
                start = lake.latest(what, wheres).start
            except NotFound:
                continue
            newest = start if newest is None else max(newest, start)
        if newest is None:
            return None
        return times.to_datetime(newest - newest % 86_400_000)

    def _on_range_edit(self, change: dict[str, Any]) -> None:
        """A start or end typed by hand is no longer a quick range, and is read at once:
        what cannot be read is said now (and List refuses it)."""
        if self._quick_setting:
            return
        self.quick.value = None
        field = "start" if change["owner"] is self.start else "end"
        try:
            self._time(change["owner"], field)
        except InvalidInput as exc:
            self._error(None, exc)
            self._time_error = field
        else:
            if self._time_error == field:
                self.message.value, self._time_error = "", None

    @staticmethod
    def _time(control: widgets.Text, field: str) -> dt.datetime | None:
        text = control.value.strip()
        return None if not text else times.to_datetime(times.to_ms(text, field))

    def _filter_names(self) -> None:
        """Whats (and, through _narrow_wheres, wheres) that contain the search text;
        chosen ones stay offered."""
        needle = self.search.value.strip().lower()
        self._set_options(self.what, sorted(w for w in self._catalog
                                            if needle in w.lower() or w in self.what.value))
        self._narrow_wheres()

    def _narrow_wheres(self) -> None:
        chosen = self.what.value or tuple(self._catalog)
        needle = self.search.value.strip().lower()
        wheres = {where for what in chosen for where in self._catalog.get(what, [])}
        self._set_options(self.where, sorted(w for w in wheres
                                             if needle in w.lower() or w in self.where.value))

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
        self.confirm.layout.display = "none"

    def _on_paths(self, change: dict[str, Any]) -> None:
        self.paths_output.value = render.paths_html(change["new"])

    def _label_fetch(self) -> None:
        """The Fetch button says what it will do: 'Fetch 2 selected' / 'Fetch all 300'."""
        frame, everything = self._fetch_target()
        size = human_size(int(frame["size"].fillna(0).sum())) if len(frame) else ""
        if not len(frame):
            label, tip = "Fetch", "List files first"
        elif everything:
            label = f"Fetch all {len(frame):,}"
            tip = f"nothing selected: all {len(frame):,} listed files, {size}"
        else:
            label = f"Fetch {len(frame):,} selected"
            tip = f"the {len(frame):,} selected files, {size}"
        self.fetch_button.description, self.fetch_button.tooltip = label, tip
        self.fetch_button.disabled = bool(self.busy) or not len(frame)

    def _catalog_failed(self) -> None:
        self.summary.value = ""  # not "connecting…" forever: the message says what went wrong

    def _moved(self, done_bytes: int, total_bytes: int, done: int, total: int) -> None:
        """The lake's report while fetching: bytes and files done of those to download.
        Large downloads (``BYTES_FROM`` or more, not many small files) move the bar by
        bytes, so it moves within a file; small ones by files."""
        self._by_bytes = total_bytes >= BYTES_FROM and total_bytes >= total * SMALL_FILE
        if self._by_bytes:
            self.progress.max = max(total_bytes, 1)
            self.progress.value = min(done_bytes, total_bytes)
            self.progress.description = (f"{human_size(min(done_bytes, total_bytes))} / "
                                         f"{human_size(total_bytes)}, {done}/{total} files")
            return
        self.progress.max = max(total, 1)
        self.progress.value = done
        self.progress.description = f"{done}/{total}"

    def _fetch_failed(self) -> None:
        self.paths = []
        self.progress.bar_style = "danger"

    # -- rendering ------------------------------------------------------------

    def _show_results(self, stale: bool = False) -> None:
        """Summary and table (the selectable rows) for ``.results`` (at most max_rows
        shown); ``stale``: the last List failed, so these are the listing before it."""
        frame = self.results
        total, shown = len(frame), min(len(frame), max(self.max_rows, 0))
        size = int(frame["size"].fillna(0).sum()) if total else 0
        note = f"showing first {shown} of {total}" if shown < total else ""
        self.summary.value = self._summary_html(total, size, note)
        if stale:
            if self._query or total:
                self.summary.value += " — <i>from the List before (the last one failed)</i>"
            else:
                self.summary.value = ""
            return
        heading, lines = render.table_rows(frame.iloc[:shown])
        self.table_head.value = html.escape(heading) if shown else ""
        self.table_note.value = (f"<i>{html.escape(note)}</i> · " if note else "") + (
            "click rows to choose what to fetch (Ctrl/Shift+click: more); none chosen: "
            "Fetch offers every listed file" if shown else "")
        self._syncing_rows = True
        try:
            self.rows.options = [(line, i) for i, line in enumerate(lines)]
            self.rows.rows = max(2, min(shown, ROWS_SHOWN))
            self.rows.value = ()
            self.rows.layout.display = "" if shown else "none"
        finally:
            self._syncing_rows = False
        self.selected = frame.iloc[[]]
        self._label_fetch()

    def _summary_html(self, total: int, size: int, note: str) -> str:
        if not self._query and not total:
            return "Choose whats, wheres and a time range (UTC), then <b>List</b>."
        if not self._query:
            return f"<b>{total}</b> files, {human_size(size)}" + (f" — <i>{note}</i>" if note else "")
        start, end = self._query.get("start"), self._query.get("end")
        span = ""
        if start is not None or end is not None:
            span = (f" from {html.escape(render.utc(start) or 'the beginning')}"
                    f" to {html.escape(render.utc(end) or 'now')} UTC")
        head = (f"<b>{total}</b> file{'s' if total != 1 else ''}, {human_size(size)}"
                if total else "<b>no files</b> match")
        hint = self.results.attrs.get("hint") if not total else None
        tail = f" — {html.escape(hint)}" if hint else ""
        return head + span + (f" — <i>{note}</i>" if note else "") + tail

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

    def _error(self, action: str | None, exc: BaseException) -> None:
        _log.debug("%s failed", action, exc_info=exc)  # the traceback, for whoever enables logging
        line = f"{action} failed: {render.short(exc)}" if action else render.short(exc)
        self.message.value = f'<span style="color:#b71c1c">⚠ {html.escape(line)}</span>'

    def _note(self, line: str) -> None:
        """A line that is news, not an error (a cancel, a refusal while busy)."""
        self.message.value = f'<span style="color:#8a6d00">{html.escape(line)}</span>'
