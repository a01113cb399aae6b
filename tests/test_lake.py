"""The Lake API against a local folder and a real S3 endpoint (moto over HTTP)."""
from __future__ import annotations

import base64
import hashlib
import os
import zlib

import boto3
import pandas as pd
import pytest

from datalake_nb import IntegrityError, InvalidInput, Lake, NotFound
from datalake_nb.output import COLUMNS
from datalake_nb.core.times import to_ms

from support.helpers import write

T0 = "2015-03-20T00:00:00Z"
T1 = "2015-03-20T01:00:00Z"


def push(lake, path, **overrides):
    fields = dict(what="nginx", where="web01", start=T0, end=T1, data_version="0")
    fields.update(overrides)
    return lake.push(path, **fields)


def stored_keys(lake):
    return sorted(e.key for e in lake.store.list(""))


def test_push_returns_the_seed_record(lake, tmp_path):
    content = b"GET / 200\n" * 50
    path = tmp_path / "access.log"
    path.write_bytes(content)
    rec = push(lake, path, work_id="job-7")
    assert rec.hash == hashlib.blake2b(content, digest_size=16).hexdigest()
    assert (rec.what, rec.where, rec.data_version, rec.work_id) == ("nginx", "web01", "0", "job-7")
    assert (rec.start, rec.end) == (to_ms(T0), to_ms(T1))
    assert rec.size == len(content) and rec.ext == ".log"
    assert set(rec.to_json()) == {"version", "start", "end", "work_id", "where", "what",
                                  "data-version", "id", "hash", "size", "url"}
    assert rec.url.startswith(lake.url.split("://")[0] + "://")


def test_list_after_push(lake, tmp_path):
    rec = push(lake, write(tmp_path / "a.log", "one\n"))
    frame = lake.list()
    assert list(frame["id"]) == [rec.id]


def test_list_frame_columns_types_and_order(lake, tmp_path):
    late = push(lake, write(tmp_path / "late.log", "late"), start="2015-03-21T00:00:00Z",
                end="2015-03-21T00:30:00Z")
    snap = push(lake, write(tmp_path / "snap.txt", "snapshot"), what="report", start=T0, end=None)
    frame = lake.list()
    assert list(frame.columns) == COLUMNS
    assert list(frame["id"]) == [snap.id, late.id]
    assert str(frame["start"].dt.tz) == "UTC"
    assert frame["start"].iloc[1] == pd.Timestamp("2015-03-21T00:00:00Z")
    assert pd.isna(frame["end"].iloc[0])
    assert list(frame["size"]) == [8, 4]
    empty = lake.list(what="nothing")
    assert list(empty.columns) == COLUMNS and len(empty) == 0


def test_no_span_limit(lake, tmp_path):
    long = push(lake, write(tmp_path / "long.log", "two years"), what="audit",
                start="2013-01-01", end="2015-01-01")
    instant = push(lake, write(tmp_path / "snap.log", "instant"), what="audit",
                   start="2014-06-01T10:30:00Z", end=None)
    hour = lake.list(what="audit", start="2014-06-01T10:00:00Z", end="2014-06-01T11:00:00Z")
    assert set(hour["id"]) == {long.id, instant.id}
    later = lake.list(what="audit", start="2014-06-01T10:31:00Z", end="2014-06-01T11:00:00Z")
    assert list(later["id"]) == [long.id]
    after = lake.list(what="audit", start="2015-01-01T00:00:01Z")
    assert after.empty


def test_overlap_edges_are_inclusive(lake, tmp_path):
    rec = push(lake, write(tmp_path / "a.log", "x"))
    assert list(lake.list(start=T1)["id"]) == [rec.id]
    assert list(lake.list(end=T0)["id"]) == [rec.id]
    assert lake.list(start="2015-03-20T01:00:00.001Z").empty
    assert lake.list(end="2015-03-19T23:59:59.999Z").empty


def test_same_file_same_metadata_is_one_record(lake, tmp_path):
    path = write(tmp_path / "a.log", "same")
    first, second = push(lake, path), push(lake, path)
    assert first.id == second.id
    assert len(lake.list()) == 1
    push(lake, path, data_version="1")
    assert len(lake.list()) == 2


def test_filters_accept_strings_commas_and_lists(lake, tmp_path):
    for what in ("nginx", "syslog", "cron"):
        for where in ("web01", "web02"):
            push(lake, write(tmp_path / f"{what}-{where}.log", what + where), what=what, where=where)
    assert len(lake.list(what="nginx")) == 2
    assert len(lake.list(what="nginx,syslog")) == 4
    assert len(lake.list(what=["nginx", "cron"], where="web02")) == 2
    assert set(lake.list(where="web01")["where"]) == {"web01"}
    with pytest.raises(InvalidInput, match="what"):
        lake.list(what="nginx.log")


