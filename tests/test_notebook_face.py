"""How %lake reads in a notebook (issue 11 items 3, 7, 8, 9): the hint of an empty list,
`%lake?` short with the configuration once, values that display well (text, human sizes on
integer columns, a timeline without a stray <Axes> line), bars that do not linger, and
failures that are one line (not UsageError) while the API raises one clean exception."""
from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import traceback

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from datalake_nb import DatalakeError, Lake
from datalake_nb.commands import COMMANDS
from datalake_nb.config import SETTINGS
from datalake_nb.output import COLUMNS
from datalake_nb.notebook.magics import LakeFailure
from datalake_nb.engine.progress import TqdmProgress

from support.helpers import write


@pytest.fixture
def html(ip):
    """The shell formats HTML too, as a Jupyter kernel's does (a terminal's does not)."""
    formatter = ip.display_formatter.formatters["text/html"]
    enabled, formatter.enabled = formatter.enabled, True
    yield
    formatter.enabled = enabled


# -- item 3: an empty list says why -------------------------------------------------

def test_an_empty_list_shows_its_hint_and_returns_the_frame(ip, filled, html):
    with capture_output() as shown:
        frame = ip.run_line_magic("lake", "list --what ngnix")
    assert isinstance(frame, pd.DataFrame) and frame.empty and list(frame.columns) == COLUMNS
    hint = "no what 'ngnix' in this lake; did you mean 'nginx'?"
    assert frame.attrs["hint"] == hint
    [remark] = shown.outputs
    assert remark.data["text/plain"] == f"%lake list: {hint}"
    assert hint.replace("'", "&#x27;") in remark.data["text/html"]
    with capture_output() as shown:
        assert len(ip.run_line_magic("lake", "list --what nginx")) == 2
        assert ip.run_line_magic("lake", "list --what nginx --start 2030-01-01").empty
        assert ip.run_line_magic("lake", "list --what ngnix --output json") == []
    [remark] = shown.outputs  # the json one; a known name with no files in range: no remark
    assert remark.data["text/plain"] == f"%lake list: {hint}"


# -- item 7 (issue 20 item 16): %lake? short, settings explained once -----------------------

def test_help_is_an_overview_first_with_the_configuration_once(ip, capsys, monkeypatch):
    """`%lake?` is an overview of at most 80 lines (each command in a line or two: what it
    returns, an example), then where to read more; a command's -h shows its own options and
    one line on the settings, which `%lake config -h` explains, once."""
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps to the terminal
    doc = ip.find_line_magic("lake").__doc__
    lines = doc.splitlines()
    assert len(lines) <= 80 and max(map(len, lines)) <= 100
    for command in COMMANDS:  # a line for what it is and returns, a line of example
        [at] = [i for i, line in enumerate(lines) if line.startswith(f"  {command} ")]
        assert "returns" in lines[at] and lines[at + 1].strip().startswith(f"%lake {command}")
    assert "%lake use" in doc and "%lake pick" in doc and "%%lake" in doc
    assert "%lake config -h" in doc and "docs/notebooks.md" in doc.splitlines()[-1]
    assert "--storage-url" in doc and "DATALAKE_S3_READ_TIMEOUT" not in doc  # settings: once
    assert "prints" not in doc and "JSON line" not in doc  # notebook words
    ip.run_line_magic("lake", "list -h")
    text = capsys.readouterr().out
    assert text.startswith("usage: %lake list [-h] [--what WHAT]")
    assert "returns DataFrame" in text and "print" not in text.split("filters:")[0]
    body = text[text.index("\n\n"):]  # after the usage lines
    assert body.index("\nfilters:") < body.index("\n  --output") < body.index("\nsettings:")
    assert "--storage-url" in body and "--s3-read-timeout" not in body
    assert "`%lake config -h` explains them" in body.splitlines()[-1]
    ip.run_line_magic("lake", "config -h")
    config = capsys.readouterr().out
    for setting in SETTINGS:  # each setting once, a line each
        assert sum(line.split()[:1] == [setting.flag or setting.name] for line in
                   config.splitlines()) == 1, setting.name


# -- item 8: values that read well ---------------------------------------------------

def test_cat_is_text_that_displays_as_text(ip, filled, tmp_path):
    path = write(tmp_path / "two.log", "first line\nsecond line\n")
    rec = ip.run_line_magic("lake", f"push {path} --what two --where h --start now "
                                     "--data-version 0")
    text = ip.run_line_magic("lake", f"cat {rec.id}")
    assert isinstance(text, str) and text == "first line\nsecond line\n"
    shown, _ = ip.display_formatter.format(text)
    assert shown["text/plain"] == "first line\nsecond line\n"  # not "'first line\\nsecond...'"


def test_record_frames_show_human_sizes_on_integer_values(ip, filled, tmp_path, html):
    big = write(tmp_path / "big.log", "x" * 1536)
    ip.run_line_magic("lake", f"push {big} --what big --where h --start now --data-version 0")
    frame = ip.run_line_magic("lake", "list --what big")
    assert str(frame["size"].dtype) == "Int64" and frame["size"].sum() == 1536
    shown, _ = ip.display_formatter.format(frame)
    assert "1.5 KiB" in shown["text/html"] and "1536" not in shown["text/html"]
    with pd.option_context("display.max_columns", 20, "display.width", 400):  # no "..."
        assert "1.5 KiB" in ip.display_formatter.format(frame)[0]["text/plain"]
    assert list(frame.columns) == COLUMNS  # what, where, start, ... first; id, hash, url last
    picked = frame[frame["what"] == "big"]  # still a record frame
    assert "1.5 KiB" in ip.display_formatter.format(picked)[0]["text/html"]
    other = pd.DataFrame({"size": [1536], "name": ["a"]})  # not ours: pandas' own display
    assert ip.display_formatter.format(other)[0]["text/html"] == other._repr_html_()
    ip.run_line_magic("unload_ext", "datalake_nb")
    assert "1.5 KiB" not in ip.display_formatter.format(frame)[0]["text/html"]
    ip.run_line_magic("load_ext", "datalake_nb")


