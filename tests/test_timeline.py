"""timeline(): one row per where, bars from start to end, colour by what, UTC axis."""
from __future__ import annotations

import subprocess
import sys

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

from datalake_nb import InvalidInput  # noqa: E402
from datalake_nb.plot import timeline  # noqa: E402

from support.helpers import write  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def num(text):
    return mdates.date2num(pd.Timestamp(text).to_pydatetime())


def bars(ax):
    """(x0, x1, y0, y1, rgba) of every bar drawn by broken_barh."""
    out = []
    for coll in ax.collections:
        if isinstance(coll, PolyCollection):
            for path, colour in zip(coll.get_paths(), _repeat(coll.get_facecolor(), len(coll.get_paths()))):
                v = path.vertices
                out.append((v[:, 0].min(), v[:, 0].max(), v[:, 1].min(), v[:, 1].max(), tuple(colour)))
    return sorted(out)


def markers(ax):
    """(x, y0, y1, rgba) of every instant marker (vertical line segments)."""
    out = []
    for coll in ax.collections:
        if isinstance(coll, LineCollection):
            for seg, colour in zip(coll.get_segments(), _repeat(coll.get_color(), len(coll.get_segments()))):
                assert seg[0][0] == seg[1][0], "an instant is a vertical line"
                out.append((seg[0][0], min(seg[0][1], seg[1][1]), max(seg[0][1], seg[1][1]), tuple(colour)))
    return sorted(out)


def _repeat(colours, n):
    return [colours[i % len(colours)] for i in range(n)]


@pytest.fixture
def archive(local_lake, tmp_path):
    """web01: nginx 00-01 and 03-04 (a gap at 01-03), syslog 00-04; db01: syslog 02-03 and an instant report."""
    log = write(tmp_path / "a.log", "line\n")
    base = dict(data_version="0")
    local_lake.push(log, what="nginx", where="web01", start="2015-03-20T00:00Z", end="2015-03-20T01:00Z", **base)
    local_lake.push(log, what="nginx", where="web01", start="2015-03-20T03:00Z", end="2015-03-20T04:00Z", **base)
    local_lake.push(log, what="syslog", where="web01", start="2015-03-20T00:00Z", end="2015-03-20T04:00Z", **base)
    local_lake.push(log, what="syslog", where="db01", start="2015-03-20T02:00Z", end="2015-03-20T03:00Z", **base)
    local_lake.push(log, what="report", where="db01", start="2015-03-20T02:30Z", **base)
    return local_lake.list()


def test_one_row_per_where_sorted_first_on_top(archive):
    ax = timeline(archive)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["db01", "web01"]
    assert list(ax.get_yticks()) == [0, 1]
    bottom, top = ax.get_ylim()
    assert bottom > top  # row 0 (db01) is drawn at the top


def test_bars_span_start_to_end_in_their_where_row(archive):
    ax = timeline(archive)
    drawn = bars(ax)
    assert len(drawn) == 4  # the instant is not a bar
    spans = sorted((x0, x1) for x0, x1, *_ in drawn)
    expected = sorted((num(s), num(e)) for s, e in [
        ("2015-03-20T00:00Z", "2015-03-20T01:00Z"), ("2015-03-20T03:00Z", "2015-03-20T04:00Z"),
        ("2015-03-20T00:00Z", "2015-03-20T04:00Z"), ("2015-03-20T02:00Z", "2015-03-20T03:00Z")])
    assert [v for span in spans for v in span] == pytest.approx([v for span in expected for v in span])
    for x0, x1, y0, y1, _ in drawn:
        row = 0 if (x0, x1) == pytest.approx((num("2015-03-20T02:00Z"), num("2015-03-20T03:00Z"))) else 1
        assert row - 0.5 < y0 < y1 < row + 0.5
    # the gap in web01's nginx (01:00-03:00) is not covered by any nginx bar
    nginx = [(x0, x1) for x0, x1, y0, y1, _ in drawn if y1 - y0 < 0.5 and 0.5 < y0 < 1.5
             and (x1 - x0) < num("2015-03-20T02:00Z") - num("2015-03-20T00:00Z")]
    assert not any(x0 < num("2015-03-20T02:00Z") < x1 for x0, x1 in nginx)


def test_whats_in_one_row_get_separate_lanes(archive):
    ax = timeline(archive)
    web = [(y0, y1) for _, _, y0, y1, _ in bars(ax) if y0 > 0.5]
    lanes = sorted(set(web))
    assert len(lanes) == 2  # nginx and syslog
    assert lanes[0][1] <= lanes[1][0] + 1e-9  # they do not overlap


