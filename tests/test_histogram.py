"""Lake.histogram / `datalake hist` / `%lake hist`: lines (or grep matches) per time bin and
where, counted against a hand count of the sample logs; and the timeline's seams between
files that meet."""
from __future__ import annotations

import collections
import datetime as dt
import re
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from datalake_nb import Lake
from datalake_nb.cli import main
from datalake_nb.core.errors import InvalidInput
from datalake_nb.plot import histogram, timeline
from datalake_nb.rows.histogram import TARGET_BINS, auto_every, parse_every

matplotlib.use("agg")

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "logs"
NGINX_TIME = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d) \+0000\]")


def nginx_files() -> list[Path]:
    return sorted(SAMPLES.glob("*_nginx_*.log"))


@pytest.fixture
def samples_lake(tmp_path) -> Lake:
    """The sample nginx logs (two hosts, hourly files, web02 without 10:00), format set."""
    (tmp_path / "lake").mkdir()
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    for path in nginx_files():
        host, what, hour = path.stem.split("_")
        lake.push(path, what=what, where=host, start=f"{hour}:00:00Z",
                  end=f"{hour}:59:59.999Z", data_version="1")
    lake.set_format("nginx", "1", "nginx")
    return lake


def hand_count(minutes: int, pattern: str | None = None) -> collections.Counter:
    """{(bin start, host): lines} counted from the files' own text, with a regex of ours."""
    counted: collections.Counter = collections.Counter()
    for path in nginx_files():
        host = path.stem.split("_")[0]
        for line in path.read_text().splitlines():
            if pattern is not None and not re.search(pattern, line):
                continue
            stamp = dt.datetime.strptime(NGINX_TIME.search(line).group(1), "%d/%b/%Y:%H:%M:%S")
            stamp = stamp.replace(minute=stamp.minute - stamp.minute % minutes, second=0)
            counted[(pd.Timestamp(stamp, tz="UTC"), host)] += 1
    return counted


def as_counter(frame: pd.DataFrame) -> collections.Counter:
    return collections.Counter({(row.time, row.where): row.count
                                for row in frame.itertuples() if row.count})


def test_counts_per_minute_equal_a_hand_count(samples_lake):
    frame = samples_lake.histogram(what="nginx", every="1min")
    assert list(frame.columns) == ["time", "where", "count"]
    assert frame.attrs["every"] == pd.Timedelta("1min") and frame.attrs["untimed"] == 0
    assert as_counter(frame) == hand_count(1)
    assert frame["count"].sum() == sum(len(p.read_text().splitlines()) for p in nginx_files())


def test_every_bin_is_there_zeros_too(samples_lake):
    frame = samples_lake.histogram(what="nginx", every="1h")
    assert list(frame["time"].unique()) == list(pd.date_range("2026-11-01T09:00Z", periods=3,
                                                              freq="1h"))
    assert set(frame["where"]) == {"web01", "web02"} and len(frame) == 6
    gap = frame[(frame["where"] == "web02") & (frame["time"] == pd.Timestamp("2026-11-01T10:00Z"))]
    assert gap["count"].tolist() == [0]  # web02 has no file for 10:00: a zero, not a hole


def test_pattern_counts_the_matching_lines(samples_lake):
    frame = samples_lake.histogram(what="nginx", pattern=" 50[0-9] ", every="10min")
    assert frame.attrs["counting"] == "matches"
    assert as_counter(frame) == hand_count(10, " 50[0-9] ")
    assert frame["count"].sum() > 0
    # the bins span the files (09:00 .. 11:59), not only the first and last match
    assert frame["time"].min() == pd.Timestamp("2026-11-01T09:00Z")
    assert frame["time"].max() == pd.Timestamp("2026-11-01T11:50Z")


def test_start_and_end_clip_the_lines_and_span_the_bins(samples_lake):
    start, end = "2026-11-01T09:30:00Z", "2026-11-01T10:29:59Z"
    for pattern in (None, "GET"):
        frame = samples_lake.histogram(what="nginx", pattern=pattern, every="15min",
                                       start=start, end=end)
        assert frame["time"].min() == pd.Timestamp(start)
        assert frame["time"].max() == pd.Timestamp("2026-11-01T10:15Z")
        expected = {key: n for key, n in hand_count(15, pattern).items()
                    if pd.Timestamp(start) <= key[0] <= pd.Timestamp("2026-11-01T10:15Z")}
        assert as_counter(frame) == collections.Counter(expected)


def test_the_default_width_is_round_and_gives_at_most_60_bins(samples_lake):
    frame = samples_lake.histogram(what="nginx")
    bins = frame["time"].nunique()
    assert frame.attrs["every"] == pd.Timedelta("5min") and bins <= TARGET_BINS
    assert auto_every(pd.Timestamp("2026-01-01", tz="UTC"),
                      pd.Timestamp("2026-01-30", tz="UTC")) == pd.Timedelta("12h")
    assert auto_every(pd.Timestamp(0, tz="UTC"), pd.Timestamp(0, tz="UTC")) == pd.Timedelta("1s")


@pytest.mark.parametrize("every", ["3x", "", "0s", "1ms", 5])
def test_a_bad_width_is_one_line_naming_every(samples_lake, every):
    with pytest.raises(InvalidInput) as caught:
        samples_lake.histogram(what="nginx", every=every)
    assert caught.value.field == "every" and "\n" not in str(caught.value)


