"""`datalake check [--repair] [--delete-orphans] [--deep]`: damage is found, index damage
is repaired, data is deleted only when asked, and what cannot be fixed is reported."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from datalake_nb import Lake
from datalake_nb.core import layout
from datalake_nb.engine.check import check
from datalake_nb.stores.local import LocalStore

from support.faults import FaultyStore, spoil
from support.helpers import snapshot, write

T0, T1 = "2015-03-20T00:00:00Z", "2015-03-20T01:00:00Z"
ORPHAN = "data/nginx/1h/2015/03/20/not-a-record.log"


@pytest.fixture
def three_records(lake, tmp_path):
    """Three records: two with a work id, one of them the only file from web02."""
    recs = [lake.push(write(tmp_path / f"{n}.log", f"file {n}\n"), what="nginx", where=where,
                      start=T0, end=T1, data_version="0", work_id=work_id)
            for n, where, work_id in [(1, "web01", "job-1"), (2, "web01", None), (3, "web02", "job-1")]]
    return recs


def kinds(report):
    return sorted(f.kind for f in report.findings)


def key_of(rec):
    return layout.data_key(rec)


def test_a_sound_lake_has_nothing_to_report(lake, three_records):
    report = check(lake.store, deep=True)
    assert report.ok and report.findings == []
    assert (report.data, report.where, report.work, report.catalog) == (3, 3, 2, 2)
    assert ("3 data objects, 3 where entries, 2 work entries, 2 catalog entries; 0 problem(s)"
            in report.summary())


def test_missing_index_entries_are_found_and_rebuilt(lake, three_records):
    one, _, three = three_records
    lake.store.delete(layout.work_key(one, one.size))
    lake.store.delete(layout.catalog_key("nginx", "web02"))
    assert [r.id for r in lake.records(work_id="job-1")] == [three.id]
    report = check(lake.store)
    assert kinds(report) == ["missing-catalog-entry", "missing-work-entry"]
    assert not report.ok and all("--repair" in f.status for f in report.findings)
    before = snapshot(lake)
    assert snapshot(lake) == before  # check alone writes nothing
    repaired = check(lake.store, repair=True)
    assert all(f.fixed for f in repaired.findings) and repaired.ok
    assert sorted(r.id for r in lake.records(work_id="job-1")) == sorted([one.id, three.id])
    assert lake.catalog() == {"nginx": ["web01", "web02"]}
    assert check(lake.store).findings == []


def test_index_entries_whose_data_is_gone_are_removed(lake, three_records):
    three = three_records[2]
    lake.store.delete(key_of(three))
    report = check(lake.store)
    assert kinds(report) == ["dangling-catalog-entry", "dangling-where-entry",
                             "dangling-work-entry"]
    assert [r.id for r in lake.records(work_id="job-1")] == [three_records[0].id, three.id]
    assert [r.id for r in lake.records(where="web02")] == [three.id]  # the where entry misleads
    check(lake.store, repair=True)
    assert [r.id for r in lake.records(work_id="job-1")] == [three_records[0].id]
    assert lake.records(where="web02") == []
    assert lake.catalog() == {"nginx": ["web01"]}
    assert check(lake.store).ok


def test_a_work_entry_that_disagrees_with_its_data_is_replaced(lake, three_records):
    one = three_records[0]
    wrong_size = layout.work_key(one, one.size + 5)
    other_folder = layout.work_key(one, one.size).replace("work/job-1/", "work/job-2/")
    lake.store.put_bytes(wrong_size, b"")
    lake.store.put_bytes(other_folder, b"")
    assert len(lake.records(work_id="job-2")) == 1  # the wrong entry misleads a query
    report = check(lake.store)
    assert kinds(report) == ["wrong-work-entry", "wrong-work-entry"]
    check(lake.store, repair=True)
    assert lake.records(work_id="job-2") == []
    assert [r.size for r in lake.records(work_id="job-1")] == [one.size, three_records[2].size]
    assert check(lake.store).ok


def test_data_without_a_record_is_deleted_only_when_asked(lake, three_records):
    lake.store.put_bytes(ORPHAN, b"precious bytes nobody can list")
    lake.store.put_bytes("work/x/not-a-size/y", b"")
    lake.store.put_bytes("catalog/nginx/web 01", b"")
    report = check(lake.store, repair=True)
    assert kinds(report) == ["orphan", "orphan", "orphan"]
    assert all(f.status == "fix with --delete-orphans" for f in report.findings)
    assert lake.store.head(ORPHAN) is not None  # --repair never deletes data
    assert lake.catalog() == {"nginx": ["web01", "web02"]}  # the hostile entry is not shown
    cleaned = check(lake.store, delete_orphans=True)
    assert all(f.fixed for f in cleaned.findings)
    assert lake.store.head(ORPHAN) is None
    assert len(lake.list()) == 3 and check(lake.store).ok


def test_deep_finds_corrupt_bytes_and_cannot_fix_them(lake, three_records):
    two = three_records[1]
    with lake.store.open(key_of(two)) as stream:
        good = stream.read()
    lake.store.put_bytes(key_of(two), spoil(good))  # same length: only a hash shows it
    assert check(lake.store).ok  # listings cannot see it
    report = check(lake.store, deep=True, repair=True, delete_orphans=True)
    assert kinds(report) == ["corrupt-data"] + (["metadata-mismatch"] if not
                                               isinstance(lake.store, LocalStore) else [])
    corrupt = next(f for f in report.findings if f.kind == "corrupt-data")
    assert corrupt.key == key_of(two) and two.hash in corrupt.detail and not corrupt.fixed
    assert corrupt.status == "cannot be fixed in the lake"
    with lake.store.open(key_of(two)) as stream:
        assert stream.read() == spoil(good)  # reported, never deleted


def test_deep_compares_the_json_record_stored_with_an_s3_object(bucket, tmp_path):
    lake = Lake(f"s3://{bucket}/lake", cache_dir=tmp_path / "cache", progress=False)
    rec = lake.push(write(tmp_path / "a.log", "a"), what="app", where="h1", start=T0,
                    data_version="0")
    key = lake.store.prefix + key_of(rec)
    record = json.loads(lake.store.head(key_of(rec)).metadata["datalake-record"])
    assert record["id"] == rec.id and record["size"] == 1
    record["where"] = "h2"  # a copy that says something else than the key
    lake.store.client.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key},
                                  Metadata={"datalake-record": json.dumps(record)},
                                  MetadataDirective="REPLACE")
    report = check(lake.store, deep=True)
    assert kinds(report) == ["metadata-mismatch"]
    assert "disagrees" in report.findings[0].detail


def test_repairs_that_fail_are_reported(lake, three_records):
    one = three_records[0]
    lake.store.delete(layout.work_key(one, one.size))
    faulty = FaultyStore(lake.store).inject("put", "*")
    report = check(faulty, repair=True)
    [finding] = report.findings
    assert finding.kind == "missing-work-entry" and not finding.fixed
    assert finding.status.startswith("repair failed: ") and "injected failure" in finding.status
    assert not report.ok


def test_cli_check_exit_status_and_output(lake_url, lake, three_records, tmp_path):
    lake.store.delete(layout.catalog_key("nginx", "web02"))
    lake.store.put_bytes(ORPHAN, b"x")
    env = dict(os.environ, DATALAKE_STORAGE_URL=lake_url, DATALAKE_CACHE_DIR=str(tmp_path / "c"))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "datalake_nb", "check", *args],
                              capture_output=True, text=True, env=env, timeout=120)

    found = run()
    assert found.returncode == 1 and found.stderr == ""
    lines = found.stdout.splitlines()
    assert lines[0].split()[:2] == ["orphan", ORPHAN] and "fix with --delete-orphans" in lines[0]
    assert lines[1].split()[:2] == ["missing-catalog-entry", "catalog/nginx/web02"]
    assert lines[2].endswith("2 problem(s), 0 repaired, 2 left")
    repaired = run("--repair")
    assert repaired.returncode == 1 and repaired.stdout.splitlines()[-1].endswith(
        "1 repaired, 1 left")
    cleaned = run("--delete-orphans", "--deep")
    assert cleaned.returncode == 0 and cleaned.stdout.splitlines()[-1].endswith(
        "1 problem(s), 1 repaired, 0 left")
    clean = run()
    assert clean.returncode == 0 and clean.stdout.splitlines() == [
        f"{lake.url}: 3 data objects, 3 where entries, 2 work entries, 2 catalog entries; "
        "0 problem(s), 0 repaired, 0 left"]
