"""LakePicker driven from code, as a person would in a browser: choose, List, select, Fetch."""
from __future__ import annotations

import base64
import datetime as dt
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets", minversion="8")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import pandas as pd  # noqa: E402

from datalake_nb import Lake  # noqa: E402
from datalake_nb.output import COLUMNS  # noqa: E402
from datalake_nb.notebook.picker import LakePicker  # noqa: E402

from support.helpers import write  # noqa: E402

UTC = dt.timezone.utc
BOUND_S = 60  # a bound on a hang, not a benchmark


def push_recent(lake, tmp_path):
    """Files 30 minutes, 3 days and 10 days old; returns {name: Record}."""
    out = {}
    for name, what, where, start, end in [
            ("recent", "nginx", "web01", "-30m", "-20m"),
            ("days", "syslog", "web02", "-3d", "-3d"),
            ("old", "nginx", "web02", "-10d", "-9d")]:
        out[name] = lake.push(write(tmp_path / "src" / f"{name}.log", f"{name} content\n"), what=what,
                              where=where, start=start, end=end, data_version="0")
    return out


def push_fixed(lake, tmp_path, count=3, what="nginx", where="web01", **extra):
    """`count` one-hour files on 2015-03-20, contents 'file N'."""
    return [lake.push(write(tmp_path / "src" / f"{what}-{where}-{n}.log", f"file {n}\n"), what=what,
                      where=where, start=f"2015-03-20T{n:02d}:00Z", end=f"2015-03-20T{n:02d}:59Z",
                      data_version="0", **extra)
            for n in range(count)]


def text(html):
    return re.sub(r"<[^>]+>", "", html)


def test_starts_empty_with_list_columns(local_lake):
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)
    for frame in (picker.results, picker.selected):
        assert isinstance(frame, pd.DataFrame) and list(frame.columns) == COLUMNS and len(frame) == 0
    assert picker.paths == []
    assert picker.message.value == ""
    assert isinstance(picker, ipywidgets.VBox)
    # times are typed in UTC (item 5 of issue 11: a browser-local DatetimePicker misread them)
    assert isinstance(picker.start, ipywidgets.Text) and "(UTC)" in picker.start.description
    assert isinstance(picker.progress, ipywidgets.IntProgress)


def test_lazy_import_from_the_package():
    from datalake_nb import LakePicker as lazy
    assert lazy is LakePicker
    code = ("import sys, datalake_nb; assert 'ipywidgets' not in sys.modules; "
            "from datalake_nb import LakePicker; print('ipywidgets' in sys.modules, LakePicker.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120)
    assert out.stdout.split() == ["True", "LakePicker"]


def test_stable_css_classes_for_browser_tests(local_lake):
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)
    for control, name in [(picker.list_button, "datalake-list"), (picker.fetch_button, "datalake-fetch"),
                          (picker.rows, "datalake-rows"), (picker.what, "datalake-what"),
                          (picker.paths_output, "datalake-paths")]:
        assert name in control._dom_classes
    assert picker.list_button.description == "List" and picker.fetch_button.description == "Fetch"


def test_whats_from_catalog_and_wheres_narrowed(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 1, what="nginx", where="web01")
    push_fixed(local_lake, tmp_path, 1, what="nginx", where="web02")
    push_fixed(local_lake, tmp_path, 1, what="syslog", where="db01")
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)
    assert picker.what.options == ("nginx", "syslog")
    assert picker.where.options == ("db01", "web01", "web02")  # no what chosen: all
    picker.where.value = ("web02",)
    picker.what.value = ("nginx",)
    assert picker.where.options == ("web01", "web02")
    assert picker.where.value == ("web02",)  # still offered, so still chosen
    picker.what.value = ("syslog",)
    assert picker.where.options == ("db01",) and picker.where.value == ()


def test_refresh_rereads_the_catalog(local_lake, tmp_path):
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)
    assert picker.what.options == ()
    push_fixed(local_lake, tmp_path, 1, what="late", where="web09")
    assert picker.what.options == ()
    picker.refresh_button.click()
    assert picker.wait(BOUND_S)
    assert picker.what.options == ("late",) and picker.where.options == ("web09",)


