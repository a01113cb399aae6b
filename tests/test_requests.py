"""Requests per file on S3, counted on the wire (a recording proxy) or with botocore's
before-send hook: pushing a small file is one PUT and fetching it one GET (the
benchmark's cases 2 and 4 rest on this), whichever client sends them."""
from __future__ import annotations

import concurrent.futures
import contextlib
import os
import subprocess
import sys

import boto3
import pytest

from datalake_nb import DatalakeError, Lake
from datalake_nb.config import resolve
from datalake_nb.core import layout
from datalake_nb.engine.hashing import VerifiedFile

from support.helpers import write
from support.wire import wire_proxy

T0, T1 = "2015-03-20T00:00:00Z", "2015-03-20T01:00:00Z"


def sent_requests(lake):
    """(operation, url) of every HTTP request the lake's S3 client sends from now on."""
    sent = []
    lake.store.client.meta.events.register(
        "before-send.s3.*",
        lambda request, event_name, **kw: sent.append((event_name.rsplit(".", 1)[1], request.url)))
    return sent


@pytest.mark.parametrize("plane", ["auto", "boto3"])
def test_small_files_are_one_put_each_and_one_get_each(s3_server, bucket, tmp_path, plane):
    paths = [write(tmp_path / "in" / f"app-{i}.log", f"line {i}\n" * (i + 1)) for i in range(20)]
    with wire_proxy(s3_server.url) as wire:
        lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/logs",
                                    "AWS_ENDPOINT_URL": wire.url, "DATALAKE_S3_DATA_PLANE": plane,
                                    "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}), progress=False)
        assert (lake.store.fast_plane is not None) == (plane == "auto")
        records = lake.push_many(paths, what="app", where="web01", start=T0, end=T1,
                                 data_version="0")
        data_puts = [s.path for s in wire.requests("PUT", "/data/")]
        assert len(data_puts) == len(set(data_puts)) == 20
        assert {s.method for s in wire.sent} == {"PUT"}  # no HEAD, no multipart, no GET
        where_puts = [s.path for s in wire.requests("PUT", "/where/")]
        assert len(where_puts) == len(set(where_puts)) == 20  # one 0-byte where entry each
        catalog = [s for s in wire.sent if "/data/" not in s.path and "/where/" not in s.path]
        assert len(catalog) == 1  # written once per pair and push call, not per file in flight
        assert all(s.path.endswith("logs/catalog/app/web01") and s.headers.get("if-none-match")
                   == "*" for s in catalog)  # the pair's mark: created, never overwritten
        assert all(s.headers.get("if-none-match") == "*" for s in wire.requests("PUT", "/data/"))

        wire.clear()
        fetched = lake.fetch(records, dest=tmp_path / "out")
        assert [s.method for s in wire.sent] == ["GET"] * 20  # the size is known: no HEAD first
        assert all("/data/" in s.path and not s.query for s in wire.sent)
    assert [p.read_bytes() for p in fetched] == [p.read_bytes() for p in paths]


def test_fetch_without_a_known_size_still_works(s3_server, bucket, tmp_path):
    """A record without a size (e.g. built by hand) costs one HEAD for its size first."""
    with wire_proxy(s3_server.url) as wire:
        lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/logs",
                                    "AWS_ENDPOINT_URL": wire.url,
                                    "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}), progress=False)
        rec = lake.push(write(tmp_path / "a.log", "hello\n"), what="app", where="web01", start=T0,
                        data_version="0")
        wire.clear()
        dest = tmp_path / "a.copy"
        with VerifiedFile(dest) as sink:
            lake.store.get_file(rec.url.split("/logs/", 1)[1], sink)
    assert dest.read_text() == "hello\n"
    assert [s.method for s in wire.sent] == ["HEAD", "GET"]


def test_progress_counts_every_byte_of_a_small_file(bucket, aws_env, tmp_path):
    lake = Lake(f"s3://{bucket}/logs", cache_dir=tmp_path / "cache", progress=False)
    data = os.urandom(300_000)
    path = tmp_path / "b.log"
    path.write_bytes(data)
    pushed, fetched = [], []
    key = "data/x.log"
    lake.store.put_file(key, path, {}, pushed.append)
    with VerifiedFile(tmp_path / "b.copy") as sink:
        lake.store.get_file(key, sink, fetched.append, size=len(data))
    assert sum(pushed) == sum(fetched) == len(data)
    assert (tmp_path / "b.copy").read_bytes() == data