def test_work_id_query(lake, tmp_path):
    gather = push(lake, write(tmp_path / "g.log", "g"), what="gather", work_id="blappo-14321359")
    etl = push(lake, write(tmp_path / "e.log", "e"), what="etl", work_id="blappo-14321359")
    push(lake, write(tmp_path / "o.log", "o"), what="etl", work_id="blappo-1")
    push(lake, write(tmp_path / "n.log", "n"), what="etl")
    found = lake.list(what="gather,etl,cleanup", work_id="blappo-14321359")
    assert set(found["id"]) == {gather.id, etl.id}
    assert list(found["size"]) == [1, 1]
    assert list(lake.list(work_id="blappo-14321359", what="etl")["id"]) == [etl.id]


def test_work_id_with_awkward_characters(lake, tmp_path):
    odd = "run/../é ~%2F"
    rec = push(lake, write(tmp_path / "a.log", "x"), work_id=odd)
    assert list(lake.list(work_id=odd)["work_id"]) == [odd]
    assert lake.get(rec.id).work_id == odd


def test_push_several_files_in_one_call(lake, tmp_path):
    paths = [write(tmp_path / f"part{i}.log", f"part {i}") for i in range(5)]
    records = lake.push_many(paths, what="nginx", where="web01", start=T0, end=T1, data_version="0")
    assert [r.hash for r in records] == [
        hashlib.blake2b(f"part {i}".encode(), digest_size=16).hexdigest() for i in range(5)]
    assert len(lake.list()) == 5


def test_push_many_checks_everything_before_writing(lake, tmp_path):
    good = write(tmp_path / "good.log", "good")
    items = [dict(path=good, what="nginx", where="web01", start=T0, data_version="0"),
             dict(path=good, what="nginx", where="web 01", start=T0, data_version="0")]
    with pytest.raises(InvalidInput, match="where"):
        lake.push_many(items)
    assert stored_keys(lake) == []


@pytest.mark.parametrize("bad", [
    dict(what=""), dict(where="a/b"), dict(start="2015-03-20T00:00:05:32.345Z"),
    dict(end="2015-03-19"), dict(work_id="null"), dict(data_version="1.0"),
])
def test_bad_metadata_writes_nothing(lake, tmp_path, bad):
    with pytest.raises(InvalidInput):
        push(lake, write(tmp_path / "a.log", "x"), **bad)
    assert stored_keys(lake) == []


