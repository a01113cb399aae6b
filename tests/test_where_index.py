"""Where entries: a query for a few wheres reads those wheres' records, not every where's;
lakes written before them (or pushes by an older version) still answer in full, and
`check --repair` indexes them."""
from __future__ import annotations

import random
import time

import pytest

from datalake_nb import Lake
from datalake_nb.engine.check import check
from datalake_nb.core import layout
from datalake_nb.core.errors import DatalakeError
from datalake_nb.engine.query import WHERE_INDEX_MAX
from datalake_nb.engine.progress import FileCounter

from support.faults import FaultyStore
from support.helpers import CountingStore, write

HOUR = 3_600_000
BASE = 1_426_809_600_000  # 2015-03-20T00:00Z
WHERES = [f"web{i:02d}" for i in range(12)]


class KeyCounting(CountingStore):
    """Counts the keys that listings read."""

    keys = 0

    def list(self, prefix, start_after=None, stop=None):
        for entry in super().list(prefix, start_after, stop):
            self.keys += 1
            yield entry


@pytest.fixture
def busy(lake, tmp_path):
    """12 wheres x 6 hours of hourly files, one 3-day file from web03, one instant."""
    items = [dict(path=write(tmp_path / f"{w}-{h}.log", f"{w} {h}\n"), what="nginx", where=w,
                  start=BASE + h * HOUR, end=BASE + (h + 1) * HOUR - 1, data_version="0")
             for w in WHERES for h in range(6)]
    items.append(dict(path=write(tmp_path / "long.log", "long\n"), what="nginx", where="web03",
                      start=BASE - 2 * 24 * HOUR, end=BASE + 24 * HOUR, data_version="0"))
    items.append(dict(path=write(tmp_path / "snap.log", "snap\n"), what="nginx", where="web05",
                      start=BASE + 2 * HOUR + 5, data_version="0", work_id="job-1"))
    return lake.push_many(items)


def counting(lake, tmp_path):
    store = KeyCounting(lake.store)
    return store, Lake(store=store, cache_dir=tmp_path / "cache", progress=False)


def ids(records):
    return sorted(r.id for r in records)


def expected(recs, wheres, start=None, end=None):
    return ids(r for r in recs if r.where in wheres and (end is None or r.start <= end)
               and (start is None or r.stop >= start))


def make_old(lake):
    """The lake as a version before where entries wrote it: no where/ keys, 0-byte catalog."""
    for entry in list(lake.store.list(layout.WHERE)):
        lake.store.delete(entry.key)
    for entry in list(lake.store.list(layout.CATALOG)):
        lake.store.put_bytes(entry.key, b"")


def test_a_one_where_query_reads_that_wheres_records_only(lake, busy, tmp_path):
    store, counted = counting(lake, tmp_path)
    rows = counted.records(what="nginx", where="web03", start=BASE, end=BASE + 3 * HOUR)
    assert ids(rows) == expected(busy, ["web03"], BASE, BASE + 3 * HOUR) and len(rows) == 5
    assert store.keys == 5  # web03's four hours and its long file: nothing of other wheres
    assert store.calls["head"] == 1  # the pair's catalog entry: are its where entries complete?
    [row] = [r for r in rows if r.start == BASE]
    assert row.url == lake.store.url_for(layout.data_key(row)) and row.size == len("web03 0\n")
    with lake.open(row) as stream:  # a row found through its where entry is the record
        assert stream.read() == b"web03 0\n"


def test_where_queries_agree_with_filtered_data_listings(lake, busy):
    chooser = random.Random(7)
    for _ in range(25):
        wheres = chooser.sample(WHERES + ["nobody"], chooser.randint(1, 3))
        lo = BASE + chooser.randint(-3 * 24, 8) * HOUR + chooser.randint(0, HOUR)
        hi = lo + chooser.randint(0, 6 * HOUR)
        what = chooser.choice(["nginx", None])
        got = lake.records(what=what, where=wheres, start=lo, end=hi)
        assert ids(got) == expected(busy, wheres, lo, hi), (wheres, lo, hi)
    assert ids(lake.records(where="web05")) == expected(busy, ["web05"])
    assert ids(lake.records(where="web05", work_id="job-1")) == ids(
        r for r in busy if r.work_id == "job-1")


def test_many_wheres_read_the_data_listings(lake, busy, tmp_path):
    store, counted = counting(lake, tmp_path)
    wheres = WHERES[:WHERE_INDEX_MAX + 1]
    assert ids(counted.records(where=wheres)) == expected(busy, wheres)
    assert store.calls["head"] == 0 and store.keys == len(busy)  # one pass over the data


