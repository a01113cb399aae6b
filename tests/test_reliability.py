"""Regression tests for the second reliability round (issue 8): a re-push never deletes a
record, the bytes sent are the bytes hashed, `latest` is right, times up to 9999 survive a
DataFrame, the cache does not serve edited bytes, a long-lived Lake rewrites a catalog
entry that a repair dropped, and special files push as what they read."""
from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from datalake_nb import DatalakeError, Lake, NotFound
from datalake_nb.core import layout, times

from datalake_nb.stores.local import LocalStore

from support import figures
from support.faults import FaultyStore
from support.helpers import CountingStore, fields, write

FIELDS = fields(what="app", end="2015-03-20T01:00:00Z", work_id="job-7")
BIG = (16 << 20) + 12345  # over the one-PUT limit: a multipart upload on S3


class DuringPut(FaultyStore):
    """A store that runs ``action`` once, at the start of the first data upload."""

    def __init__(self, inner, action):
        super().__init__(inner)
        self.action = action

    def _first(self, key):
        if key.startswith("data/") and self.action is not None:
            action, self.action = self.action, None
            action()

    def put_file(self, key, source, metadata, progress=None, **options):
        self._first(key)
        return super().put_file(key, source, metadata, progress, **options)

    def put_bytes(self, key, data, metadata=None, **options):
        self._first(key)
        return super().put_bytes(key, data, metadata, **options)


def assert_whole(lake: Lake, rec, tmp_path: Path, content: bytes) -> None:
    """The record is listed (also by work id), fetches with its bytes, and check is clean."""
    assert rec.id in set(lake.list()["id"])
    assert rec.id in set(lake.list(work_id="job-7")["id"])
    fetched = lake.fetch([rec.id], dest=tmp_path / f"out-{time.monotonic_ns()}")
    figures.add("files lost", int(fetched[0].read_bytes() != content))
    assert fetched[0].read_bytes() == content
    assert lake.check(deep=True).ok


# -- 1. a re-push never deletes a record ------------------------------------------------

def test_a_re_push_of_a_growing_log_keeps_the_earlier_record(lake, tmp_path):
    """cron re-pushing a live log: a line appended while the second push uploads used to
    make it roll back -- deleting the key the first push had completed."""
    path = write(tmp_path / "app.log", "line 1\nline 2\n")
    first = lake.push(path, **FIELDS)
    store = DuringPut(lake.store, lambda: path.open("a").write("line 3\n"))
    again = Lake(config=lake.config, store=store, progress=False).push(path, **FIELDS)
    assert again.id == first.id  # what was read (and hashed) before the append
    assert store.calls["delete"] == 0
    assert_whole(lake, first, tmp_path, b"line 1\nline 2\n")


def test_a_re_push_that_fails_after_its_upload_keeps_the_earlier_record(lake, tmp_path):
    """The second of two identical pushes hits an outage between its upload and its
    index writes (the existence checks fail too): the first push's record stays."""
    path = write(tmp_path / "app.log", "payload\n")
    first = lake.push(path, **FIELDS)
    lake.store.delete(layout.catalog_key("app", "web01"))  # so an index write is needed
    store = FaultyStore(lake.store).inject("put", 3, "fail").inject("head", "*", "fail")
    with pytest.raises(DatalakeError, match="archived as .*check --repair"):
        Lake(config=lake.config, store=store, progress=False).push(path, **FIELDS)
    assert store.calls["delete"] == 0
    assert first.id in set(lake.list()["id"])
    assert lake.check(repair=True).left == []
    assert_whole(lake, first, tmp_path, b"payload\n")


class AfterData(FaultyStore):
    """A store that runs ``action`` once, right after the first data object is stored."""

    def __init__(self, inner, action):
        super().__init__(inner)
        self.action = action

    def put_bytes(self, key, data, metadata=None, **options):
        created = super().put_bytes(key, data, metadata, **options)
        if key.startswith("data/") and self.action is not None:
            action, self.action = self.action, None
            action()
        return created


def test_a_failed_push_never_deletes_the_record_an_identical_push_reported(lake, tmp_path):
    """A stores the data object; B, identical, finds it there, writes its entries and
    reports success; then A's catalog write fails.  A must not take B's record with it."""
    path = write(tmp_path / "app.log", "payload\n")
    lake.store.delete(layout.catalog_key("app", "web01"))
    reported = []
    store = AfterData(lake.store, lambda: reported.append(lake.push(path, **FIELDS)))
    store.inject("put", 3, "fail")  # A: data, where entry, then its catalog entry fails
    store.inject("head", "*", "fail")  # and asking whether it is there anyway fails too
    with pytest.raises(DatalakeError, match="archived as"):
        Lake(config=lake.config, store=store, progress=False).push(path, **FIELDS)
    assert store.calls["delete"] == 0
    assert lake.get(reported[0].id) == reported[0]
    report = lake.check()
    assert report.data == 1 and report.ok
    assert_whole(lake, reported[0], tmp_path, b"payload\n")