def test_quick_ranges_set_start_and_end(local_lake):
    picker = LakePicker(local_lake, quick=None)
    assert picker.wait(BOUND_S)
    assert picker.start.value == "" and picker.end.value == ""
    assert picker.query()["start"] is None and picker.query()["end"] is None
    for name, span in [("last hour", dt.timedelta(hours=1)), ("last day", dt.timedelta(days=1)),
                       ("last week", dt.timedelta(weeks=1))]:
        picker.quick.value = name
        start, end = picker.query()["start"], picker.query()["end"]
        assert start.utcoffset() == dt.timedelta(0) and end.utcoffset() == dt.timedelta(0)
        assert span <= end - start <= span + dt.timedelta(seconds=2)
        assert picker.start.value == start.strftime("%Y-%m-%d %H:%M:%S")  # shown as UTC
    picker.quick.value = "all"
    assert picker.start.value == "" and picker.end.value == ""
    assert picker.query()["start"] is None and picker.query()["end"] is None


def test_editing_start_by_hand_leaves_the_quick_range(local_lake):
    picker = LakePicker(local_lake, quick="last day")
    assert picker.wait(BOUND_S)
    assert picker.quick.value == "last day"
    picker.start.value = "2015-03-20"
    assert picker.quick.value is None
    assert picker.query()["start"] == dt.datetime(2015, 3, 20, tzinfo=UTC)


def test_quick_ranges_choose_the_files(local_lake, tmp_path):
    recs = push_recent(local_lake, tmp_path)
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)
    expected = {"last hour": {"recent"}, "last day": {"recent"}, "last week": {"recent", "days"},
                "all": {"recent", "days", "old"}}
    for name, names in expected.items():
        picker.quick.value = name
        picker.list_button.click()
        assert picker.wait(BOUND_S)
        assert set(picker.results["id"]) == {recs[n].id for n in names}, name
    assert picker.message.value == ""


def test_list_fills_results_summary_table_and_rows(local_lake, tmp_path):
    recs = push_fixed(local_lake, tmp_path, 3)
    push_fixed(local_lake, tmp_path, 2, what="syslog")
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.what.value = ("nginx",)
    frame = picker.do_list()
    assert frame is picker.results
    assert list(frame.columns) == COLUMNS
    assert list(frame["id"]) == [r.id for r in recs]
    summary = text(picker.summary.value)
    assert summary.startswith("3 files, 21 B")  # 3 x 'file N\n'
    assert "showing" not in summary
    # The table is the selection: one option per file, its columns under the heading.
    assert len(picker.rows.options) == 3
    heading = text(picker.table_head.value).split()
    assert heading == ["#", "start", "(UTC)", "end", "(UTC)", "what", "where", "data-version",
                       "ext", "size", "work_id"]
    for n, (label, value) in enumerate(picker.rows.options):
        cells = label.split()  # no-break spaces are whitespace too
        assert value == n and cells[:7] == [str(n), "2015-03-20", f"{n:02d}:00:00", "2015-03-20",
                                            f"{n:02d}:59:00", "nginx", "web01"]
        assert cells[7:] == [recs[n].data_version, recs[n].ext, "7", "B"]
    starts = {label.index("2015") for label, _ in picker.rows.options}
    assert starts == {picker.table_head.value.index("start")}  # the columns line up
    assert picker.table.children[2] is picker.rows and picker.rows not in picker.children
    shown = [c for c in picker.children if isinstance(c, ipywidgets.SelectMultiple)]
    assert shown == []  # no second list of the same rows beside the table


def test_summary_names_the_time_range(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 3)
    picker = LakePicker(local_lake, quick=None)
    assert picker.wait(BOUND_S)
    picker.start.value = "2015-03-20 01:30"
    picker.end.value = "2015-03-20T05:00:00Z"
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert len(picker.results) == 2  # 01:00-01:59 and 02:00-02:59 overlap the range
    assert "from 2015-03-20 01:30:00 to 2015-03-20 05:00:00 UTC" in text(picker.summary.value)