def test_ranged_listing_asks_only_for_what_lies_between(bucket, aws_env, tmp_path):
    """list(prefix, start_after, stop) sends the common prefix of start_after and stop as
    S3's Prefix (a narrow query's page then holds no keys past stop), and still returns
    exactly the keys strictly between the two."""
    lake = Lake(f"s3://{bucket}/p", cache_dir=tmp_path / "cache", progress=False)
    keys = ["a/2015/01/01", "a/2015/01/01/x1", "a/2015/01/01/x5", "a/2015/01/02/x1",
            "a/2015/02/01/x1", "a/2016/x", "b/x"]
    for key in keys:
        lake.store.put_bytes(key, b"")
    sent = sent_requests(lake)
    found = [e.key for e in lake.store.list("a/", "a/2015/01/01/x0", "a/2015/01/01/x9")]
    assert found == ["a/2015/01/01/x1", "a/2015/01/01/x5"]
    assert [url for _, url in sent][0].count("prefix=p%2Fa%2F2015%2F01%2F01%2Fx") == 1
    bounds = ["a/", "a/2015/01/01", "a/2015/01/01/x1", "a/2015/01/01/x3", "a/2015/02",
              "a/2015/02/01/x1", "a/2016/x", "a/\x7f"]
    for low in bounds:
        for high in bounds:
            expected = [k for k in keys if k.startswith("a/") and low < k < high]
            assert [e.key for e in lake.store.list("a/", low, high)] == expected, (low, high)


REDIRECT = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code>'
            b"<Message>The bucket you are attempting to access must be addressed using the "
            b"specified endpoint.</Message></Error>")