def test_colour_by_what_with_one_legend_entry_each(archive):
    ax = timeline(archive)
    legend = ax.get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["nginx", "report", "syslog"]
    legend_colour = {label: tuple(h.get_facecolor()) for label, h in zip(labels, legend.legend_handles)}
    assert len(set(legend_colour.values())) == 3
    nginx_x = {(num("2015-03-20T00:00Z"), num("2015-03-20T01:00Z")),
               (num("2015-03-20T03:00Z"), num("2015-03-20T04:00Z"))}
    for x0, x1, _, _, colour in bars(ax):
        is_nginx = any((x0, x1) == pytest.approx(span) for span in nginx_x)
        assert colour == pytest.approx(legend_colour["nginx" if is_nginx else "syslog"])


def test_instants_get_a_visible_marker_in_their_row(archive):
    ax = timeline(archive)
    (x, y0, y1, colour), = markers(ax)
    assert x == pytest.approx(num("2015-03-20T02:30Z"))
    assert -0.5 < y0 < y1 < 0.5 and y1 - y0 > 0.1  # db01's row, a lane tall
    report = {t.get_text(): tuple(h.get_facecolor())
              for t, h in zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)}["report"]
    assert colour == pytest.approx(report)
    low, high = ax.get_xlim()
    assert low < x < high


def test_x_limits_cover_every_file(archive):
    ax = timeline(archive)
    low, high = ax.get_xlim()
    assert low < num("2015-03-20T00:00Z") and high > num("2015-03-20T04:00Z")
    assert high - low < 0.5  # a few hours, not padded to days


def test_time_axis_is_utc_and_readable(archive):
    with matplotlib.rc_context({"timezone": "America/New_York"}):
        ax = timeline(archive)
        ax.figure.canvas.draw()
        labels = {round(x, 6): t.get_text() for x, t in zip(ax.get_xticks(), ax.get_xticklabels())}
    assert "UTC" in ax.get_xlabel()
    # ticks read in UTC even when matplotlib's own time zone is New York (there: 20:00, 22:00)
    assert labels[round(num("2015-03-20T00:00Z"), 6)] in ("00:00", "Mar-20")
    assert labels[round(num("2015-03-20T02:00Z"), 6)] == "02:00"
    for text in labels.values():
        with pytest.raises(ValueError):
            float(text)  # dates, not raw day numbers


def test_empty_frame_says_no_files(local_lake):
    ax = timeline(local_lake.list())
    assert [t.get_text() for t in ax.texts] == ["no files"]
    assert bars(ax) == [] and markers(ax) == []
    assert list(ax.get_yticks()) == []


def test_draws_into_a_given_axes_with_a_title(archive):
    fig, (left, right) = plt.subplots(1, 2)
    ax = timeline(archive, ax=right, title="coverage")
    assert ax is right
    assert right.get_title() == "coverage"
    assert bars(left) == [] and len(bars(right)) == 4


def test_new_figure_when_no_axes(archive):
    before = len(plt.get_fignums())
    ax = timeline(archive)
    assert len(plt.get_fignums()) == before + 1
    assert ax.figure.get_size_inches()[1] > 1.5
    assert "5 files" in ax.get_title()


def test_records_are_accepted_too(local_lake, archive):
    ax = timeline(local_lake.records(where="db01"))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["db01"]


def test_a_frame_without_the_columns_is_refused():
    with pytest.raises(InvalidInput, match="where"):
        timeline(pd.DataFrame({"what": ["x"], "start": [pd.Timestamp("2015-03-20", tz="UTC")]}))


def test_all_instants_at_one_time_still_get_a_range(local_lake, tmp_path):
    local_lake.push(write(tmp_path / "s.txt", "x"), what="snap", where="db01",
                    start="2015-03-20T12:00Z", data_version="0")
    ax = timeline(local_lake.list())
    low, high = ax.get_xlim()
    assert low < num("2015-03-20T12:00Z") < high and high - low > 0.01
    assert len(markers(ax)) == 1


def test_lake_timeline_lists_with_filters_or_draws_a_frame(local_lake, archive):
    ax = local_lake.timeline(what="syslog")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["db01", "web01"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["syslog"]
    assert len(bars(ax)) == 2
    ax = local_lake.timeline(archive[archive["where"] == "web01"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["web01"]
    assert len(bars(ax)) == 3


def test_lake_timeline_rejects_bad_filters(local_lake):
    with pytest.raises(InvalidInput, match="what"):
        local_lake.timeline(what="bad.name")


def test_importing_the_package_does_not_import_matplotlib_pandas_or_ipywidgets():
    code = ("import sys, datalake_nb, datalake_nb.plot, datalake_nb.lake; "
            "print(sorted(m for m in ('matplotlib', 'pandas', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