def test_truncated_table_says_so(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 5)
    picker = LakePicker(local_lake, quick="all", max_rows=2)
    assert picker.wait(BOUND_S)
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert len(picker.results) == 5
    assert "showing first 2 of 5" in text(picker.summary.value)
    assert "showing first 2 of 5" in text(picker.table_note.value)
    assert len(picker.rows.options) == 2
    picker.max_rows = 10
    assert "showing" not in text(picker.summary.value) and len(picker.rows.options) == 5


def test_no_match_says_so(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 1)
    picker = LakePicker(local_lake, quick="last hour")
    assert picker.wait(BOUND_S)
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert len(picker.results) == 0 and list(picker.results.columns) == COLUMNS
    assert "no files" in text(picker.summary.value)
    assert picker.rows.options == ()


def test_selecting_rows_sets_selected(local_lake, tmp_path):
    recs = push_fixed(local_lake, tmp_path, 4)
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    picker.rows.value = (3, 1)
    assert list(picker.selected["id"]) == [recs[1].id, recs[3].id]
    assert list(picker.selected.columns) == COLUMNS
    picker.list_button.click()  # a new listing clears the selection
    assert picker.wait(BOUND_S)
    assert len(picker.selected) == 0 and picker.rows.value == ()


def test_observers_fire(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 2)
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    seen = {"results": [], "selected": [], "paths": []}
    for name in seen:
        picker.observe(lambda change, name=name: seen[name].append(change["new"]), names=name)
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert len(seen["results"]) == 1 and len(seen["results"][0]) == 2
    picker.rows.value = (1,)
    assert len(seen["selected"][-1]) == 1
    picker.dest.value = str(tmp_path / "out")
    picker.fetch_button.click()
    assert picker.wait(BOUND_S)
    assert len(seen["paths"]) == 1 and len(seen["paths"][0]) == 1


