"""Faults at every step: a failed push never shows a row that cannot be fetched, and a
retry makes exactly one record; throttling is retried by boto3 with backoff; an interrupted or corrupt download
leaves nothing behind; permanent errors are one clear line."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from datalake_nb import DatalakeError, IntegrityError, Lake, NotFound
from datalake_nb.core import layout
from datalake_nb.engine.hashing import hash_file
from datalake_nb.stores.s3 import S3Store

from support import figures
from support.faults import FaultyStore, throttle
from support.helpers import fields, write
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

def assert_every_row_fetchable(lake: Lake, dest) -> None:
    """The lake's first promise: whatever any query lists can be fetched."""
    for query in ({}, {"where": "web01"}, {"what": "nginx", "where": "web01"},
                  {"work_id": "job-7"}):
        rows = lake.records(**query)
        assert [p.exists() for p in lake.fetch(rows, dest)] == [True] * len(rows), query


STEPS = ["data", "where", "catalog", "work"]  # the puts of a push, in the commit protocol's order


@pytest.mark.parametrize("mode", ["fail", "throttle", "oserror"])
@pytest.mark.parametrize("step", [1, 2, 3, 4], ids=STEPS)
def test_a_failed_push_shows_no_phantom_row_and_a_retry_completes_it(lake, tmp_path, step, mode):
    """Failing at the data upload leaves nothing; failing later leaves a whole record
    (never deleted: an identical push may have reported it) whose lagging index entries
    a retry writes."""
    path = write(tmp_path / "a.log", "payload\n")
    expected = lake.push(path, **FIELDS)  # what the record will be (then cleared away)
    for key in (layout.data_key(expected), layout.where_key(expected, expected.size),
                layout.work_key(expected, expected.size), layout.catalog_key("nginx", "web01")):
        lake.store.delete(key)
    broken, store = faulty(lake)
    store.inject("put", step, mode)
    with pytest.raises(DatalakeError) as info:
        broken.push(path, **FIELDS)
    assert store.fired[mode] == 1 and store.calls["delete"] == 0
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    if step == 1:
        assert "nothing was archived" in message
        assert_no_record(lake, expected.id)
    else:
        assert "archived as" in message and "check --repair" in message
        assert [r.id for r in lake.records()] == [expected.id]
    assert_every_row_fetchable(lake, tmp_path / "out")
    assert broken.push(path, **FIELDS) == expected  # the same push again
    assert_one_record(lake, expected.id)
    assert [r.id for r in lake.records(where="web01")] == [expected.id]


def test_a_lost_answer_to_an_index_write_is_no_failure(lake, tmp_path):
    broken, store = faulty(lake)
    store.inject("put", 2, "after").inject("put", 3, "after")  # written, but the answer is lost
    rec = broken.push(write(tmp_path / "a.log", "x"), **FIELDS)
    assert store.fired["after"] == 2 and store.calls["head"] == 2  # each was looked up
    assert_one_record(lake, rec.id)


def test_a_lost_answer_to_the_data_upload_is_no_failure(lake, tmp_path):
    """S3 stored the object but the answer was lost: a HEAD finds it, and the push goes on
    to write its index entries."""
    broken, store = faulty(lake)
    store.inject("put", 1, "after")
    rec = broken.push(write(tmp_path / "a.log", "x"), **FIELDS)
    assert store.fired["after"] == 1 and store.calls["head"] == 1
    assert_one_record(lake, rec.id)
    assert lake.check().ok


def test_a_lost_answer_to_the_data_upload_that_cannot_be_looked_up_says_it_may_be_archived(
        lake, tmp_path):
    path = write(tmp_path / "a.log", "x")
    broken, store = faulty(lake)
    store.inject("put", 1, "after").inject("head", 1, "fail")
    with pytest.raises(DatalakeError, match=r"may be archived all the same \('datalake list' "
                                            r"tells; pushing it again is safe\)"):
        broken.push(path, **FIELDS)
    assert store.calls["delete"] == 0
    assert sorted(f.kind for f in lake.check().findings) == [
        "missing-catalog-entry", "missing-where-entry", "missing-work-entry"]
    assert_every_row_fetchable(lake, tmp_path / "out")
    rec = lake.push(path, **FIELDS)
    assert_one_record(lake, rec.id)
    assert lake.check().ok


def test_an_entry_written_by_an_earlier_push_is_never_rolled_back(lake, tmp_path):
    """A re-push whose index write fails must not delete the record an earlier, identical
    push completed: the entry it failed to write is there already."""
    path = write(tmp_path / "a.log", "x")
    rec = lake.push(path, **FIELDS)
    broken, store = faulty(lake)
    store.inject("put", 2, "fail").inject("put", 3, "fail").inject("put", 4, "fail")  # every entry
    assert broken.push(path, **FIELDS) == rec
    assert store.calls["delete"] == 0
    assert_one_record(lake, rec.id)


def test_a_push_of_many_files_that_fails_half_way_is_retried_whole(lake, tmp_path):
    paths = [write(tmp_path / f"f{i}.log", f"file {i}\n") for i in range(6)]
    fields = {k: v for k, v in FIELDS.items() if k != "work_id"}
    broken, store = faulty(lake)
    broken.concurrency = 1  # puts in a known order: data 1, where 1, catalog, data 2, where 2,
    store.inject("put", 6, "fail")  # data 3 (fails)
    with pytest.raises(DatalakeError, match="injected failure of put #6"):
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


@pytest.mark.slow
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

@pytest.mark.slow
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
        lake = s3_lake(bucket, tmp_path, AWS_ENDPOINT_URL=wire.url)
        # 3 tries (boto3's backoff: up to 1 s, then 2 s), not 9 (about a minute)
        lake.store = S3Store(lake.url, endpoint_url=wire.url, max_attempts=2)
        assert lake.store.fast_plane is not None
        with pytest.raises(DatalakeError) as info:
            lake.push(write(tmp_path / "a.log", "x"), **FIELDS)
    message = str(info.value)
    assert "S3 error SlowDown on s3://" in message and "\n" not in message, message
    assert len(wire.requests("PUT")) == 3  # its where entry, tried as often as boto3 would
    assert s3_lake(bucket, tmp_path).list().empty


def test_a_missing_bucket_is_a_clear_error(aws_env, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "datalake_nb", "list", "--storage-url",
                           "s3://no-such-bucket-datalake/x"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.strip() == (
        "datalake: list: the bucket of s3://no-such-bucket-datalake/x/ does not exist")


def test_a_refused_upload_says_nothing_was_archived_without_asking(bucket, tmp_path, monkeypatch):
    """Access denied (a 4xx) changed nothing: the push says so at once, with no HEAD to
    ask whether the object is there after all."""
    denied = (403, b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                   b"<Message>Access Denied</Message></Error>")
    path = write(tmp_path / "a.log", "x\n")
    with wire_proxy(os.environ["AWS_ENDPOINT_URL"], pick=lambda n: True, answer=denied) as wire:
        monkeypatch.setenv("AWS_ENDPOINT_URL", wire.url)
        monkeypatch.setenv("DATALAKE_S3_DATA_PLANE", "boto3")
        lake = Lake(f"s3://{bucket}/logs", cache_dir=tmp_path / "cache", progress=False)
        with pytest.raises(DatalakeError, match=r"access denied .*; nothing was archived$"):
            lake.push(path, **FIELDS)
        assert [r.method for r in wire.requests()] == ["PUT"]