@pytest.mark.parametrize("first", ["push", "fetch"])
def test_a_bucket_in_another_region_falls_back_to_boto3(s3_server, bucket, tmp_path, first):
    """S3 answers 301 PermanentRedirect when the bucket is in another region than the one
    configured: boto3 follows it, obstore does not.  The first such answer moves the
    store's small transfers to boto3, and the transfer that got it is done by boto3."""
    path = write(tmp_path / "a.log", "hello\n")
    settings = {"DATALAKE_STORAGE_URL": f"s3://{bucket}/logs",
                "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}
    rec = Lake(config=resolve(settings), progress=False).push(path, what="app", where="web01",
                                                              start=T0, data_version="0")
    with wire_proxy(s3_server.url, pick=lambda n: n == 1, answer=(301, REDIRECT)) as wire:
        lake = Lake(config=resolve({**settings, "AWS_ENDPOINT_URL": wire.url}), progress=False)
        assert lake.store.fast_plane is not None
        if first == "push":
            again = lake.push(path, what="app", where="web02", start=T0, data_version="0")
            assert again.where == "web02" and len(lake.list(where="web02")) == 1
        else:
            fetched = lake.fetch([rec], dest=tmp_path / "out")
            assert fetched[0].read_text() == "hello\n"
        assert lake.store.fast_plane is None and wire.throttled == 1
        assert [s.method for s in wire.sent][:2] == (["PUT", "PUT"] if first == "push" else ["GET", "GET"])


def test_a_large_file_completes_its_upload_only_if_absent(s3_server, bucket, tmp_path):
    """A file from 16 MiB up is a HEAD, then a multipart upload whose completion carries
    If-None-Match: *, so an object that appeared meanwhile (a concurrent push) is never
    overwritten: the completion is refused, the upload aborted, the object kept."""
    data = os.urandom((16 << 20) + 1234)
    path = tmp_path / "big.log"
    path.write_bytes(data)
    settings = {"DATALAKE_STORAGE_URL": f"s3://{bucket}/logs",
                "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}
    with wire_proxy(s3_server.url) as wire:
        lake = Lake(config=resolve({**settings, "AWS_ENDPOINT_URL": wire.url}), progress=False)
        rec = lake.push(path, what="big", where="web01", start=T0, data_version="0")
        [complete] = [s for s in wire.requests("POST", "/data/") if "uploadId=" in s.query]
        assert complete.headers.get("if-none-match") == "*"

    # another writer creates the key between this push's HEAD and its completion
    lake = Lake(config=resolve(settings), progress=False)
    assert lake.fetch([rec], dest=tmp_path / "out")[0].read_bytes() == data
    store = lake.store
    key = store.prefix + layout.data_key(rec)
    store.client.delete_object(Bucket=store.bucket, Key=key)
    real_complete = store.client.complete_multipart_upload

    def complete_after_another_writer(**kwargs):
        store.client.put_object(Bucket=store.bucket, Key=key, Body=b"the other writer's")
        return real_complete(**kwargs)

    store.client.complete_multipart_upload = complete_after_another_writer
    assert lake.push(path, what="big", where="web01", start=T0, data_version="0") == rec
    assert store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read() == b"the other writer's"
    assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_a_folder_is_listed_through_obstore_and_a_key_it_cannot_name_through_boto3(
        s3_server, bucket, tmp_path):
    """A listing of whole folders goes through obstore (no botocore request); a key that
    obstore cannot name (a '..' segment, which moto stores) makes boto3 list on from the
    last key given: the keys come back all the same, exactly and in order."""
    with wire_proxy(s3_server.url) as wire:
        lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/p",
                                    "AWS_ENDPOINT_URL": wire.url,
                                    "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}), progress=False)
        for key in ["a/1", "a/2", "a/3", "b/1"]:
            lake.store.put_bytes(key, b"")
        wire.clear()
        assert [e.key for e in lake.store.list("a/")] == ["a/1", "a/2", "a/3"]
        assert [s.method for s in wire.sent] == ["GET"]
        assert "botocore" not in wire.sent[0].headers.get("user-agent", "").lower()
        if s3_server.name == "moto":  # SeaweedFS refuses such a key
            boto3.client("s3", endpoint_url=s3_server.url).put_object(
                Bucket=bucket, Key="p/a/2/../x", Body=b"")
            wire.clear()
            assert [e.key for e in lake.store.list("a/")] == ["a/1", "a/2", "a/2/../x", "a/3"]
            assert "botocore" in wire.sent[-1].headers.get("user-agent", "").lower()


def test_boto3_lists_on_from_the_last_key_obstore_gave(s3_server, bucket, tmp_path):
    """A key obstore cannot name on the second page of a listing: the first page's 1,000
    keys stay given, and boto3 asks only for what comes after the last of them."""
    if s3_server.name != "moto":
        pytest.skip("SeaweedFS refuses a key with a '..' segment")
    with wire_proxy(s3_server.url) as wire:
        lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/p",
                                    "AWS_ENDPOINT_URL": wire.url,
                                    "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}), progress=False)
        keys = [f"a/{i:04d}" for i in range(1002)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda key: lake.store.put_bytes(key, b""), keys))
        boto3.client("s3", endpoint_url=s3_server.url).put_object(
            Bucket=bucket, Key="p/a/1000/../x", Body=b"")
        wire.clear()
        assert [e.key for e in lake.store.list("a/")] == keys[:1001] + ["a/1000/../x", "a/1001"]
    by_botocore = [s for s in wire.sent if "botocore" in s.headers.get("user-agent", "").lower()]
    assert len(by_botocore) == 1 and "start-after=p%2Fa%2F0999" in by_botocore[0].query


@pytest.mark.parametrize("plane", ["auto", "boto3"])
def test_a_session_token_in_the_environment_goes_with_its_keys(aws_env, bucket, tmp_path,
                                                               monkeypatch, plane):
    """Temporary credentials: the keys and AWS_SESSION_TOKEN from the environment are
    signed together, by obstore and by botocore."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-session-token")
    with wire_proxy(aws_env) as wire:
        lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/p",
                                    "AWS_ENDPOINT_URL": wire.url, "DATALAKE_S3_DATA_PLANE": plane,
                                    "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}), progress=False)
        with contextlib.suppress(DatalakeError):  # a server may refuse a token it never gave
            list(lake.store.list("a/"))
        with contextlib.suppress(DatalakeError):
            lake.store.head("a/1")
    assert [s.method for s in wire.sent] == ["GET", "HEAD"]
    assert all(s.headers.get("x-amz-security-token") == "a-session-token" for s in wire.sent)


def test_list_and_fetch_by_query_need_no_botocore_client(aws_env, bucket, tmp_path):
    """Given both keys and a region, ``datalake list`` and ``fetch`` list and GET through
    obstore: botocore's client (its import and models: ~0.2 s of a command) is not made."""
    lake_url = f"s3://{bucket}/logs"
    Lake(lake_url, cache_dir=tmp_path / "cache", progress=False).push(
        write(tmp_path / "a.log", "hello\n"), what="app", where="web01", start=T0,
        data_version="0")
    for argv in (["list", "--what", "app"],
                 ["fetch", "--what", "app", "--dest", str(tmp_path / "out")]):
        argv += ["--storage-url", lake_url, "--cache-dir", str(tmp_path / "cache2")]
        code = ("import sys\nfrom datalake_nb.cli import main\n"
                f"code = main({argv!r})\n"
                "print('EXIT', code, 'CLIENT', 'botocore.client' in sys.modules)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, timeout=120).stdout
        assert out.splitlines()[-1] == "EXIT 0 CLIENT False", out
    assert (tmp_path / "out" / "web01").is_dir()