def test_fetch_selected_rows(lake, tmp_path):
    recs = push_fixed(lake, tmp_path, 3, work_id="job-1")
    picker = LakePicker(lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    picker.rows.value = (0, 2)
    picker.dest.value = str(tmp_path / "out")
    picker.fetch_button.click()
    assert picker.wait(BOUND_S)
    assert picker.message.value == ""
    assert len(picker.paths) == 2 and all(isinstance(p, Path) for p in picker.paths)
    assert [p.read_text() for p in picker.paths] == ["file 0\n", "file 2\n"]
    assert all(p.is_relative_to(tmp_path / "out") for p in picker.paths)
    assert text(picker.paths_output.value).splitlines() == [str(p) for p in picker.paths]
    assert picker.progress.value == picker.progress.max == 2
    assert picker.progress.bar_style == "success"
    assert recs[0].id[-8:] in picker.paths[0].name


def test_fetch_with_nothing_selected_fetches_all_listed(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 3)
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.dest.value = str(tmp_path / "all")
    picker.do_list()
    paths = picker.do_fetch()
    assert paths == picker.paths
    assert sorted(p.read_text() for p in paths) == ["file 0\n", "file 1\n", "file 2\n"]


def test_fetch_moves_the_progress_bar_file_by_file(local_lake, tmp_path):
    """One fetch at the lake's full concurrency; the lake reports each file to the bar
    (no batches), and the shared Lake is left as it was."""
    local_lake.concurrency = 2
    push_fixed(local_lake, tmp_path, 5)
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    values = []
    picker.progress.observe(lambda change: values.append(change["new"]), names="value")
    picker.dest.value = str(tmp_path / "out")
    picker.do_list()
    picker.do_fetch()
    assert values == [1, 2, 3, 4, 5]
    assert len(picker.paths) == 5 and local_lake.progress is False


def test_a_large_fetch_counts_bytes_not_files(local_lake, tmp_path):
    """Two 6 MiB files: the bar moves by bytes within each file (not '0/2' until the first
    is whole), says how much of how much, and ends full."""
    payload = [bytes([65 + n]) * (6 << 20) for n in range(2)]
    for n, data in enumerate(payload):
        (tmp_path / f"big{n}.log").write_bytes(data)
        local_lake.push(tmp_path / f"big{n}.log", what="big", where="h",
                        start=f"2015-03-20T0{n}:00Z", data_version="0")
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    seen = []
    picker.progress.observe(lambda change: seen.append(
        (picker.progress.value, picker.progress.max, picker.progress.description)), names="value")
    picker.dest.value = str(tmp_path / "out")
    picker.do_list()
    picker.do_fetch()
    total = 12 << 20
    during = [(value, top, said) for value, top, said in seen if top == total]
    assert len(during) > 10  # many steps, not one per file
    assert [value for value, _, _ in during] == sorted(value for value, _, _ in during)
    assert any(0 < value < 6 << 20 for value, _, _ in during)  # inside the first file
    assert "MiB / 12.0 MiB" in during[len(during) // 2][2] and "/2 files" in during[-1][2]
    assert picker.progress.value == picker.progress.max and picker.progress.bar_style == "success"
    assert sorted(p.read_bytes() for p in picker.paths) == payload


def test_a_failed_list_keeps_the_listing_before_and_shows_the_error(local_lake, tmp_path,
                                                                     monkeypatch):
    recs = push_fixed(local_lake, tmp_path, 3)
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.do_list()
    picker.rows.value = (1,)

    def down(**_):
        raise ConnectionError("endpoint went away")
    monkeypatch.setattr(local_lake, "list", down)
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert_short_error(picker, "List failed", "ConnectionError: endpoint went away")
    assert list(picker.results["id"]) == [r.id for r in recs] and len(picker.rows.options) == 3
    assert "the last one failed" in text(picker.summary.value)
    assert list(picker.selected["id"]) == [recs[1].id]  # the choice stays too
    monkeypatch.undo()
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert picker.message.value == "" and "failed" not in text(picker.summary.value)


def test_dest_defaults_to_the_configured_fetch_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DATALAKE_FETCH_DIR", str(tmp_path / "fetched"))
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    push_fixed(lake, tmp_path, 1)
    picker = LakePicker(lake, quick="all")
    assert picker.wait(BOUND_S)
    assert picker.dest.value == str(tmp_path / "fetched")
    picker.do_list()
    (path,) = picker.do_fetch()
    assert path.is_relative_to(tmp_path / "fetched") and path.read_text() == "file 0\n"


def test_default_lake_comes_from_the_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("DATALAKE_STORAGE_URL", str(tmp_path / "configured"))
    monkeypatch.setenv("DATALAKE_CACHE_DIR", str(tmp_path / "cache"))
    push_fixed(Lake(progress=False), tmp_path, 1, what="conf")
    picker = LakePicker()
    assert picker.wait(BOUND_S)
    assert picker.lake.url.endswith("configured")
    assert picker.what.options == ("conf",)


def test_work_id_filter(local_lake, tmp_path):
    job = push_fixed(local_lake, tmp_path, 2, work_id="job-7")
    push_fixed(local_lake, tmp_path, 2, what="other")
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.work_id.value = " job-7 "
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert set(picker.results["id"]) == {r.id for r in job}
    assert picker.rows.options[0][0].split()[-1] == "job-7"


def assert_short_error(picker, *needles):
    message = text(picker.message.value)
    assert message, "an error message is shown"
    assert "Traceback" not in message and "\n" not in message and len(message) < 400
    for needle in needles:
        assert needle in message


def test_bad_work_id_shows_a_message_not_a_traceback(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 2)
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert len(picker.results) == 2
    picker.work_id.value = "null"
    picker.list_button.click()  # must not raise
    assert picker.wait(BOUND_S)
    assert_short_error(picker, "List failed", "work_id", "null")
    # the listing before stays, and says so
    assert len(picker.results) == 2 and len(picker.rows.options) == 2
    assert not picker.list_button.disabled
    assert text(picker.summary.value).startswith("2 files")
    assert "the last one failed" in text(picker.summary.value)
    picker.work_id.value = ""
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert picker.message.value == "" and len(picker.results) == 2  # the message goes away


def test_end_before_start_shows_a_message(local_lake):
    picker = LakePicker(local_lake, quick=None)
    assert picker.wait(BOUND_S)
    picker.start.value = "2015-03-21"
    picker.end.value = "2015-03-20"
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert_short_error(picker, "end", "before start")


def test_fetch_before_list_shows_a_message(local_lake):
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)
    picker.fetch_button.click()
    assert picker.wait(BOUND_S)
    assert_short_error(picker, "Fetch failed", "nothing to fetch")
    assert picker.paths == []


def test_unexpected_errors_are_one_line_too(local_lake, monkeypatch):
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)

    def boom(**_):
        raise RuntimeError("store exploded\nwith details\n  on more lines")
    monkeypatch.setattr(local_lake, "list", boom)
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert_short_error(picker, "RuntimeError: store exploded with details on more lines")


