"""Faults at every step: a failed push leaves no visible record and a retry makes exactly
one; throttling is retried by boto3 with backoff; an interrupted or corrupt download
leaves nothing behind; permanent errors are one clear line."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from datalake_nb import DatalakeError, IntegrityError, Lake, NotFound
from datalake_nb.core import layout
from datalake_nb.hashing import hash_file
from datalake_nb.stores.s3 import S3Store

from support import figures
from support.faults import FaultyStore, throttle
from support.helpers import fields, snapshot, write
from support.wire import wire_proxy

T0, T1 = "2015-03-20T00:00:00Z", "2015-03-20T01:00:00Z"
FIELDS = fields(start=T0, end=T1, work_id="job-7")


def faulty(lake: Lake) -> tuple[Lake, FaultyStore]:
    store = FaultyStore(lake.store)
    return Lake(config=lake.config, store=store, progress=False), store


def assert_no_record(lake: Lake, rec_id: str) -> None:
    assert lake.list().empty and lake.list(work_id="job-7").empty
    with pytest.raises(NotFound):
        lake.get(rec_id)


def assert_one_record(lake: Lake, rec_id: str) -> None:
    frame = lake.list()
    figures.add("files lost", int(list(frame["id"]) != [rec_id]))
    assert list(frame["id"]) == [rec_id]
    assert list(lake.list(work_id="job-7")["id"]) == [rec_id]
    assert lake.catalog() == {"nginx": ["web01"]}


# -- push ----------------------------------------------------------------------

@pytest.mark.parametrize("mode, words", [("fail", "injected failure of put"), ("throttle", "SlowDown"),
                                         ("oserror", "No space left on device")])
@pytest.mark.parametrize("step", [1, 2, 3, 4], ids=["where", "data", "catalog", "work"])
def test_a_failed_push_leaves_no_record_and_a_retry_makes_one(lake, tmp_path, step, mode, words):
    path = write(tmp_path / "a.log", "payload\n")
    expected = lake.push(path, **FIELDS)  # what the record will be (then cleared away)
    lake.store.delete(layout.data_key(expected))
    lake.store.delete(layout.where_key(expected, expected.size))
    lake.store.delete(layout.work_key(expected, expected.size))
    lake.store.delete(layout.catalog_key("nginx", "web01"))
    before = snapshot(lake)
    broken, store = faulty(lake)
    store.inject("put", step, mode)
    with pytest.raises((DatalakeError, OSError), match=words) as info:
        broken.push(path, **FIELDS)
    assert store.fired[mode] == 1
    message = str(info.value)
    assert "\n" not in message and (str(path) in message or step <= 2)  # the store's own words
    if step > 2:
        assert "nothing was archived" in message
    assert_no_record(lake, expected.id)
    after = snapshot(lake)
    leftover = {k for k in after if k not in before}  # a catalog entry may stay: no record
    assert all("catalog/nginx/web01" in k for k in leftover)
    assert broken.push(path, **FIELDS) == expected  # the same push again
    assert_one_record(lake, expected.id)


def test_a_lost_answer_to_an_index_write_is_no_failure(lake, tmp_path):
    broken, store = faulty(lake)
    store.inject("put", 1, "after").inject("put", 3, "after")  # written, but the answer is lost
    rec = broken.push(write(tmp_path / "a.log", "x"), **FIELDS)
    assert store.fired["after"] == 2 and store.calls["head"] == 2  # each was looked up
    assert_one_record(lake, rec.id)


def test_a_lost_answer_to_the_data_upload_is_mended_by_a_retry_or_check(lake, tmp_path):
    """The one case no client can tell apart: S3 stored the object but the answer was
    lost.  The push fails (and never deletes: the key may hold an earlier identical
    push); the record is whole but for its index entries, which a retry or
    `check --repair` writes."""
    from datalake_nb.check import check
    path = write(tmp_path / "a.log", "x")
    broken, store = faulty(lake)
    store.inject("put", 2, "after")  # its where entry first, then the data
    with pytest.raises(DatalakeError, match="lost answer"):
        broken.push(path, **FIELDS)
    assert store.calls["delete"] == 0
    assert sorted(f.kind for f in check(lake.store).findings) == [  # its where entry stays
        "missing-catalog-entry", "missing-work-entry"]
    assert [r.id for r in lake.records(where="web01")] == [r.id for r in lake.records()]
    assert check(lake.store, repair=True).ok
    rec = lake.push(path, **FIELDS)
    assert_one_record(lake, rec.id)


def test_when_the_roll_back_fails_too_the_error_says_so(lake, tmp_path):
    from datalake_nb.check import check
    broken, store = faulty(lake)
    store.inject("put", 4, "fail").inject("delete", 1, "fail")  # the work entry, the last
    with pytest.raises(DatalakeError) as info:
        broken.push(write(tmp_path / "a.log", "x"), **FIELDS)
    message = str(info.value)
    assert "removing its data object failed too" in message and "check --repair" in message
    assert "\n" not in message
    assert [f.kind for f in check(lake.store, repair=True).findings] == ["missing-work-entry"]
    assert len(lake.list(work_id="job-7")) == 1


def test_an_entry_written_by_an_earlier_push_is_never_rolled_back(lake, tmp_path):
    """A re-push whose index write fails must not delete the record an earlier, identical
    push completed: the entry it failed to write is there already."""
    path = write(tmp_path / "a.log", "x")
    rec = lake.push(path, **FIELDS)
    broken, store = faulty(lake)
    store.inject("put", 1, "fail").inject("put", 3, "fail").inject("put", 4, "fail")  # every entry
    assert broken.push(path, **FIELDS) == rec
    assert store.calls["delete"] == 0
    assert_one_record(lake, rec.id)


def test_a_push_of_many_files_that_fails_half_way_is_retried_whole(lake, tmp_path):
    paths = [write(tmp_path / f"f{i}.log", f"file {i}\n") for i in range(6)]
    fields = {k: v for k, v in FIELDS.items() if k != "work_id"}
    broken, store = faulty(lake)
    broken.concurrency = 1  # puts in a known order: where 1, data 1, catalog, where 2, data 2,
    store.inject("put", 7, "fail")  # where 3, data 3 (fails)
    with pytest.raises(DatalakeError, match="injected failure of put #7"):
        broken.push_many(paths, **fields)
    assert len(lake.list()) == 2
    broken.concurrency = 8
    records = broken.push_many(paths, **fields)
    frame = lake.list()
    figures.add("files lost", 6 - len(frame))
    assert sorted(frame["id"]) == sorted(r.id for r in records) and frame["id"].is_unique


# -- fetch and read --------------------------------------------------------------

def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize("mode, error, words", [
    ("cut", DatalakeError, "connection reset"), ("short", IntegrityError, "nothing was written"),
    ("corrupt", IntegrityError, "nothing was written"), ("fail", DatalakeError, "injected failure of get"),
    ("throttle", DatalakeError, "SlowDown")])
def test_a_spoilt_download_writes_nothing(lake, tmp_path, mode, error, words):
    recs = [lake.push(write(tmp_path / f"{i}.log", f"content {i}\n" * 100), **FIELDS,
                      ) if i == 0 else lake.push(write(tmp_path / f"{i}.log", f"other {i}\n"),
                                                 what="nginx", where="web01", start=T0,
                                                 data_version="0") for i in range(3)]
    broken, store = faulty(lake)
    store.inject("get", 2, mode)
    dest = tmp_path / "out"
    with pytest.raises(error, match=words) as info:
        broken.fetch(recs, dest=dest)
    assert store.fired[mode] == 1
    if error is IntegrityError:  # it names the object: one of the lake's data URLs
        assert any(lake.store.url_for(layout.data_key(rec)) in str(info.value) for rec in recs)
    assert leftovers(dest) == []  # nothing is placed unless every file is verified
    cache = lake.cache.root
    for path in cache.rglob("*"):
        if path.is_file():  # only whole, verified files: no partial download stays
            assert hash_file(path)[0] == path.name
    paths = broken.fetch(recs, dest=dest)  # the next try gets everything
    assert [p.read_bytes() for p in paths] == [(tmp_path / f"{i}.log").read_bytes() for i in range(3)]


@pytest.mark.parametrize("mode, error, words", [
    ("corrupt", IntegrityError, "do not trust what was read"),
    ("cut", DatalakeError, "connection reset"), ("short", IntegrityError, "do not trust what was read")])
def test_reading_a_spoilt_stream_fails_at_its_end(lake, tmp_path, mode, error, words):
    rec = lake.push(write(tmp_path / "a.log", "line\n" * 1000), **FIELDS)
    broken, store = faulty(lake)
    store.inject("get", 1, mode)
    with pytest.raises(error, match=words):
        with broken.open(rec.id) as stream:
            stream.read()
    with broken.open(rec.id) as stream:
        assert stream.read() == b"line\n" * 1000


def test_cat_of_damaged_bytes_exits_1_naming_the_file(lake_url, lake, tmp_path):
    rec = lake.push(write(tmp_path / "a.log", "good\n"), **FIELDS)
    lake.store.put_bytes(layout.data_key(rec), b"evil\n")
    env = dict(os.environ, DATALAKE_STORAGE_URL=lake_url, DATALAKE_CACHE_DIR=str(tmp_path / "c"))
    proc = subprocess.run([sys.executable, "-m", "datalake_nb", "cat", rec.id],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and rec.id in proc.stderr
    assert lake.store.url_for(layout.data_key(rec)) in proc.stderr
    fetched = subprocess.run([sys.executable, "-m", "datalake_nb", "fetch", rec.id, "--dest",
                              str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)
    assert fetched.returncode == 1 and "nothing was written" in fetched.stderr
    assert leftovers(tmp_path / "out") == [] and leftovers(tmp_path / "c") == []


def test_a_failing_listing_is_one_clear_error(lake):
    broken, store = faulty(lake)
    store.inject("list", "*", "throttle")
    with pytest.raises(DatalakeError) as info:
        broken.list(what="nginx")
    assert "SlowDown" in str(info.value) and "\n" not in str(info.value)


# -- S3 on the wire: boto3's retries ------------------------------------------------

def s3_lake(bucket, tmp_path, **settings):
    from datalake_nb.config import resolve
    config = resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/lake", "DATALAKE_CONCURRENCY": "1",
                      "DATALAKE_CACHE_DIR": str(tmp_path / "cache"), **settings})
    return Lake(config=config, progress=False)


@pytest.mark.parametrize("retry_mode, refused", [("standard", 4), ("adaptive", 1)])
def test_throttled_requests_are_retried_and_the_user_sees_success(bucket, tmp_path, retry_mode,
                                                                  refused):
    lake = s3_lake(bucket, tmp_path, DATALAKE_S3_RETRY_MODE=retry_mode, DATALAKE_S3_DATA_PLANE="boto3")
    # sends 1, 5, 9, ... are refused; with one request at a time, a refused send is
    # followed by its retry, so the work succeeds only if every refusal was retried (one
    # only in adaptive mode: it then slows the client down for a while, as it should)
    with throttle(lake.store.client, pick=lambda n: n % 4 == 1 and n < 4 * refused) as wire:
        recs = lake.push_many([write(tmp_path / f"{i}.log", f"file {i}\n") for i in range(3)], **FIELDS)
        assert len(lake.list()) == 3 and len(lake.list(work_id="job-7")) == 3
        paths = lake.fetch(recs, dest=tmp_path / "out")
        with lake.open(recs[0].id) as stream:
            assert stream.read() == b"file 0\n"
    assert [p.read_text() for p in paths] == [f"file {i}\n" for i in range(3)]
    assert wire.throttled == refused and wire.sent > 16


@pytest.mark.slow  # boto3's backoff before it gives up: about 10 s
def test_throttling_that_never_ends_is_a_clear_error_and_no_record(bucket, tmp_path):
    lake = s3_lake(bucket, tmp_path)
    lake.store = S3Store(lake.url, max_attempts=3, data_plane="boto3")  # default backoff, fewer tries
    with throttle(lake.store.client, pick=lambda n: True) as wire:
        with pytest.raises(DatalakeError) as info:
            lake.push(write(tmp_path / "a.log", "x"), **FIELDS)
    # botocore's max_attempts counts retries: 1 try + 3 retries, for the where entry's PUT
    assert wire.sent == 4 + 4  # and the HEAD that asks whether it was written after all
    assert "SlowDown" in str(info.value) and "\n" not in str(info.value)
    assert s3_lake(bucket, tmp_path).list().empty


# -- S3 on the wire: obstore's retries (small PUTs and GETs), through a proxy ------------

def test_throttled_small_transfers_are_retried_by_the_fast_plane(s3_server, bucket, tmp_path):
    with wire_proxy(s3_server.url, pick=lambda n: n % 4 == 1 and n < 16) as wire:
        lake = s3_lake(bucket, tmp_path, AWS_ENDPOINT_URL=wire.url)
        assert lake.store.fast_plane is not None
        recs = lake.push_many([write(tmp_path / f"{i}.log", f"file {i}\n") for i in range(3)], **FIELDS)
        paths = lake.fetch(recs, dest=tmp_path / "out")
        assert len(lake.list()) == 3 and len(lake.list(work_id="job-7")) == 3
    assert [p.read_text() for p in paths] == [f"file {i}\n" for i in range(3)]
    assert wire.throttled == 4 and len(wire.requests("GET", "/data/")) >= 3


@pytest.mark.slow  # every retry of both planes before they give up: 20-40 s
def test_throttling_that_never_ends_on_the_fast_plane_is_a_clear_error(s3_server, bucket, tmp_path):
    with wire_proxy(s3_server.url, pick=lambda n: True) as wire:
        lake = s3_lake(bucket, tmp_path, AWS_ENDPOINT_URL=wire.url,
                       DATALAKE_S3_CONNECT_TIMEOUT="1s", DATALAKE_S3_READ_TIMEOUT="1s")
        with pytest.raises(DatalakeError) as info:
            lake.push(write(tmp_path / "a.log", "x"), **FIELDS)
    message = str(info.value)
    assert "S3 error SlowDown on s3://" in message and "\n" not in message, message
    assert len(wire.sent) > 1  # retried before giving up
    assert s3_lake(bucket, tmp_path).list().empty


def test_a_missing_bucket_is_a_clear_error(aws_env, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "datalake_nb", "list", "--storage-url",
                           "s3://no-such-bucket-datalake/x"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.strip() == (
        "datalake: list: the bucket of s3://no-such-bucket-datalake/x/ does not exist")