def test_a_timeline_spans_the_querys_range(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache")
    lake.push(write(tmp_path / "a.log", "a"), what="nginx", where="web01",
              start="2015-03-20T10:00Z", end="2015-03-20T11:00Z", data_version="0")
    ax = lake.timeline(start="2015-03-20", end="2015-03-21")
    low, high = ax.get_xlim()
    day = mdates.date2num(pd.Timestamp("2015-03-20").to_pydatetime())
    assert low <= day and high >= day + 1  # the empty hours before and after show
    ax = lake.timeline(what="nginx")  # no range given: the data's own
    assert ax.get_xlim()[0] > day + 0.3
    plt.close("all")


def test_a_timeline_in_a_notebook_is_its_figure_without_an_axes_line(tmp_path):
    """As the last expression of a cell: the figure once, no `<Axes: ...>` text (the inline
    backend in a real IPython shell; a subprocess so the backend does not leak)."""
    code = textwrap.dedent(f"""
        from IPython.testing.globalipapp import start_ipython
        from IPython.utils.capture import capture_output
        ip = start_ipython()
        ip.run_line_magic("matplotlib", "inline")
        ip.run_cell("from datalake_nb import Lake\\nlake = Lake({str(tmp_path / 'lake')!r})")
        ip.run_cell("lake.push(__file__ if False else {str(write(tmp_path / 'a.log', 'a'))!r}, "
                    "what='a', where='h', start='2015-03-20', end='2015-03-21', data_version='0')")
        for source in ("lake.timeline()", "ax = lake.timeline()"):
            with capture_output() as cap:
                ip.run_cell(source)
                ip.run_cell("pass")
            kinds = [o.data["text/plain"].split()[0] for o in cap.outputs]
            print(source, "|", kinds, "|", "<Axes" in cap.stdout)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "|" in line]
    assert lines == ["lake.timeline() | ['<Figure'] | False",
                     "ax = lake.timeline() | ['<Figure'] | False"]


def test_short_work_leaves_no_bar_and_many_small_files_are_counted(tmp_path):
    from tqdm import tqdm

    class Bar(tqdm):  # a real tqdm bar that remembers what it was made with
        made: list = []

        def __init__(self, *args, **kwargs):
            Bar.made.append(kwargs)
            super().__init__(*args, **kwargs, file=io.StringIO())

    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache")
    paths = [write(tmp_path / f"{i}.log", "abcd") for i in range(120)]
    bar = TqdmProgress(Bar)
    lake.push_many(paths, progress=bar, what="many", where="h", start="2015-03-20",
                   data_version="0")
    [options] = Bar.made
    assert options["delay"] >= 1.0  # shown only once the work takes a second
    assert options["unit"] == "file" and options["total"] == 120
    Bar.made.clear()
    lake.push_many(paths[:30], progress=TqdmProgress(Bar), what="few", where="h",
                   start="2015-03-20", data_version="0")
    assert Bar.made[0]["unit"] == "B" and Bar.made[0]["total"] == 120  # 30 files: bytes


# -- item 9: failures are one line, not UsageError; the API's one exception ---------------

def test_a_network_failure_is_one_line_not_a_usage_error(ip, refused, capsys):
    ip.run_line_magic("lake", "use s3://nobucket/x")
    with pytest.raises(LakeFailure) as info:
        ip.run_line_magic("lake", "list --what nginx")
    assert not isinstance(info.value, UsageError) and isinstance(info.value, DatalakeError)
    assert str(info.value).startswith("%lake list: cannot reach the S3 endpoint " + refused)
    assert info.value.__cause__ is not None  # the store's error, for whoever digs
    capsys.readouterr()
    result = ip.run_cell("%lake list --what nginx\nafter = 1")
    assert isinstance(result.error_in_exec, LakeFailure) and "after" not in ip.user_ns
    shown = capsys.readouterr()
    printed = (shown.out + shown.err).strip()
    assert printed.splitlines() == [f"LakeFailure: {info.value}"]  # no traceback
    with pytest.raises(UsageError, match="what"):  # the user's own mistake stays UsageError
        ip.run_line_magic("lake", "list --what bad.name")


def test_the_api_raises_one_clean_exception(refused, tmp_path):
    with pytest.raises(DatalakeError) as info:
        Lake("s3://nobucket/x", cache_dir=tmp_path / "c").list(what="a,b,c,d")  # 4 x 5 scans
    chain, exc = [], info.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    modules = [type(e).__module__ for e in chain]
    assert not any(m.startswith("concurrent") for m in modules), modules
    assert sum(isinstance(e, DatalakeError) for e in chain) == 1
    text = "".join(traceback.format_exception(info.value))
    assert text.count(f"datalake_nb.core.errors.{type(info.value).__name__}: ") == 1
    assert "CancelledError" not in text and "TimeoutError" not in text