def test_a_corrupt_file_fails_the_fetch_inside_the_widget(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 1)
    stored = [p for p in (tmp_path / "lake" / "data").rglob("*") if p.is_file()]
    assert len(stored) == 1
    stored[0].chmod(0o644)
    stored[0].write_text("tampered\n")
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.dest.value = str(tmp_path / "out")
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    picker.fetch_button.click()
    assert picker.wait(BOUND_S)
    assert_short_error(picker, "Fetch failed", "hash")
    assert picker.paths == [] and picker.progress.bar_style == "danger"
    assert not picker.fetch_button.disabled


def test_a_bad_configuration_shows_in_the_widget(monkeypatch):
    monkeypatch.setenv("DATALAKE_CONCURRENCY", "0")
    picker = LakePicker()
    assert picker.wait(BOUND_S)
    assert picker.lake is None
    assert_short_error(picker, "DATALAKE_CONCURRENCY")
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert_short_error(picker, "no lake")


def test_timeline_tab_draws_the_results(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 2)
    push_fixed(local_lake, tmp_path, 1, where="db01")
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert picker.timeline_output.outputs == ()  # drawn only when the tab is shown
    picker.tabs.selected_index = 1
    (output,) = picker.timeline_output.outputs
    assert base64.b64decode(output["data"]["image/png"]).startswith(b"\x89PNG")
    assert output["data"]["text/plain"] == "<timeline of 3 files>"
    picker.where.value = ("db01",)
    picker.list_button.click()  # the visible timeline follows new results
    assert picker.wait(BOUND_S)
    (output,) = picker.timeline_output.outputs
    assert output["data"]["text/plain"] == "<timeline of 1 files>"
    import matplotlib.pyplot as plt
    assert plt.get_fignums() == []  # no figure left open
    assert picker.message.value == ""


def test_close_closes_the_controls(local_lake):
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)
    picker.close()
    assert picker.list_button.comm is None and picker.comm is None


# -- issue 11: never block the kernel, never surprise --------------------------------------

from datalake_nb.stores.local import LocalStore  # noqa: E402

from support.helpers import gated_lake, push_many_small  # noqa: E402

def test_the_picker_appears_at_once_and_loads_the_catalog_in_the_background(tmp_path):
    lake, store = gated_lake(tmp_path, "list")
    push_fixed(lake, tmp_path, 1, what="nginx")
    began = time.monotonic()
    picker = LakePicker(lake)  # the catalog listing now hangs at the gate
    assert time.monotonic() - began < BOUND_S and store.reached.wait(BOUND_S)
    assert "connecting to" in text(picker.summary.value) and picker.what.options == ()
    assert picker.busy == "Catalog" and picker.list_button.disabled
    assert not picker.cancel_button.disabled
    assert picker.wait(0.2) is False  # still waiting for the lake
    store.gate.set()
    assert picker.wait(BOUND_S)
    assert picker.what.options == ("nginx",) and picker.message.value == ""
    assert "connecting" not in text(picker.summary.value) and not picker.list_button.disabled


def test_a_failing_catalog_is_an_error_line_inside_the_widget(tmp_path):
    from support.faults import FaultyStore
    store = FaultyStore(LocalStore(tmp_path / "lake")).inject("list", "*", "fail")
    picker = LakePicker(Lake(store=store, cache_dir=tmp_path / "cache", progress=False))
    assert picker.wait(BOUND_S)
    assert_short_error(picker, "Catalog failed", "injected failure")
    assert "connecting" not in text(picker.summary.value)
    assert not picker.list_button.disabled and picker.busy == ""


