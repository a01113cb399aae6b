"""Helpers shared by the tests: a call-counting Store wrapper, a file writer and a wait
for a state (never a fixed sleep)."""
from __future__ import annotations

import collections
import threading
import time
from pathlib import Path

from datalake_nb.stores.base import Store


class CountingStore(Store):
    """Wraps a Store and counts calls by kind (listing pages are counted by the
    inner store's requests: see S3 tests, which count HTTP requests too)."""

    def __init__(self, inner: Store):
        self.inner = inner
        self.url = inner.url
        self.calls: collections.Counter[str] = collections.Counter()

    def _count(self, kind):
        self.calls[kind] += 1

    def put_file(self, key, source, metadata, progress=None, **options):
        self._count("put")
        return self.inner.put_file(key, source, metadata, progress, **options)

    def put_bytes(self, key, data, metadata=None, **options):
        self._count("put")
        return self.inner.put_bytes(key, data, metadata, **options)

    def get_file(self, key, sink, progress=None, size=None):
        self._count("get")
        return self.inner.get_file(key, sink, progress, size)

    def open(self, key):
        self._count("get")
        return self.inner.open(key)

    def list(self, prefix, start_after=None, stop=None):
        self._count("list")
        for n, entry in enumerate(self.inner.list(prefix, start_after, stop), 1):
            if n % 1000 == 0:
                self._count("list")  # S3 returns at most 1000 keys per request
            yield entry

    def list_dirs(self, prefix):
        self._count("list")
        return self.inner.list_dirs(prefix)

    def head(self, key):
        self._count("head")
        return self.inner.head(key)

    def exists(self):
        self._count("list")
        return self.inner.exists()

    def delete(self, key):
        self._count("delete")
        return self.inner.delete(key)

    def url_for(self, key):
        return self.inner.url_for(key)


def until(condition, timeout: float = 60.0) -> bool:
    """Whether ``condition()`` became true within ``timeout`` seconds (a bound on a hang:
    it returns as soon as the state is reached)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def threads_end(before: list[threading.Thread], timeout: float = 60.0) -> bool:
    """Whether every thread started since ``before`` (threading.enumerate()) ended in time."""
    return until(lambda: all(t in before for t in threading.enumerate()), timeout)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def snapshot(lake) -> dict[str, object]:
    """Everything a lake holds, byte for byte: each file under a local root (hidden ones
    too), or each object in the S3 bucket with its user metadata."""
    from datalake_nb.stores.base import LocalStore
    store = lake.store
    if isinstance(store, LocalStore):
        if not store.root.exists():
            return {}
        return {str(p.relative_to(store.root)): p.read_bytes()
                for p in sorted(store.root.rglob("*")) if p.is_file()}
    out: dict[str, object] = {}
    for page in store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket):
        for obj in page.get("Contents", []):
            got = store.client.get_object(Bucket=store.bucket, Key=obj["Key"])
            out[obj["Key"]] = (got["Body"].read(), got.get("Metadata"))
    return out
