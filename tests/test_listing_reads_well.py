"""Listings that cannot mislead (issue 20 items 1 and 11): data-version in every list
display, a word when one listing holds the same bytes under two data versions, and the
notebook display of a record frame that leads with what people read, folds the machine
columns away, never wraps a cell and ends with the totals."""
from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest
from IPython.utils.capture import capture_output

from datalake_nb import Lake
from datalake_nb.lake import SameBytesWarning
from datalake_nb.cli import main
from datalake_nb.notebook import display
from datalake_nb.output import COLUMNS

from support.helpers import write


@pytest.fixture
def twice(tmp_path):
    """One lake where one file was pushed under two data versions (as the demo and a
    notebook once did), and another file under one."""
    (tmp_path / "lake").mkdir()
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    path = write(tmp_path / "a.log", "one\ntwo\n")
    for version in ("1", "combined-1"):
        lake.push(path, what="nginx", where="web01", start="2026-11-01T09:00Z",
                  end="2026-11-01T09:59Z", data_version=version)
    lake.push(write(tmp_path / "b.log", "three\n"), what="nginx", where="web02",
              start="2026-11-01T09:00Z", end="2026-11-01T09:59Z", data_version="1")
    return lake


def _cli(lake, monkeypatch, capsys, *args):
    monkeypatch.setenv("DATALAKE_STORAGE_URL", lake.url)
    monkeypatch.setenv("DATALAKE_CACHE_DIR", str(lake.cache.root))
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- item 1 -------------------------------------------------------------------------

def test_the_cli_table_shows_data_version_and_warns_of_the_same_bytes_twice(
        twice, monkeypatch, capsys):
    code, out, err = _cli(twice, monkeypatch, capsys, "list", "--what", "nginx")
    assert code == 0
    header, *rows, total = out.splitlines()
    assert header.split() == ["ID", "WHAT", "WHERE", "DATA-VERSION", "START", "END", "SIZE",
                              "WORK_ID"]
    assert sorted(row.split()[3] for row in rows) == ["1", "1", "combined-1"]
    assert total.startswith("3 file(s)")
    assert err.count("\n") == 1 and err.startswith("datalake list: warning: 1 file(s)")
    assert "web01/nginx" in err and "'1' and 'combined-1'" in err
    code, out, err = _cli(twice, monkeypatch, capsys, "list", "--where", "web02")
    assert code == 0 and err == ""  # one data version each: nothing to say


def test_the_api_warns_and_keeps_the_remark(twice):
    with pytest.warns(SameBytesWarning, match="web01/nginx as data-version '1' and 'combined-1'"):
        frame = twice.list(what="nginx")
    assert list(frame.columns) == COLUMNS and len(frame) == 3
    assert frame.attrs["remark"].startswith("warning: 1 file(s)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = twice.list(where="web02")
    assert "remark" not in single.attrs


def test_the_magic_shows_the_remark_beside_the_frame(twice, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing.globalipapp import start_ipython
    monkeypatch.setenv("DATALAKE_STORAGE_URL", twice.url)
    monkeypatch.setenv("DATALAKE_PROGRESS", "off")
    start_ipython()
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "datalake_nb")
    try:
        with capture_output() as shown:
            frame = shell.run_line_magic("lake", "list --what nginx")
        [remark] = shown.outputs
        assert remark.data["text/plain"].startswith("%lake list: warning: 1 file(s)")
        assert frame.attrs["remark"].startswith("warning:") and len(frame) == 3
    finally:
        shell.run_line_magic("unload_ext", "datalake_nb")


# -- item 11 ------------------------------------------------------------------------

@pytest.fixture
def listed(tmp_path):
    (tmp_path / "lake").mkdir()
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    lake.push(write(tmp_path / "a.log", "x" * 1536), what="nginx", where="web01",
              start="2026-11-01T09:00Z", end="2026-11-01T09:59:59.999Z", data_version="1")
    lake.push(write(tmp_path / "b.log", "y" * 2048), what="nginx", where="web02",
              start="2026-11-01T10:00Z", end="2026-11-01T10:59:59.999Z", data_version="2",
              work_id="nightly-1")
    return lake.list()


def _cells(table: str) -> list[list[str]]:
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in
            re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)]


def test_the_html_leads_with_what_people_read_and_folds_the_rest(listed):
    shown = display.frame_html(listed)
    main_table, details = shown.split("<details>")
    header, first, second = _cells(main_table)
    assert header == ["", "start", "end", "what", "where", "data-version", "size", "work_id"]
    assert first == ["0", "2026-11-01 09:00:00.000", "2026-11-01 09:59:59.999", "nginx",
                     "web01", "1", "1.5 KiB", "-"]  # no None, no +00:00 on every row
    assert second[-1] == "nightly-1"
    for machine in ("hash", "url", "id"):
        assert f"<th style=\"white-space: nowrap\">{machine}</th>" not in main_table
        assert f">{machine}</th>" in details  # one click away
    assert listed["hash"][0] in details and listed["hash"][0] not in main_table
    assert "3.5 KiB" in main_table and "2 file(s), 3.5 KiB" in main_table  # the totals
    assert "<summary>all 12 columns (with version, ext, id, hash, url)</summary>" in details
    cells = re.findall(r"<t[dh]( [^>]*)?>", shown)
    assert cells and all('white-space: nowrap' in (attrs or "") for attrs in cells)
    assert list(listed.columns) == COLUMNS  # the frame itself keeps every column


def test_the_setting_shows_every_column(listed, monkeypatch):
    monkeypatch.setattr(display, "ALL_COLUMNS", True)
    shown = display.frame_html(listed)
    assert "<details>" not in shown and listed["hash"][0] in shown


def test_the_text_view_has_the_readable_columns_and_the_totals(listed):
    lines = []

    class Printer:
        def group(self):
            import contextlib
            return contextlib.nullcontext()

        def break_(self):
            lines.append("")

        def text(self, text):
            lines.append(text)

    with pd.option_context("display.width", 80):
        display.frame_text(listed, Printer(), False)
    text = [line for line in lines if line]
    assert text[0].split() == ["start", "end", "what", "where", "data-version", "size",
                               "work_id"]
    assert text[1].split()[-4:] == ["1", "1.5", "KiB", "-"]
    assert text[-1] == ("2 file(s), 3.5 KiB (times in UTC); not shown: version, ext, id, "
                        "hash, url (all columns: frame.columns)")
