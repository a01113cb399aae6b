"""The end of a file's life: rm, expire, Lake.remove, %lake rm.  After a remove every face
agrees (list, latest, where and work queries, read, catalog, check), and a remove killed
(SIGKILL) before any of its steps is found by check and finished by check --repair."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datalake_nb import Lake
from datalake_nb.cli import main
from datalake_nb.core import layout
from datalake_nb.core.errors import InvalidInput, NotFound
from datalake_nb.core.times import now_ms
from datalake_nb.engine.remove import REMOVING

from support import figures
from support.helpers import fetchable_rows, wait_for, write

TESTS = Path(__file__).parent
ALL_QUERIES = ({}, {"where": "h2"}, {"what": "app", "where": "h2"}, {"work_id": "job-9"},
               {"what": "app"}, {"where": "h1"})


def push_three(lake: Lake, tmp_path: Path) -> list:
    """h1 and h2 of app (h2 with work id job-9), and h1 of other."""
    out = []
    for what, where, work in [("app", "h1", None), ("app", "h2", "job-9"), ("other", "h1", None)]:
        path = write(tmp_path / f"{what}-{where}.log", f"{what} {where} line\n")
        out.append(lake.push(path, what=what, where=where, start="2015-03-20T00:00:00Z",
                             end="2015-03-20T01:00:00Z", data_version="0", work_id=work))
    return out


def every_key(lake: Lake) -> list[str]:
    return [e.key for prefix in (layout.DATA, layout.WHERE, layout.WORK, layout.CATALOG,
                                 REMOVING) for e in lake.store.list(prefix)]


def test_rm_of_one_file_leaves_every_face_agreeing(lake, tmp_path):
    app_h1, app_h2, other_h1 = push_three(lake, tmp_path)
    assert [r.id for r in lake.remove(app_h2.id)] == [app_h2.id]
    for query in ALL_QUERIES:
        assert app_h2.id not in [r.id for r in lake.records(**query)], query
    assert [r.id for r in lake.records()] == sorted([app_h1.id, other_h1.id])
    assert lake.records(work_id="job-9") == [] and lake.records(where="h2") == []
    assert lake.latest("app").id == app_h1.id
    with pytest.raises(NotFound):
        lake.latest("app", where="h2")
    with pytest.raises(NotFound):
        lake.get(app_h2.id)
    assert set(lake.read(what="app", format="lines")["id"]) == {app_h1.id}
    assert lake.catalog() == {"app": ["h1"], "other": ["h1"]}  # h2's last file went
    assert lake.check().ok, str(lake.check())
    assert not any(app_h2.hash in key for key in every_key(lake))


def test_rm_of_several_needs_yes_and_a_dry_run_removes_nothing(lake, tmp_path):
    recs = push_three(lake, tmp_path)
    before = every_key(lake)
    with pytest.raises(InvalidInput, match="3 files match and nothing was removed"):
        lake.remove(start="2015-03-20")
    assert sorted(r.id for r in lake.remove(what="app,other", dry_run=True)) == sorted(
        r.id for r in recs)
    assert every_key(lake) == before
    removed = lake.remove(lake.list(what="app"), yes=True)
    assert sorted(r.id for r in removed) == sorted(r.id for r in recs[:2])
    assert [r.id for r in lake.records()] == [recs[2].id]
    assert lake.catalog() == {"other": ["h1"]}
    assert lake.check().ok


def test_remove_drops_the_cached_copy(local_lake, tmp_path):
    rec = push_three(local_lake, tmp_path)[0]
    cached = local_lake.cached([rec])[0]
    assert cached.exists()
    local_lake.remove([rec])
    assert not cached.exists()


def test_expire_removes_by_end_time_only(lake, tmp_path):
    day = 86_400_000
    now = now_ms()
    ages = {"ended-500d-ago": (now - 600 * day, now - 500 * day),
            "instant-401d-ago": (now - 401 * day, None),
            "started-long-ago-ended-recently": (now - 900 * day, now - 10 * day),
            "recent": (now - 2 * day, now - day)}
    recs = {name: lake.push(write(tmp_path / f"{name}.log", name), what="app", where="h1",
                            start=start, end=end, data_version="0")
            for name, (start, end) in ages.items()}
    would = lake.expire("400d", dry_run=True)
    assert sorted(r.id for r in would) == sorted([recs["ended-500d-ago"].id,
                                                  recs["instant-401d-ago"].id])
    with pytest.raises(InvalidInput, match="yes"):
        lake.expire("400d")
    assert len(lake.expire("400d", yes=True)) == 2
    assert sorted(r.id for r in lake.records()) == sorted(
        [recs["started-long-ago-ended-recently"].id, recs["recent"].id])
    assert lake.expire("400d") == []
    assert lake.check().ok
    with pytest.raises(InvalidInput, match="older-than"):
        lake.expire("soon")


def test_cli_rm_and_expire(local_lake, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATALAKE_STORAGE_URL", local_lake.url)
    monkeypatch.setenv("DATALAKE_CACHE_DIR", str(tmp_path / "cache"))
    recs = push_three(local_lake, tmp_path)
    assert main(["rm", "--what", "app"]) == 2  # two files: shown, not removed
    out, err = capsys.readouterr()
    assert recs[0].id in out and recs[1].id in out and "give --yes" in err
    assert len(local_lake.records()) == 3
    assert main(["rm", "--what", "app", "--dry-run", "--yes"]) == 0
    assert "would remove 2 file(s) (dry run)" in capsys.readouterr().err
    assert main(["rm", recs[0].id]) == 0  # one file: no --yes needed
    assert "removed 1 file(s)" in capsys.readouterr().err
    assert main(["rm"]) == 2
    assert "give ids or at least one of --what" in capsys.readouterr().err
    assert main(["rm", "0123", "--what", "app"]) == 2
    assert main(["expire", "--older-than", "1d", "--yes"]) == 0
    assert "removed 2 file(s)" in capsys.readouterr().err
    assert main(["expire", "--older-than", "tomorrow"]) == 2
    assert "older-than" in capsys.readouterr().err
    assert local_lake.records() == [] and local_lake.check().ok


def test_lake_rm_magic_asks_for_yes_too(ip, lake_url, tmp_path):
    lake = Lake(lake_url, cache_dir=tmp_path / "cache", progress=False)
    recs = push_three(lake, tmp_path)
    shown = ip.run_line_magic("lake", "rm --where h1")
    assert sorted(shown["id"]) == sorted([recs[0].id, recs[2].id])
    assert len(lake.records()) == 3  # nothing removed without --yes
    assert list(ip.run_line_magic("lake", "rm --where h1 --yes")["id"]) == sorted(
        [recs[0].id, recs[2].id])
    assert [r.id for r in lake.records()] == [recs[1].id]


# A real process that removes one record through a store which stops dead before the
# chosen step (after saying where, in the marker file): then it is SIGKILLed.
REMOVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from datalake_nb import Lake
    from datalake_nb.config import resolve
    from datalake_nb.stores.registry import open_store
    from support.faults import StopBeforeDelete
    url, family, marker, record_id = sys.argv[2:6]
    config = resolve({"DATALAKE_STORAGE_URL": url, "DATALAKE_CACHE_DIR": sys.argv[6]})
    store = StopBeforeDelete(open_store(config), family, Path(marker))
    Lake(config=config, store=store).remove(record_id)
""")
STEPS = ["put:removing", "work", "where", "data", "removing", "catalog"]


