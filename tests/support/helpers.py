"""Helpers shared by the tests: a call-counting Store wrapper, a file writer and a wait
for a state (never a fixed sleep)."""
from __future__ import annotations

import collections
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from datalake_nb.core import layout
from datalake_nb.stores.base import Store
from datalake_nb.stores.local import LocalStore

from . import figures

if TYPE_CHECKING:
    from datalake_nb import Lake

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "logs"
FIELDS = dict(what="nginx", where="web01", start="2015-03-20T00:00:00Z", data_version="0")


def fields(*drop: str, **changes: object) -> dict:
    """The metadata the tests push with (FIELDS), less ``drop``, with ``changes``."""
    return {**{k: v for k, v in FIELDS.items() if k not in drop}, **changes}


def options(metadata: dict) -> list[str]:
    """The same metadata as the CLI's options: ``--what nginx --where web01 ...``."""
    return [word for name, value in metadata.items()
            for word in (f"--{name.replace('_', '-')}", str(value))]


def big_files(folder: Path, count: int, size: int) -> list[Path]:
    """``count`` files of ``size`` bytes each, each different (1 KiB of noise, repeated)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"big-{i}.log"
        path.write_bytes((os.urandom(1024) * -(-size // 1024))[:size])
        paths.append(path)
    return paths


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


class GatedStore(CountingStore):
    """A real local store whose chosen call kind waits at a gate until the test opens it,
    as a slow or silent endpoint would: the nth such call and every later one (so other
    workers cannot race ahead); ``reached`` is set when the nth waits there."""

    def __init__(self, inner, kind, nth=1):
        super().__init__(inner)
        self.kind, self.nth = kind, nth
        self.gate, self.reached = threading.Event(), threading.Event()
        self._seen = 0
        self._lock = threading.Lock()

    def _hold(self, kind):
        if kind != self.kind:
            return
        with self._lock:
            self._seen += 1
            seen = self._seen
        if seen >= self.nth:
            if seen == self.nth:
                self.reached.set()
            assert self.gate.wait(60), "the test never opened the gate"

    def list(self, prefix, start_after=None, stop=None):
        self._hold("list")
        yield from super().list(prefix, start_after, stop)

    def get_file(self, key, sink, progress=None, size=None):
        self._hold("get")
        return super().get_file(key, sink, progress, size)


def gated_lake(tmp_path, kind, nth=1):
    """A lake in ``tmp_path/lake`` whose ``kind`` calls wait at a gate (GatedStore)."""
    from datalake_nb import Lake
    store = GatedStore(LocalStore(tmp_path / "lake"), kind, nth)
    return Lake(store=store, cache_dir=tmp_path / "cache", progress=False), store


def push_many_small(lake, tmp_path, count):
    """``count`` small nginx files of web01, a minute apart on 2015-03-20."""
    items = [dict(path=write(tmp_path / "many" / f"{n}.log", f"small file {n}\n"), what="nginx",
                  where="web01", start=f"2015-03-20T{n // 60:02d}:{n % 60:02d}:00Z",
                  data_version="0") for n in range(count)]
    return lake.push_many(items)


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


def push_samples(lake, compress=None) -> list:
    """The sample nginx logs, each an hour, data-version 1 (``compress``: also as .gz)."""
    records = []
    for path in sorted(SAMPLES.glob("*_nginx_*.log")):
        host, what, hour = path.stem.split("_")
        records.append(lake.push(path, what=what, where=host, start=f"{hour}:00:00Z",
                                 end=f"{hour}:59:59.999Z", data_version="1"))
    return records


def corrupt(lake, rec) -> None:
    """Spoil the stored bytes of a record behind the lake's back (same length)."""
    key = layout.data_key(rec)
    if isinstance(lake.store, LocalStore):
        path = lake.store._path(key)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 1
        os.chmod(path, 0o644)
        path.write_bytes(bytes(data))
    else:
        store = lake.store
        body = store.client.get_object(Bucket=store.bucket, Key=store.prefix + key)["Body"].read()
        spoiled = body[:len(body) // 2] + bytes([body[len(body) // 2] ^ 1]) + body[len(body) // 2 + 1:]
        store.client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=spoiled)


# What a killed push must leave listable and fetchable (tests/test_crash_points.py's record:
# what app, where h2, work id job-9): every query form, the where and work indexes among them.
QUERIES = ({}, {"where": "h2"}, {"what": "app", "where": "h2"}, {"work_id": "job-9"})


def wait_for(condition, timeout: float = 60.0) -> None:
    """Return once ``condition()`` is true; fail if it is not within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the state never came"
        time.sleep(0.02)


def fetchable_rows(lake: Lake, dest: Path) -> dict[str, list[str]]:
    """{query: ids listed}, after checking that each listed row is fetched whole."""
    out = {}
    for query in QUERIES:
        rows = lake.records(**query)
        phantoms = 0
        for rec in rows:
            try:
                lake.fetch([rec], dest)
            except LookupError:
                phantoms += 1
        figures.add("phantom rows", phantoms)
        assert phantoms == 0, f"{query}: {phantoms} listed row(s) cannot be fetched"
        out[str(query)] = [r.id for r in rows]
    return out


def physical_lines(data: bytes) -> list[str]:
    """The rule, written out independently: bytes up to each newline (the last line may
    lack one), without one final CR, decoded with U+FFFD for bad bytes."""
    pieces = data.split(b"\n")
    if data.endswith(b"\n"):
        pieces.pop()
    return [(p[:-1] if p.endswith(b"\r") else p).decode("utf-8", "replace") for p in pieces]