def test_an_old_lake_answers_in_full_and_repair_indexes_it(lake, busy, tmp_path):
    make_old(lake)
    store, counted = counting(lake, tmp_path)
    assert ids(counted.records(where="web03")) == expected(busy, ["web03"])
    assert store.keys == len(busy)  # not indexed: the data listings, filtered

    report = check(lake.store)
    found = sorted({f.kind for f in report.findings})
    assert found == ["missing-where-entry", "unindexed-pair"] and not report.ok
    assert sum(f.kind == "unindexed-pair" for f in report.findings) == len(WHERES)
    assert all(f.status == "fix with --repair" for f in report.findings)
    told = []
    shown = Lake(store=lake.store, cache_dir=tmp_path / "c2",
                 progress=FileCounter(lambda done, total: told.append((done, total))))
    assert shown.check(repair=True).ok  # the migration, with its progress
    fixes = len(busy) + len(WHERES)
    assert told[0] == (0, fixes) and told[-1] == (fixes, fixes)
    assert check(lake.store).findings == []

    store.keys = 0
    assert ids(counted.records(where="web03")) == expected(busy, ["web03"])
    assert store.keys == 7  # now through web03's where entries


def test_a_push_by_an_older_version_turns_its_pair_back_to_data_listings(lake, busy, tmp_path):
    """An older version writes the data object and a 0-byte catalog entry, no where entry:
    its file must not vanish from where queries."""
    late = write(tmp_path / "late.log", "late\n")
    rec = lake.push(late, what="nginx", where="web03", start=BASE + 9 * HOUR, data_version="0")
    lake.store.delete(layout.where_key(rec, rec.size))
    lake.store.put_bytes(layout.catalog_key("nginx", "web03"), b"")
    assert rec.id in ids(lake.records(where="web03"))
    assert ids(lake.records(where=["web03", "web04"])) == expected([*busy, rec], ["web03", "web04"])
    assert [f.kind for f in check(lake.store, repair=True).findings] == [
        "missing-where-entry", "unindexed-pair"]
    assert rec.id in ids(lake.records(where="web03"))


def test_a_new_pair_is_indexed_but_an_existing_old_pair_stays_as_it_was(lake, tmp_path):
    lake.push(write(tmp_path / "a.log", "a"), what="app", where="h1", start=BASE, data_version="0")
    make_old(lake)
    lake.push(write(tmp_path / "b.log", "b"), what="app", where="h1", start=BASE + 1,
              data_version="0")
    lake.push(write(tmp_path / "c.log", "c"), what="app", where="h2", start=BASE, data_version="0")
    sizes = {e.key: e.size for e in lake.store.list(layout.CATALOG)}
    assert sizes == {"catalog/app/h1": 0, "catalog/app/h2": len(layout.INDEXED)}
    assert len(lake.records(where="h1")) == 2 and len(lake.records(where="h2")) == 1


