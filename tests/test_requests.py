"""Requests per file on S3, counted with botocore's before-send hook: pushing a small file
is one PUT and fetching it one GET (the benchmark's cases 2 and 4 rest on this)."""
from __future__ import annotations

import os

from datalake_nb import Lake
from datalake_nb.hashing import VerifiedFile

from support.helpers import write

T0, T1 = "2015-03-20T00:00:00Z", "2015-03-20T01:00:00Z"


def sent_requests(lake):
    """(operation, url) of every HTTP request the lake's S3 client sends from now on."""
    sent = []
    lake.store.client.meta.events.register(
        "before-send.s3.*",
        lambda request, event_name, **kw: sent.append((event_name.rsplit(".", 1)[1], request.url)))
    return sent


def test_small_files_are_one_put_each_and_one_get_each(bucket, aws_env, tmp_path):
    lake = Lake(f"s3://{bucket}/logs", cache_dir=tmp_path / "cache", progress=False)
    paths = [write(tmp_path / "in" / f"app-{i}.log", f"line {i}\n" * (i + 1)) for i in range(20)]
    sent = sent_requests(lake)
    records = lake.push_many(paths, what="app", where="web01", start=T0, end=T1, data_version="0")
    data_puts = [url for op, url in sent if "/data/" in url]
    assert len(data_puts) == len(set(data_puts)) == 20
    assert {op for op, _ in sent} == {"PutObject"}  # no HEAD, no multipart, no GET
    assert all("/catalog/" in url for op, url in sent if "/data/" not in url)

    sent.clear()
    fetched = lake.fetch(records, dest=tmp_path / "out")
    assert [op for op, _ in sent] == ["GetObject"] * 20  # the size is known: no HEAD first
    assert [p.read_bytes() for p in fetched] == [p.read_bytes() for p in paths]


def test_fetch_without_a_known_size_still_works(bucket, aws_env, tmp_path):
    """A record without a size (e.g. built by hand) costs one HEAD for its size first."""
    lake = Lake(f"s3://{bucket}/logs", cache_dir=tmp_path / "cache", progress=False)
    rec = lake.push(write(tmp_path / "a.log", "hello\n"), what="app", where="web01", start=T0,
                    data_version="0")
    sent = sent_requests(lake)
    dest = tmp_path / "a.copy"
    with VerifiedFile(dest) as sink:
        lake.store.get_file(rec.url.split("/logs/", 1)[1], sink)
    assert dest.read_text() == "hello\n"
    assert [op for op, _ in sent] == ["HeadObject", "GetObject"]


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