@pytest.mark.parametrize("step", STEPS)
def test_a_remove_killed_before_each_step_is_finished_by_check_repair(
        lake_url, lake, tmp_path, step):
    app_h1, app_h2, other_h1 = push_three(lake, tmp_path)
    marker = tmp_path / "stopped"
    proc = subprocess.Popen(
        [sys.executable, "-c", REMOVER, str(TESTS), lake_url, step, str(marker), app_h2.id,
         str(tmp_path / "cache-remover")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: marker.exists() or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    figures.add("kills survived")

    fetchable_rows(lake, tmp_path / "out")  # no listed row without its bytes, at any step
    report = lake.check()
    if step == "put:removing":  # nothing was done yet: the file is whole, the lake clean
        assert report.ok and app_h2.id in [r.id for r in lake.records()]
        lake.remove(app_h2.id)  # the remove, done again
    else:
        assert not report.ok
        kinds = {f.kind for f in report.left}
        expected = {"catalog": {"dangling-catalog-entry"},  # the marker is gone, the data too
                    "removing": {"unfinished-remove", "dangling-catalog-entry"}  # data gone
                    }.get(step, {"unfinished-remove"})
        assert kinds == expected, str(report)
        repaired = lake.check(repair=True)
        assert repaired.ok, str(repaired)
    assert lake.check().ok
    for query in ALL_QUERIES:
        assert app_h2.id not in [r.id for r in lake.records(**query)]
    assert sorted(r.id for r in lake.records()) == sorted([app_h1.id, other_h1.id])
    assert lake.catalog() == {"app": ["h1"], "other": ["h1"]}
    assert not any(app_h2.hash in key for key in every_key(lake))


def test_an_unfinished_remove_of_a_pair_without_its_catalog_entry_is_not_undone(lake, tmp_path):
    """The marker written, then the remove stopped; the pair's catalog entry was missing
    anyway (a push stopped before it): repair must not write the entry of a pair that is
    going away."""
    from datalake_nb.engine.remove import marker_key
    keep, going = push_three(lake, tmp_path)[:2]
    lake.store.delete(layout.catalog_key("app", "h2"))
    lake.store.put_bytes(marker_key(going), b"")
    report = lake.check()
    assert {f.kind for f in report.left} == {"unfinished-remove"}, str(report)
    assert lake.check(repair=True).ok
    assert lake.check().ok and lake.catalog() == {"app": ["h1"], "other": ["h1"]}
    assert [r.id for r in lake.records(what="app")] == [keep.id]