def test_list_runs_in_the_background_and_cancel_abandons_it(tmp_path):
    lake, store = gated_lake(tmp_path, "list", nth=2)  # the 1st list: the catalog; the 2nd: List
    push_fixed(lake, tmp_path, 2)
    picker = LakePicker(lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.list_button.click()  # returns at once, though the listing hangs
    assert store.reached.wait(BOUND_S) and picker.busy == "List"
    assert picker.list_button.disabled and picker.fetch_button.disabled
    picker.cancel_button.click()
    assert picker.busy == "" and not picker.list_button.disabled and picker.cancel_button.disabled
    assert "List cancelled" in text(picker.message.value)
    store.gate.set()  # the abandoned listing answers late: its answer is ignored
    for thread in threading.enumerate():
        if thread.name == "LakePicker List":
            thread.join(BOUND_S)
    assert len(picker.results) == 0 and "List cancelled" in text(picker.message.value)
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert len(picker.results) == 2


def test_fetch_with_nothing_selected_asks_before_fetching_everything(local_lake, tmp_path):
    recs = push_many_small(local_lake, tmp_path, 300)
    picker = LakePicker(local_lake, quick="all", max_rows=50)
    assert picker.wait(BOUND_S)
    picker.dest.value = str(tmp_path / "out")
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert len(picker.results) == 300 and len(picker.rows.options) == 50
    assert picker.fetch_button.description == "Fetch all 300"  # it says what it will do
    picker.fetch_button.click()
    assert picker.wait(BOUND_S)
    assert picker.paths == [] and not (tmp_path / "out").exists()  # nothing fetched yet
    assert picker.confirm.layout.display != "none"
    question = text(picker.confirm_text.value)
    assert "all 300 files" in question and "KiB" in question and str(tmp_path / "out") in question
    picker.confirm_no.click()
    assert picker.confirm.layout.display == "none"
    assert picker.paths == [] and not (tmp_path / "out").exists()

    picker.rows.value = (4, 7)  # Fetch acts on the selection
    assert picker.fetch_button.description == "Fetch 2 selected"
    picker.fetch_button.click()
    assert picker.wait(BOUND_S)
    assert [p.read_text() for p in picker.paths] == ["small file 4\n", "small file 7\n"]
    assert len(list((tmp_path / "out").rglob("*.log"))) == 2

    picker.rows.value = ()
    picker.fetch_button.click()
    picker.confirm_yes.click()
    assert picker.wait(BOUND_S)
    assert picker.message.value == "" and len(picker.paths) == 300
    assert sorted(p.read_text() for p in picker.paths) == sorted(f"small file {n}\n" for n in range(300))
    shown = picker.paths_output.value
    assert "<details>" in shown and f"300 files in {tmp_path / 'out' / 'web01'}: show" in text(shown)
    assert {r.id[-8:] for r in recs} == {p.stem[-8:] for p in picker.paths}


def test_cancel_stops_a_fetch_and_keeps_the_finished_files(tmp_path):
    lake, store = gated_lake(tmp_path, "get", nth=20)  # the 20th download waits at the gate
    push_many_small(lake, tmp_path, 300)
    lake.concurrency = 8
    picker = LakePicker(lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.dest.value = str(tmp_path / "out")
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    picker.fetch_button.click()
    picker.confirm_yes.click()
    assert store.reached.wait(BOUND_S) and picker.busy == "Fetch"
    assert not picker.cancel_button.disabled and picker.fetch_button.disabled
    picker.cancel_button.click()
    store.gate.set()  # the download in flight goes on, reports progress and is dropped
    assert picker.wait(BOUND_S), "the fetch did not stop"
    kept = picker.paths
    # When the 20th download starts, at most 8 files are in flight (it among them), so
    # at least 12 are placed; after the cancel no queued file starts.
    assert 20 - lake.concurrency <= len(kept) < 20 + lake.concurrency, len(kept)
    assert all(p.read_text().startswith("small file ") for p in kept)
    on_disk = sorted((tmp_path / "out").rglob("*"))
    assert sorted(p for p in on_disk if p.is_file()) == sorted(kept)  # nothing partial
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.name.startswith(".datalake-")]
    assert store.calls["get"] < 30  # queued downloads were not started
    assert f"Fetch cancelled: {len(kept)} of 300 files fetched" in text(picker.message.value)
    assert picker.progress.bar_style == "warning" and picker.progress.value == len(kept)
    assert picker.busy == "" and not picker.list_button.disabled
    picker.fetch_button.click()  # again: the rest, the kept ones come from the cache
    picker.confirm_yes.click()
    assert picker.wait(BOUND_S)
    assert len(picker.paths) == 300 and picker.message.value == ""
    assert store.calls["get"] < 300 + 30 - len(kept)


def test_a_new_list_clears_the_last_fetch(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 3)
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.dest.value = str(tmp_path / "out")
    picker.do_list()
    picker.rows.value = (0,)
    picker.do_fetch()
    assert len(picker.paths) == 1 and picker.paths_output.value and picker.progress.value == 1
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert picker.paths == [] and picker.paths_output.value == ""
    assert picker.progress.value == 0 and picker.progress.bar_style == ""
    assert picker.progress.description == ""


def test_an_unreadable_time_is_an_error_line_not_no_limit(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 3)
    picker = LakePicker(local_lake, quick="all")
    assert picker.wait(BOUND_S)
    picker.start.value = "2015-03-20 1:30"  # what a person may type: not a time the lake reads
    assert_short_error(picker, "start: cannot read", "2015-03-20 1:30")
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert_short_error(picker, "List failed", "start", "cannot read")
    assert len(picker.results) == 0  # not all files, as if no start was given
    picker.start.value = "2015-03-20 01:30"
    assert picker.message.value == ""  # fixed: the message goes away
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert len(picker.results) == 2


def test_times_are_utc_whatever_the_local_time_zone(local_lake, tmp_path):
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        push_fixed(local_lake, tmp_path, 12)
        before = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(hours=1)
        picker = LakePicker(local_lake, quick="last hour")
        assert picker.wait(BOUND_S)
        after = dt.datetime.now(UTC) - dt.timedelta(hours=1)
        shown = dt.datetime.strptime(picker.start.value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        assert before <= shown <= after  # an hour before now in UTC (New York is 4-5 h off)
        picker.start.value, picker.end.value = "2015-03-20 10:00", "2015-03-20 10:30"
        picker.list_button.click()
        assert picker.wait(BOUND_S)
        assert [s.hour for s in picker.results["start"]] == [10]  # 10:00 UTC, not New York
        assert "from 2015-03-20 10:00:00 to 2015-03-20 10:30:00 UTC" in text(picker.summary.value)
    finally:  # the zone this process had, for the tests after this one
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_the_default_range_is_the_newest_files_day(local_lake, tmp_path):
    push_fixed(local_lake, tmp_path, 3, what="nginx")  # 2015-03-20
    old = local_lake.push(write(tmp_path / "src" / "old.log", "old\n"), what="syslog",
                          where="db01", start="2014-07-01T12:00Z", data_version="0")
    picker = LakePicker(local_lake)  # the data is years old: "last day" would show nothing
    assert picker.wait(BOUND_S)
    assert picker.quick.value == "newest day"
    assert (picker.start.value, picker.end.value) == ("2015-03-20 00:00:00", "2015-03-21 00:00:00")
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert len(picker.results) == 3 and set(picker.results["what"]) == {"nginx"}
    picker.what.value = ("syslog",)  # the newest day of the chosen what, at List time
    picker.list_button.click()
    assert picker.wait(BOUND_S)
    assert picker.start.value == "2014-07-01 00:00:00" and list(picker.results["id"]) == [old.id]


def test_the_newest_day_of_an_empty_lake_is_no_limit(local_lake):
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)
    assert picker.start.value == "" and picker.end.value == ""


def test_search_narrows_whats_and_wheres(local_lake, tmp_path):
    items = [dict(path=write(tmp_path / "hosts" / f"{n}.log", f"{n}\n"), what="nginx",
                  where=f"web{n:03d}", start="2015-03-20", data_version="0") for n in range(200)]
    items.append(dict(path=write(tmp_path / "hosts" / "db.log", "db\n"), what="postgres",
                      where="db01", start="2015-03-20", data_version="0"))
    local_lake.push_many(items)
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)
    assert len(picker.where.options) == 201
    picker.where.value = ("web007",)
    picker.search.value = "DB"  # any case
    assert picker.where.options == ("db01", "web007")  # the chosen one stays offered
    assert picker.what.options == ()  # no what has 'db' in its name
    picker.search.value = "web19"
    assert picker.where.options == ("web007",) + tuple(f"web{n}" for n in range(190, 200))
    picker.search.value = "post"
    assert picker.what.options == ("postgres",)
    picker.search.value = ""
    assert len(picker.where.options) == 201 and picker.where.value == ("web007",)


