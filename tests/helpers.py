"""Helpers shared by the tests: a call-counting Store wrapper and a file writer."""
from __future__ import annotations

import collections
from pathlib import Path

from datalake_nb.store import Store


class CountingStore(Store):
    """Wraps a Store and counts calls by kind (listing pages are counted by the
    inner store's requests: see S3 tests, which count HTTP requests too)."""

    def __init__(self, inner: Store):
        self.inner = inner
        self.url = inner.url
        self.calls: collections.Counter[str] = collections.Counter()

    def _count(self, kind):
        self.calls[kind] += 1

    def put_file(self, key, path, metadata, progress=None):
        self._count("put")
        return self.inner.put_file(key, path, metadata, progress)

    def put_bytes(self, key, data, metadata=None):
        self._count("put")
        return self.inner.put_bytes(key, data, metadata)

    def get_file(self, key, dest, progress=None):
        self._count("get")
        return self.inner.get_file(key, dest, progress)

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

    def delete(self, key):
        self._count("delete")
        return self.inner.delete(key)

    def url_for(self, key):
        return self.inner.url_for(key)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
