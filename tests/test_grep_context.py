"""grep as every grep user expects (issue 20 item 12): -A/-B/-C context lines with GNU
grep's output (checked against GNU grep on the same files), -c with each file's start,
and the notebook showing a matched line whole."""
from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from datalake_nb import InvalidInput
from datalake_nb.cli import main
from datalake_nb.notebook import display

from support.helpers import write

TEXT = ("".join(f"line {n}{' x' if n in (2, 6, 11, 13) else ''}\n" for n in range(1, 15)))
SECOND = "x first\nplain\nplain\nplain\nx last\n"


@pytest.fixture
def two(local_lake, tmp_path, monkeypatch):
    """Two files in a lake, the CLI pointed at it; returns (lake, {label: text})."""
    recs = [local_lake.push(write(tmp_path / "a.log", TEXT), what="app", where="web01",
                            start="2026-11-01T09:00Z", end="2026-11-01T09:59Z", data_version="1"),
            local_lake.push(write(tmp_path / "b.log", SECOND), what="app", where="web02",
                            start="2026-11-02T09:00Z", end="2026-11-02T09:59Z", data_version="1")]
    monkeypatch.setenv("DATALAKE_STORAGE_URL", local_lake.url)
    monkeypatch.setenv("DATALAKE_CACHE_DIR", str(local_lake.cache.root))
    labels = {f"{r.where}:{r.what}:{_compact(r.start)}": text
              for r, text in zip(recs, (TEXT, SECOND))}
    return local_lake, labels


def _compact(ms: int) -> str:
    from datalake_nb.core import times
    return times.compact(ms)


def _cli(capsys, *args):
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


@pytest.mark.skipif(shutil.which("grep") is None, reason="needs GNU grep to compare with")
@pytest.mark.parametrize("options", [["-C", "1"], ["-A", "2"], ["-B", "3"], ["-A", "1", "-B", "0"],
                                     ["-C", "2", "-B", "0"], ["-v", "-C", "1"], ["-C", "9"],
                                     ["-C", "0"]],
                         ids=" ".join)
def test_context_lines_are_gnu_greps(two, capsys, tmp_path, options):
    lake, labels = two
    folder = tmp_path / "as-files"  # the same files, named as datalake grep names them
    folder.mkdir()
    for label, text in labels.items():
        (folder / label).write_text(text)
    gnu = subprocess.run(["grep", "-H", "-n", *options, "x", *labels], cwd=folder,
                         capture_output=True, text=True, timeout=60)
    code, out = _cli(capsys, "grep", "x", "--what", "app", *options)
    assert (code, out) == (gnu.returncode, gnu.stdout)
    assert "--\n" in out or options == ["-C", "9"]


def test_the_api_marks_the_context_lines(two):
    lake, _ = two
    found = lake.grep("x", what="app", where="web01", context=1)
    assert list(found["line_number"]) == [1, 2, 3, 5, 6, 7, 10, 11, 12, 13, 14]
    assert list(found.loc[found["match"], "line_number"]) == [2, 6, 11, 13]
    assert found.loc[0, "line"] == "line 1" and found["match"].dtype == bool
    after = lake.grep("x", what="app", where="web01", after=1, context=3)  # after wins
    assert list(after["line_number"])[:6] == [1, 2, 3, 4, 5, 6]
    plain = lake.grep("x", what="app", where="web01")
    assert "match" not in plain.columns and len(plain) == 4
    zero = lake.grep("x", what="app", where="web01", context=0)  # grep -C 0: just the matches
    assert list(zero["line_number"]) == [2, 6, 11, 13] and zero["match"].all()
    empty = lake.grep("nothing here", what="app", before=2)
    assert empty.empty and "match" in empty.columns
    with pytest.raises(InvalidInput, match="before: -1: allowed: a number of lines"):
        lake.grep("x", what="app", before=-1)


def test_count_has_each_files_start(two, capsys):
    lake, labels = two
    from datalake_nb.commands import _grep_counts
    counts = _grep_counts(lake.count_matches("x", what="app"))
    assert list(counts.columns) == ["where", "what", "start", "count", "id"]
    assert list(counts["start"]) == [pd.Timestamp("2026-11-01T09:00Z"),
                                     pd.Timestamp("2026-11-02T09:00Z")]
    assert list(counts["count"]) == [4, 2]
    code, out = _cli(capsys, "grep", "-c", "-C", "2", "x", "--what", "app")  # -c: no context
    assert code == 0 and out.splitlines() == [f"{label}:{n}" for label, n in zip(labels, (4, 2))]


def test_the_notebook_shows_a_line_whole(two):
    lake, _ = two
    long = "203.0.113.9 - - [01/Nov/2026:09:00:00 +0000] \"GET /api/orders/42?page=7 HTTP/1.1\" 500 1234"
    lake.push(write(lake.cache.root.parent / "long.log", long + "\n"), what="web", where="w",
              start="2026-11-01T09:00Z", data_version="1")
    found = lake.grep('" 500 ', what="web")
    shown = display.frame_html(found)
    assert long.replace('"', "&quot;") in shown or long in shown  # not cut at 50 characters
    assert 'style="white-space: pre-wrap; text-align: left' in shown

    class Printer:
        lines: list[str] = []

        def group(self):
            import contextlib
            return contextlib.nullcontext()

        def break_(self):
            pass

        def text(self, text):
            self.lines.append(text)

    display.frame_text(found, Printer(), False)
    assert any(long in line for line in Printer.lines)