def test_layout_keeps_long_things_in_their_boxes(local_lake):
    picker = LakePicker(local_lake)
    assert picker.wait(BOUND_S)
    assert picker.timeline_output.layout.max_height and picker.timeline_output.layout.overflow == "auto"
    for control in (picker.what, picker.where, picker.start, picker.end, picker.work_id,
                    picker.dest, picker.search):
        assert control.style.description_width == "initial", control.description  # never cut
    assert picker.rows.description == "" and picker.rows.layout.max_width == "100%"
    assert picker.quick.style.button_width == "auto"  # "newest day" was cut at 6.5em


def test_lake_fetch_stops_when_its_cancel_event_is_set(tmp_path):
    """The hook the picker's Cancel uses: Lake.fetch(cancel=) stops as Ctrl-C does."""
    from datalake_nb import Interrupted
    lake, store = gated_lake(tmp_path, "get", nth=3)
    recs = push_many_small(lake, tmp_path, 40)
    lake.concurrency = 2
    cancel = threading.Event()
    threading.Thread(target=lambda: store.reached.wait(BOUND_S) and (cancel.set(), store.gate.set()),
                     daemon=True).start()
    with pytest.raises(Interrupted, match=r"interrupted: \d+ of 40 file\(s\) fetched") as info:
        lake.fetch(recs, dest=tmp_path / "out", cancel=cancel)
    assert store.calls["get"] <= 4  # the queued 36 never started
    # like Ctrl-C: the files the message counts were placed (whole), nothing else
    finished = int(str(info.value).split("interrupted: ")[1].split(" ")[0])
    placed = sorted(p for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert len(placed) == finished <= 2
    wanted = {rec.id[-8:]: f"small file {n}\n" for n, rec in enumerate(recs)}
    assert all(p.read_text() == wanted[p.stem[-8:]] for p in placed)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.name.startswith(".datalake-")]