def test_widths_people_type():
    assert parse_every("5m") == parse_every("5min") == pd.Timedelta(minutes=5)
    assert parse_every("1d") == pd.Timedelta(days=1) and parse_every("2w") == pd.Timedelta(weeks=2)
    assert parse_every(dt.timedelta(seconds=30)) == pd.Timedelta(seconds=30)


def test_lines_without_a_format_are_a_mistake_that_names_the_format(tmp_path):
    (tmp_path / "lake").mkdir()
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    path = nginx_files()[0]
    lake.push(path, what="nginx", where="web01", start="2026-11-01T09:00Z", data_version="1")
    with pytest.raises(InvalidInput) as caught:
        lake.histogram(what="nginx", format="lines")
    assert caught.value.field == "format"
    assert lake.histogram(what="nginx", format="auto", every="1h")["count"].sum() == \
        len(path.read_text().splitlines())


def test_the_plot_stacks_a_bar_per_bin_and_where(samples_lake):
    frame = samples_lake.histogram(what="nginx", every="10min")
    ax = histogram(frame)
    bars = [p for p in ax.patches if p.get_height() > 0]
    assert sum(p.get_height() for p in bars) == frame["count"].sum()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["web01", "web02"]
    assert "Lines per 10 min" in ax.get_title()
    widths = {round(p.get_width() * 24 * 60, 6) for p in ax.patches}
    assert widths == {10.0}  # a bar is a bin wide (matplotlib's x is in days)


def test_cli_hist_prints_time_where_count_and_bars(samples_lake, capsys):
    args = ["--storage-url", samples_lake.url, "--cache-dir", str(samples_lake.cache.root)]
    assert main(["hist", "--what", "nginx", "--every", "1h", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["time", "(UTC)", "where", "count"]
    rows = [line.split() for line in lines[1:]]
    expected = hand_count(60)
    for day, clock, where, count, *bar in rows:
        assert int(count) == expected.get((pd.Timestamp(f"{day}T{clock}Z"), where), 0)
        assert bool(bar) == (int(count) > 0)
    assert main(["hist", "--what", "nginx", "--every", "1h", "--pattern", " 50[0-9] ",
                 "--output", "csv", *args]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0] == "time,where,count" and len(csv) == 7
    assert sum(int(row.rsplit(",", 1)[1]) for row in csv[1:]) == sum(
        hand_count(60, " 50[0-9] ").values())


def test_cli_hist_mistakes_are_one_line_exit_2(samples_lake, capsys):
    args = ["--storage-url", samples_lake.url]
    assert main(["hist", "--what", "nginx", "--every", "soon", *args]) == 2
    assert capsys.readouterr().err.startswith("datalake hist: error: every: 'soon'")
    assert main(["hist", "--what", "nginx", "-i", *args]) == 2
    assert "--pattern" in capsys.readouterr().err


def test_magic_hist_returns_the_counts_and_shows_the_picture(samples_lake, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing.globalipapp import start_ipython
    monkeypatch.setenv("DATALAKE_STORAGE_URL", samples_lake.url)
    monkeypatch.setenv("DATALAKE_PROGRESS", "off")
    start_ipython()
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "datalake_nb")
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *values, **kw: shown.extend(values))
    try:
        frame = shell.run_line_magic("lake", "hist --what nginx --every 1h")
    finally:
        shell.run_line_magic("unload_ext", "datalake_nb")
    assert as_counter(frame) == hand_count(60)
    assert len(shown) == 1 and shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"


# -- the timeline: files that meet are drawn with their edges --------------------------

def seams(ax) -> list[tuple[float, float, float]]:
    """(x, y0, y1) of each seam line the timeline drew."""
    found = []
    for collection in ax.collections:
        if collection.get_gid() == "file-seams":
            found += [(seg[0][0], seg[0][1], seg[1][1]) for seg in collection.get_segments()]
    return sorted(found)


def test_the_timeline_draws_where_adjacent_files_meet(samples_lake):
    frame = samples_lake.list(what="nginx")
    ax = timeline(frame)
    drawn = seams(ax)
    ten, eleven = (matplotlib.dates.date2num(pd.Timestamp(f"2026-11-01T{h}:00").to_datetime64())
                   for h in (10, 11))
    # web01 (the top row, y -0.4 .. 0.4): 09-10-11, two seams; web02: 09 and 11, a gap, none
    assert [round(x, 9) for x, _, _ in drawn] == [round(ten, 9), round(eleven, 9)]
    assert all(y0 == pytest.approx(-0.4) and y1 == pytest.approx(0.4) for _, y0, y1 in drawn)
    for collection in ax.collections:
        if collection.get_gid() == "file-seams":
            assert matplotlib.colors.to_hex(collection.get_colors()[0]) == "#ffffff"


def test_daily_files_that_meet_each_get_their_edge(tmp_path):
    frame = pd.DataFrame({
        "what": ["app"] * 4, "where": ["h"] * 4,
        "start": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-10"], utc=True),
        "end": pd.to_datetime(["2026-01-01T23:59:59.999", "2026-01-02T23:59:59.999",
                               "2026-01-03T23:59:59.999", "2026-01-10T23:59:59.999"], utc=True)})
    drawn = seams(timeline(frame))
    days = [matplotlib.dates.num2date(x).date().isoformat() for x, _, _ in drawn]
    assert days == ["2026-01-02", "2026-01-03"]  # not before the 10th: a week's gap shows