def test_a_push_that_fails_after_its_upload_keeps_its_record(lake, tmp_path):
    """Nothing is rolled back once the data object exists: the record lists and fetches,
    and the entries it lacks are written by a retry or by check --repair."""
    path = write(tmp_path / "app.log", "payload\n")
    store = FaultyStore(lake.store).inject("put", 4, "fail")  # its work entry, the last
    with pytest.raises(DatalakeError, match="archived as .*push it again or run 'datalake "
                                            "check --repair'"):
        Lake(config=lake.config, store=store, progress=False).push(path, **FIELDS)
    assert store.calls["delete"] == 0
    assert len(lake.list()) == 1 and lake.list(work_id="job-7").empty
    assert [f.kind for f in lake.check(repair=True).findings] == ["missing-work-entry"]
    assert len(lake.list(work_id="job-7")) == 1


def test_a_big_file_edited_in_place_during_its_push_is_refused_and_loses_nothing(lake, tmp_path):
    """Same size, same mtime: only the bytes show it.  The upload is abandoned before the
    object appears (on S3 the multipart upload is aborted); the earlier record is intact."""
    data = os.urandom(BIG)
    path = tmp_path / "big.log"
    path.write_bytes(data)
    first = lake.push(path, **{**FIELDS, "work_id": "job-7"})
    lake.store.delete(layout.data_key(first))  # the re-push must upload again
    stat = path.stat()

    def edit():
        with path.open("r+b") as f:
            f.seek(BIG - 10)
            f.write(bytes(b ^ 0xFF for b in data[-10:]))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    store = DuringPut(lake.store, edit)
    with pytest.raises(DatalakeError, match="changed while it was pushed"):
        Lake(config=lake.config, store=store, progress=False).push(path, **FIELDS)
    assert first.id not in set(lake.list()["id"])
    if hasattr(lake.store, "client"):
        uploads = lake.store.client.list_multipart_uploads(Bucket=lake.store.bucket)
        assert uploads.get("Uploads", []) == []
    else:
        assert not list((lake.store.root / ".tmp").iterdir())


# -- 6. a file replaced during a push ----------------------------------------------------

def test_a_file_replaced_during_its_push_gives_a_true_record(lake, tmp_path):
    """Replaced by a rename, with the same size and mtime: the record describes the bytes
    that were sent (the file as it was opened), so `check --deep` finds nothing."""
    path = write(tmp_path / "app.log", "version A\n")
    stat = path.stat()

    def replace():
        other = write(tmp_path / "other.log", "version B\n")
        os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(other, path)

    rec = Lake(config=lake.config, store=DuringPut(lake.store, replace), progress=False).push(
        path, **FIELDS)
    assert lake.check(deep=True).ok
    assert lake.fetch([rec.id], dest=tmp_path / "out")[0].read_bytes() == b"version A\n"


# -- 10. special files -------------------------------------------------------------------

def test_a_proc_file_is_pushed_as_read(lake, tmp_path):
    """/proc files say size 0 but have content: what is read is what is archived."""
    expected = Path("/proc/version").read_bytes()
    rec = lake.push("/proc/version", **{**FIELDS, "work_id": None})
    assert rec.size == len(expected) > 0
    assert lake.fetch([rec.id], dest=tmp_path / "out")[0].read_bytes() == expected


# -- 2. latest -----------------------------------------------------------------------------

def test_latest_is_the_latest_start_not_the_first_overlap(lake, tmp_path):
    now = times.now_ms()
    day = 86_400_000
    path = write(tmp_path / "a.log", "a\n")
    lake.push(path, what="app", where="web01", start=now - 5 * 365 * day, end=now + day,
              data_version="0")
    short = lake.push(write(tmp_path / "b.log", "b\n"), what="app", where="web01",
                      start=now - 2 * day, end=now - 2 * day + 60_000, data_version="0")
    assert lake.latest("app").id == short.id
    assert lake.latest("app", "web01").id == short.id


def test_latest_breaks_ties_by_the_later_push(lake, tmp_path):
    first = lake.push(write(tmp_path / "a.log", "first\n"), what="app", where="web01",
                      start="2020-01-01T00:00Z", end="2020-01-01T01:00Z", data_version="0")
    time.sleep(1.1)  # S3's LastModified has whole seconds
    second = lake.push(write(tmp_path / "b.log", "second\n"), what="app", where="web02",
                       start="2020-01-01T00:00Z", end="2020-01-01T01:00Z", data_version="0")
    assert lake.latest("app").id == second.id
    assert lake.latest("app", "web01").id == first.id


@pytest.mark.parametrize("seed", range(12))
def test_latest_agrees_with_brute_force(tmp_path, seed):
    """Random lakes (spans from an instant to 12 years, starts over 15 years around now):
    latest(what[, where]) is the max of list() by (start, end)."""
    rng = random.Random(seed)
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    now, year = times.now_ms(), 365 * 86_400_000
    for i in range(rng.randint(1, 25)):
        start = now + rng.randint(-12 * year, 3 * year)
        span = rng.choice([None, 0, 60_000, 86_400_000, 40 * 86_400_000, 5 * year, 12 * year])
        lake.push(write(tmp_path / f"f{i}.log", f"{seed} {i}\n"), what=rng.choice(["a", "b"]),
                  where=rng.choice(["w1", "w2", "w3"]), start=start,
                  end=None if span is None else start + span, data_version="0")
    records = lake.records()
    for what in ("a", "b"):
        for where in (None, "w1", "w2", "w3"):
            matching = [r for r in records if r.what == what and where in (None, r.where)]
            if not matching:
                with pytest.raises(NotFound):
                    lake.latest(what, where)
                continue
            best = max((r.start, r.stop) for r in matching)
            got = lake.latest(what, where)
            assert (got.start, got.stop) == best