def test_bad_paths(lake, tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        push(lake, tmp_path / "missing.log")
    with pytest.raises(InvalidInput, match="is a folder; give --recursive"):
        push(lake, tmp_path)
    assert stored_keys(lake) == []


def test_empty_file_is_a_valid_record(lake, tmp_path):
    rec = push(lake, write(tmp_path / "empty.log", ""))
    assert rec.size == 0
    [path] = lake.fetch([rec], dest=tmp_path / "out")
    assert path.read_bytes() == b""


def test_fetch_verifies_names_and_caches(lake, tmp_path):
    one = push(lake, write(tmp_path / "one.log.gz", "first"))
    two = push(lake, write(tmp_path / "two", "second"), where="web02", end=None)
    dest = tmp_path / "out"
    frame = lake.list()
    assert list(frame["id"]) == [two.id, one.id]  # same start: the instant sorts first
    paths = lake.fetch(frame, dest=dest)
    assert [p.read_text() for p in paths] == ["second", "first"]
    assert paths[1] == dest / "web01" / f"nginx_20150320T000000000Z_{one.id[-8:]}.log.gz"
    assert paths[0].suffix == "" and paths[0].parent.name == "web02"
    assert all(dest in p.parents for p in paths)
    again = lake.fetch([two.id, one], dest=tmp_path / "other")
    assert [p.read_text() for p in again] == ["second", "first"]


def test_fetch_reuses_cache_without_downloading(lake, tmp_path):
    from support.helpers import CountingStore
    rec = push(lake, write(tmp_path / "a.log", "cached"))
    counting = CountingStore(lake.store)
    lake2 = Lake(config=lake.config, store=counting, progress=False)
    lake2.fetch([rec], dest=tmp_path / "one")
    assert counting.calls["get"] == 1
    lake2.fetch([rec], dest=tmp_path / "two")
    assert counting.calls["get"] == 1


def test_fetch_refuses_corrupt_bytes(lake, tmp_path):
    rec = push(lake, write(tmp_path / "a.log", "original"))
    key = next(e.key for e in lake.store.list("data/"))
    lake.store.put_bytes(key, b"tampered")
    dest = tmp_path / "out"
    with pytest.raises(IntegrityError, match=rec.id):
        lake.fetch([rec], dest=dest)
    assert not dest.exists() or not any(dest.rglob("*"))
    assert not any(p.is_file() for p in lake.cache.root.rglob("*")) if lake.cache.root.exists() else True


def test_fetch_rejects_edited_rows(lake, tmp_path):
    push(lake, write(tmp_path / "a.log", "x"))
    frame = lake.list()
    frame.loc[0, "where"] = "elsewhere"
    with pytest.raises(InvalidInput, match="does not match"):
        lake.fetch(frame, dest=tmp_path / "out")


def test_get_open_latest_catalog(lake, tmp_path):
    old = push(lake, write(tmp_path / "old.log", "old"), start="2015-03-19T00:00:00Z",
               end="2015-03-19T01:00:00Z")
    new = push(lake, write(tmp_path / "new.log", "new"))
    other = push(lake, write(tmp_path / "db.log", "db"), what="postgres", where="db01")
    assert lake.get(old.id).hash == old.hash
    with lake.open(new.id) as stream:
        assert stream.read() == b"new"
    assert lake.latest("nginx").id == new.id
    assert lake.latest("nginx", "web01").id == new.id
    assert lake.catalog() == {"nginx": ["web01"], "postgres": ["db01"]}
    with pytest.raises(NotFound):
        lake.latest("nginx", "web99")
    with pytest.raises(NotFound):
        lake.get("0" * 32)
    with pytest.raises(InvalidInput, match="id"):
        lake.get("not-an-id")
    assert other.id != new.id


def test_s3_prefix_is_honoured(bucket, tmp_path, aws_env):
    lake = Lake(f"s3://{bucket}/team/logs", cache_dir=tmp_path / "cache", progress=False)
    push(lake, write(tmp_path / "a.log", "x"), work_id="w-1")
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 4 and all(k.startswith("team/logs/") for k in keys)  # data, 3 entries


def test_s3_record_in_object_metadata(bucket, tmp_path, aws_env):
    lake = Lake(f"s3://{bucket}", cache_dir=tmp_path / "cache", progress=False)
    rec = push(lake, write(tmp_path / "a.log", "x"))
    key = rec.url.split(f"s3://{bucket}/", 1)[1]
    head = boto3.client("s3").head_object(Bucket=bucket, Key=key)
    import json
    assert json.loads(head["Metadata"]["datalake-record"])["id"] == rec.id


def test_s3_large_file_goes_multipart(bucket, tmp_path, aws_env):
    lake = Lake(f"s3://{bucket}/big", cache_dir=tmp_path / "cache", progress=False)
    data = os.urandom(40 << 20)
    path = tmp_path / "big.log"
    path.write_bytes(data)
    rec = push(lake, path)
    key = rec.url.split(f"s3://{bucket}/", 1)[1]
    head = boto3.client("s3").head_object(Bucket=bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-3")  # three 16 MiB parts
    # As boto3's upload_file: each part sent with its CRC32, which the server checked, and
    # the object keeps the CRC32 of those CRC32s (S3's composite checksum).
    part_crcs = b"".join(zlib.crc32(data[at:at + (16 << 20)]).to_bytes(4, "big")
                         for at in range(0, len(data), 16 << 20))
    composite = base64.b64encode(zlib.crc32(part_crcs).to_bytes(4, "big")).decode()
    checked = boto3.client("s3").head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert checked["ChecksumCRC32"].split("-")[0] == composite  # S3 and SeaweedFS add "-3"
    [fetched] = lake.fetch([rec], dest=tmp_path / "out")
    assert fetched.read_bytes() == data


def test_bad_storage_urls():
    with pytest.raises(InvalidInput, match="scheme"):
        Lake("ftp://example/x")
    with pytest.raises(InvalidInput, match="bucket"):
        Lake("s3://Bad_Bucket/x")


def test_embedded_default_lake(isolated_home, tmp_path):
    lake = Lake(progress=False)
    expected = isolated_home / ".local" / "share" / "datalake_nb" / "lake"
    assert lake.url == expected.as_uri()
    rec = push(lake, write(tmp_path / "a.log", "x"))
    assert Lake(progress=False).get(rec.id).id == rec.id


def test_hand_crafted_hostile_keys_are_ignored(lake, tmp_path):
    """Keys the lake never writes (a where of '..', a bad hash) are not records, so no
    fetched name can be built from them."""
    good = push(lake, write(tmp_path / "a.log", "good"))
    hostile = ["data/nginx/1h/2015/03/20/20150320T000000000Z~-~..~" + "0" * 32 + "/0~.log",
               "data/nginx/1h/2015/03/20/20150320T000000000Z~-~web01~nothex/0~.log",
               "data/nginx/1h/2015/03/20/20150320T000000000Z~-~web01~" + "0" * 32 + "/0~%ZZ.log",
               "work/x/1/nginx/1h/2015/03/20/20150320T000000000Z~-~..~" + "0" * 32 + "/0~x.log"]
    for key in hostile:
        lake.store.put_bytes(key, b"evil")
    assert list(lake.list()["id"]) == [good.id]
    assert lake.list(work_id="x").empty
    dest = tmp_path / "out"
    [path] = lake.fetch(lake.list(), dest=dest)
    assert dest in path.parents


def test_push_many_names_unknown_and_missing_fields(lake, tmp_path):
    path = write(tmp_path / "a.log", "x")
    with pytest.raises(InvalidInput, match="unknown field.*data-version"):
        lake.push_many([dict(path=path, what="a", where="b", start=T0, **{"data-version": "0"})])
    with pytest.raises(InvalidInput, match="data_version: is required"):
        lake.push_many([dict(path=path, what="a", where="b", start=T0)])
    assert stored_keys(lake) == []


def test_fetch_accepts_json_records_from_the_cli_format(lake, tmp_path):
    rec = push(lake, write(tmp_path / "a.log", "json row"))
    [path] = lake.fetch([rec.to_json()], dest=tmp_path / "out")
    assert path.read_text() == "json row"
