"""What the bench's round-trip profile rests on: a small push is one request that waits
one round trip.  botocore puts ``Expect: 100-continue`` on every PUT, which makes the
body wait for the server's "100 Continue" (a second round trip); S3Store drops it for
bodies under 2 MiB and keeps it for larger ones (multipart parts).  Headers are read on the wire: by a
recording proxy, or for multipart by a before-send hook registered after the store's own."""
from __future__ import annotations

import os

import pytest

from datalake_nb import Lake
from datalake_nb.config import resolve

from support.helpers import write
from support.wire import wire_proxy

T0 = "2015-03-20T00:00:00Z"


def sent_headers(lake):
    """(operation, Expect header or None) of every request the lake's client sends."""
    sent = []
    lake.store.client.meta.events.register(
        "before-send.s3",
        lambda request, event_name, **kw: sent.append(
            (event_name.rsplit(".", 1)[1], request.headers.get("Expect"))))
    return sent


@pytest.mark.parametrize("plane", ["auto", "boto3"])
def test_small_puts_and_index_entries_go_without_the_expect_handshake(s3_server, bucket, tmp_path,
                                                                      plane):
    paths = [write(tmp_path / f"app-{i}.log", f"line {i}\n" * 100) for i in range(3)]
    with wire_proxy(s3_server.url) as wire:
        lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/logs",
                                    "AWS_ENDPOINT_URL": wire.url, "DATALAKE_S3_DATA_PLANE": plane,
                                    "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}), progress=False)
        lake.push_many(paths, what="app", where="web01", start=T0, data_version="0", work_id="job-1")
    puts = wire.requests("PUT")
    # data, where and work-id entries each, and the catalog marker (once per push in parallel)
    assert 3 * 3 + 1 <= len(puts) <= 3 * 3 + 3
    assert [p.headers.get("expect") for p in puts] == [None] * len(puts)


def test_multipart_parts_keep_the_handshake(bucket, aws_env, tmp_path):
    lake = Lake(f"s3://{bucket}/logs", cache_dir=tmp_path / "cache", progress=False)
    big = tmp_path / "big.log"
    big.write_bytes(os.urandom(17 << 20))  # over the 16 MiB multipart threshold
    sent = sent_headers(lake)
    rec = lake.push(big, what="app", where="web01", start=T0, data_version="0")
    parts = [expect for op, expect in sent if op == "UploadPart"]
    # 16 MiB keeps the handshake; the 1 MiB tail part is small and goes without (any order)
    assert sorted(parts, key=str) == [None, b"100-continue"]
    assert lake.fetch([rec], dest=tmp_path / "out")[0].read_bytes() == big.read_bytes()