def test_latest_reads_a_few_listings_however_many_old_records(tmp_path):
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    hour = 3_600_000
    base = times.to_ms("2024-01-01T00:00Z", "start")
    for i in range(400):  # hourly files over 17 days, two hosts
        lake.push(write(tmp_path / "in" / f"{i}.log", f"{i}\n"), what="app",
                  where="web01" if i % 2 else "web02", start=base + i * hour,
                  end=base + i * hour + hour - 1, data_version="0")
    counting = CountingStore(lake.store)
    counted = Lake(config=lake.config, store=counting, progress=False)
    assert counted.latest("app").start == base + 399 * hour
    assert counted.latest("app", "web02").start == base + 398 * hour
    # per span class: the years, months and days folders, then the newest day
    assert counting.calls["list"] <= 2 * (4 + 5)


# -- 4. times after 2262 -------------------------------------------------------------------

@pytest.mark.parametrize("start", ["2262-04-12T00:00Z", "2300-01-01T00:00Z",
                                   "9999-12-31T23:59:59.999Z"])
def test_rows_after_2262_fetch(tmp_path, start):
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    rec = lake.push(write(tmp_path / "a.log", "far\n"), what="app", where="web01",
                    start=start, data_version="0")
    frame = lake.list()
    assert list(frame["id"]) == [rec.id]
    paths = lake.fetch(frame, dest=tmp_path / "out")
    assert paths[0].read_text() == "far\n"


# -- 5. the cache does not serve edited bytes ------------------------------------------------

@pytest.mark.parametrize("how", ["append", "same-size"])
def test_editing_a_fetched_file_never_changes_a_later_fetch(lake, tmp_path, how):
    rec = lake.push(write(tmp_path / "a.log", "original content\n"), **FIELDS)
    first = lake.fetch([rec.id], dest=tmp_path / "one")[0]
    first.chmod(0o644)
    with first.open("r+b") as f:  # in place: the same inode as the cache entry, if linked
        if how == "append":
            f.seek(0, os.SEEK_END)
            f.write(b"edited\n")
        else:
            f.write(b"ORIGINAL")
    second = lake.fetch([rec.id], dest=tmp_path / "two")[0]
    assert second.read_bytes() == b"original content\n"


# -- 8. a long-lived Lake and a repair -------------------------------------------------------

def test_a_long_lived_lake_rewrites_a_catalog_entry_that_a_repair_dropped(lake, tmp_path):
    one = lake.push(write(tmp_path / "a.log", "a\n"), **{**FIELDS, "work_id": None})
    lake.store.delete(layout.data_key(one))  # the pair's data went away...
    assert [f.kind for f in lake.check(repair=True).findings] == ["dangling-where-entry",
                                                                   "dangling-catalog-entry"]
    assert lake.catalog() == {}  # ...and repair dropped its entry
    lake.push(write(tmp_path / "b.log", "b\n"), **{**FIELDS, "work_id": None})
    assert lake.catalog() == {"app": ["web01"]}


# -- empty answers say why (issue 11, item 3) ---------------------------------------------

def test_a_typo_in_a_local_lake_path_is_an_error_not_an_empty_lake(tmp_path):
    lake = Lake(str(tmp_path / "typo-lake"), cache_dir=tmp_path / "cache", progress=False)
    for read in (lake.list, lake.catalog, lambda: lake.latest("app"), lake.check):
        with pytest.raises(NotFound, match="no lake at .*typo-lake"):
            read()
    lake.push(write(tmp_path / "a.log", "a\n"), **FIELDS)  # a push creates it
    assert len(lake.list()) == 1


def test_an_empty_answer_names_what_the_catalog_does_not_know(lake, tmp_path):
    if isinstance(lake.store, LocalStore):
        lake.store.root.mkdir(parents=True, exist_ok=True)  # an empty lake, nothing yet
    assert "no lake there yet" in lake.list().attrs["hint"]
    lake.push(write(tmp_path / "a.log", "a\n"), **{**FIELDS, "what": "nginx"})
    assert lake.list(what="ngnix").attrs["hint"] == ("no what 'ngnix' in this lake; "
                                                     "did you mean 'nginx'?")
    assert lake.list(what="nginx", where="web1").attrs["hint"] == (
        "no where 'web1' for nginx; did you mean 'web01'?")
    assert lake.list(what="zzz").attrs["hint"] == "no what 'zzz' in this lake (known: nginx)"
    assert lake.list(what="nginx", start="2030-01-01").attrs["hint"] is None  # known names
    assert "hint" not in lake.list(what="nginx").attrs  # not empty: no hint