def test_a_lake_folder_that_does_not_exist_is_an_error_line(tmp_path):
    picker = LakePicker(Lake(str(tmp_path / "typo"), cache_dir=tmp_path / "cache"))
    assert picker.wait(BOUND_S)
    assert "no lake at" in picker.message.value and "typo" in picker.message.value


@pytest.mark.parametrize("confirm_bytes, asks", [(20, True), (10_000, False)])
def test_fetch_all_asks_above_confirm_bytes_whatever_the_count(local_lake, tmp_path,
                                                               confirm_bytes, asks):
    """Two listed files of 30 bytes, nothing selected, confirm_files far above 2: Fetch
    asks first exactly when their 60 bytes are more than confirm_bytes."""
    for n in range(2):
        local_lake.push(write(tmp_path / "src" / f"{n}.log", f"{n}" * 29 + "\n"), what="nginx",
                        where="web01", start=f"2015-03-20T0{n}:00Z", data_version="0")
    picker = LakePicker(local_lake, quick="all")
    picker.confirm_files, picker.confirm_bytes = 1000, confirm_bytes
    picker.dest.value = str(tmp_path / "out")
    assert picker.wait(BOUND_S)
    picker.list_button.click()
    assert picker.wait(BOUND_S) and len(picker.results) == 2
    picker.fetch_button.click()
    assert picker.wait(BOUND_S)
    assert (picker.confirm.layout.display != "none") == asks
    if asks:
        assert "all 2 files" in text(picker.confirm_text.value) and picker.paths == []
        picker.confirm_yes.click()
        assert picker.wait(BOUND_S)
    assert sorted(p.read_text() for p in picker.paths) == ["0" * 29 + "\n", "1" * 29 + "\n"]
