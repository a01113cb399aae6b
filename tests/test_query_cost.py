"""A query's store calls follow the rows it returns, not the lake's size or the range."""
from __future__ import annotations

import concurrent.futures
import urllib.parse

import pytest

from datalake_nb import Lake
from datalake_nb.config import resolve
from datalake_nb.core import layout
from datalake_nb.core.metadata import validate_fields
from datalake_nb.stores.local import LocalStore

from support.helpers import CountingStore
from support.wire import wire_proxy

HOUR = 3_600_000
BASE = 1_420_070_400_000  # 2015-01-01T00:00:00Z
WHERES = [f"web{i:02d}" for i in range(10)]


def seed(store, hours, whats=("nginx",), wheres=WHERES):
    """Write hourly records straight into the store as 0-byte data objects and where
    entries, with their pairs' catalog entries (the key is the record, so listing sees
    exactly what pushes would have written)."""
    keys = {}
    for what in whats:
        for h in range(hours):
            for where in wheres:
                fields = validate_fields(what=what, where=where, start=BASE + h * HOUR,
                                      end=BASE + (h + 1) * HOUR - 1, data_version="0")
                rec = layout.build_record(fields, "0" * 32, ".log")
                keys[layout.data_key(rec)] = keys[layout.where_key(rec, 0)] = b""
        keys.update((layout.catalog_key(what, where), layout.INDEXED) for where in wheres)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda kv: store.put_bytes(*kv), keys.items()))
    return len(keys)


def query(store, **filters):
    counting = CountingStore(store)
    lake = Lake(store=counting, progress=False)
    rows = lake.records(**filters)
    return rows, counting.calls


@pytest.fixture(scope="module")
def big_local(tmp_path_factory):
    store = LocalStore(tmp_path_factory.mktemp("big"))
    seed(store, hours=24 * 30, whats=("nginx", "syslog"))  # 14,400 records
    return store


@pytest.mark.slow
def test_calls_do_not_grow_with_lake_size_or_range(big_local, tmp_path):
    small = LocalStore(tmp_path / "small")
    seed(small, hours=24)
    hour = dict(what="nginx", start=BASE + 5 * HOUR, end=BASE + 5 * HOUR + 1)
    small_rows, small_calls = query(small, **hour)
    big_rows, big_calls = query(big_local, **hour)
    assert len(small_rows) == len(big_rows) == 10  # one hour x 10 wheres
    assert small_calls == big_calls
    assert big_calls["list"] == len(layout.SPAN_CLASSES)
    assert big_calls["get"] == big_calls["head"] == 0


def test_calls_grow_with_rows_returned_only(big_local):
    week = dict(what="nginx", start=BASE, end=BASE + 7 * 24 * HOUR - 1)
    rows, calls = query(big_local, **week)
    assert len(rows) == 7 * 24 * 10
    pages = len(rows) // 1000
    assert calls["list"] <= len(layout.SPAN_CLASSES) + pages


def test_no_what_costs_a_constant_per_what(big_local):
    rows, calls = query(big_local, where="web03", start=BASE + HOUR + 10, end=BASE + HOUR + 20)
    assert {r.what for r in rows} == {"nginx", "syslog"} and len(rows) == 2
    assert calls["list"] == 1 + 2 * len(layout.SPAN_CLASSES)  # the whats, then web03's entries
    assert calls["head"] == 2  # each pair's catalog entry: are its where entries complete?


@pytest.mark.slow
def test_s3_query_requests_on_thousands_of_records(s3_server, bucket, tmp_path):
    """Count real HTTP requests to the S3 server for a narrow query, on the wire (a
    listing goes through obstore or botocore)."""
    with wire_proxy(s3_server.url) as wire:
        lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/big",
                                    "AWS_ENDPOINT_URL": wire.url,
                                    "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}), progress=False)
        seed(lake.store, hours=24 * 10, wheres=WHERES[:5])  # 1,200 records
        wire.clear()
        frame = lake.list(what="nginx", where="web02", start=BASE + 50 * HOUR + 1,
                          end=BASE + 51 * HOUR - 1)
    assert len(frame) == 1
    assert sorted(s.method for s in wire.sent) == ["GET"] * len(layout.SPAN_CLASSES) + ["HEAD"]
    listings = [urllib.parse.parse_qs(s.query) for s in wire.sent if s.method == "GET"]
    assert all(q["list-type"] == ["2"] and q["prefix"][0].startswith("big/where/nginx/web02/")
               for q in listings)  # the pair's where entries only; the HEAD: its catalog entry