def test_a_push_that_fails_at_its_upload_leaves_no_where_entry(lake, tmp_path):
    faulty = FaultyStore(lake.store).inject("put", 1)  # data, where, catalog, then work entry
    broken = Lake(store=faulty, cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(DatalakeError, match="nothing was archived"):
        broken.push(write(tmp_path / "a.log", "a"), what="app", where="h1", start=BASE,
                    data_version="0", work_id="job-1")
    assert list(lake.store.list(layout.DATA)) == [] and list(lake.store.list(layout.WHERE)) == []
    assert lake.records(where="h1") == [] and lake.records(work_id="job-1") == []


def test_where_keys_parse_back_and_refuse_what_the_lake_never_writes(lake, busy):
    rec = busy[0]
    key = layout.where_key(rec, rec.size)
    assert key.startswith(f"where/nginx/{rec.where}/1h/2015/03/20/")
    assert key.endswith(f"/{rec.size}")
    assert layout.parse_where_key(key) == rec.__class__(**{**rec.__dict__, "url": None})
    for bad in (key.replace(f"where/nginx/{rec.where}/", "where/nginx/web99/"),  # other where
                key[:-len(str(rec.size))] + "+7", key + "/1", key.replace("where/", "wher/"),
                f"where/nginx/{rec.where}/../x/1"):
        assert layout.parse_where_key(bad) is None, bad


def newest(recs, where):
    return max((r for r in recs if r.where == where), key=lambda r: (r.start, r.stop))


def test_latest_of_a_where_walks_that_wheres_entries(lake, busy, tmp_path):
    store, counted = counting(lake, tmp_path)
    assert counted.latest("nginx", where="web03").id == newest(busy, "web03").id
    assert store.keys == 7  # its newest day: 6 hourly files and its 3-day file, no other where
    assert counted.latest("nginx", where="web05").id == newest(busy, "web05").id
    make_old(lake)
    assert counted.latest("nginx", where="web03").id == newest(busy, "web03").id
    with pytest.raises(LookupError, match="no nginx files from nobody"):
        counted.latest("nginx", where="nobody")


def test_a_push_stopped_after_its_upload_is_found_by_where_after_a_repair(lake, tmp_path):
    """A stop between the data upload and its index entries leaves a record that lists and
    fetches; where and work-id queries find it once check --repair (or a re-push) wrote
    what it lacks."""
    rec = lake.push(write(tmp_path / "a.log", "a"), what="app", where="h1", start=BASE,
                    data_version="0", work_id="job-1")
    for key in (layout.where_key(rec, rec.size), layout.catalog_key("app", "h1"),
                layout.work_key(rec, rec.size)):
        lake.store.delete(key)  # what the stop did not write
    assert [r.id for r in lake.records()] == [rec.id]
    assert sorted(f.kind for f in check(lake.store, repair=True).findings) == [
        "missing-catalog-entry", "missing-where-entry", "missing-work-entry"]
    assert [r.id for r in lake.records(where="h1")] == [rec.id]
    assert lake.latest("app", where="h1").id == rec.id
    assert [r.id for r in lake.records(where="h1", work_id="job-1")] == [rec.id]


def test_a_where_query_without_what_skips_whats_that_never_saw_the_where(lake, tmp_path):
    for what, where in [("app", "h1"), ("db", "h2"), ("web", "h2")]:
        lake.push(write(tmp_path / f"{what}.log", what), what=what, where=where, start=BASE,
                  data_version="0")
    store, counted = counting(lake, tmp_path)
    assert [r.what for r in counted.records(where="h1")] == ["app"]
    assert store.keys == 1  # db and web have no catalog entry for h1: their data is not read


def test_latest_breaks_a_tie_by_the_data_push_not_the_where_entry(lake, tmp_path):
    """Same start and end: the later push wins, also when the where entries were written
    in another order (a migration writes them in its own order)."""
    window = dict(what="app", where="h1", start=BASE, end=BASE + HOUR, data_version="0")
    first = lake.push(write(tmp_path / "a.log", "first"), **window)
    time.sleep(1.1)  # S3's LastModified has whole seconds
    second = lake.push(write(tmp_path / "b.log", "second"), **window)
    time.sleep(1.1)
    key = layout.where_key(first, first.size)
    lake.store.delete(key)
    lake.store.put_bytes(key, b"")  # the first record's where entry is now the newer one
    assert lake.latest("app", where="h1").id == lake.latest("app").id == second.id


class RollingBack(CountingStore):
    """A push that rolls back while check runs: its data goes away after check listed it."""

    def __init__(self, inner, key):
        super().__init__(inner)
        self.key = key

    def list(self, prefix, start_after=None, stop=None):
        yield from super().list(prefix, start_after, stop)
        if prefix == layout.DATA:
            self.inner.delete(self.key)


def test_repair_leaves_no_entry_for_data_that_went_away_during_the_check(lake, tmp_path):
    rec = lake.push(write(tmp_path / "a.log", "a"), what="app", where="h1", start=BASE,
                    data_version="0")
    lake.store.delete(layout.where_key(rec, rec.size))
    report = check(RollingBack(lake.store, layout.data_key(rec)), repair=True)
    [finding] = [f for f in report.findings if f.kind == "missing-where-entry"]
    assert not finding.fixed and "gone now" in finding.status
    assert list(lake.store.list(layout.WHERE)) == [] and lake.records(where="h1") == []


def test_two_where_entries_for_one_record_give_one_row(lake, tmp_path):
    rec = lake.push(write(tmp_path / "a.log", "abc"), what="app", where="h1", start=BASE,
                    data_version="0")
    lake.store.put_bytes(layout.where_key(rec, rec.size + 4), b"")  # damage: a wrong size
    assert [r.id for r in lake.records(where="h1")] == [rec.id]
    assert [f.kind for f in check(lake.store).findings] == ["wrong-where-entry"]
