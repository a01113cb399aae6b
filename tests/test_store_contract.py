"""The Store contract, run unchanged on every backend: a local folder, memory://, S3 (moto,
and SeaweedFS where selected), Azure Blob Storage (Azurite) and Google Cloud Storage
(fake-gcs-server), the last two marked ``emulators``.

Create-only writes (also under a race), listings in key order from a start key past 1,000
keys, head of a missing key, delete, streaming get, large multipart uploads, interrupted
uploads, the leftovers ``check`` reports, and keys with every character a record's key may
hold; then the lake's own commands on each backend."""
from __future__ import annotations

import concurrent.futures
import io
import os
import subprocess
import sys
import threading
import time
import uuid

import boto3
import pytest

from datalake_nb import Lake
from datalake_nb.config import resolve
from datalake_nb.core.errors import NotFound
from datalake_nb.stores import memory
from datalake_nb.stores.base import Leftover
from datalake_nb.stores.blob import PART as BLOB_PART, UPLOADS, BlobStore
from datalake_nb.stores.gcs import GCSStore
from datalake_nb.stores.local import LocalStore
from datalake_nb.stores.memory import MemoryStore
from datalake_nb.stores.registry import open_store
from datalake_nb.stores.s3 import PART as S3_PART, S3Store

from support.helpers import write
from support.s3servers import backend_marks, new_bucket, selected_backends

BACKENDS = ["local", "memory",
            *(pytest.param(f"s3-{name}", marks=backend_marks(name)) for name in selected_backends()),
            pytest.param("azure", marks=pytest.mark.emulators),
            pytest.param("gcs", marks=pytest.mark.emulators)]
# Every character a key of the lake may hold: names ([A-Za-z0-9_-]), '/', the '.' of
# extensions and versions, '~' between fields and the '%XX' of an encoded work id.
KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%"
LARGE = max(S3_PART, BLOB_PART) + (1 << 20) + 7  # more than one part, and a ragged end


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path, monkeypatch):
    """The URL of a new, empty lake on each backend (the environment points at its server)."""
    kind = request.param
    if kind == "local":
        (tmp_path / "lake").mkdir()
        yield str(tmp_path / "lake")
    elif kind == "memory":
        name = f"contract-{uuid.uuid4().hex[:8]}"
        yield f"memory://{name}/archive/logs"
        memory.discard(name)
    elif kind.startswith("s3-"):
        server = request.getfixturevalue(f"{kind[3:]}_server")
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        yield f"s3://{new_bucket(server)}/archive/logs"
    elif kind == "gcs":
        server = request.getfixturevalue("gcs_server")
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        yield f"gs://{server.new_bucket()}/archive/logs"
    else:
        server = request.getfixturevalue("azurite_server")
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        yield f"az://{server.new_container()}/archive/logs"


@pytest.fixture
def store(store_url):
    return open_store(resolve({"DATALAKE_STORAGE_URL": store_url}))


class Sink:
    def __init__(self):
        self.parts, self.lock = {}, threading.Lock()

    def write_at(self, offset, data):
        with self.lock:
            self.parts[offset] = bytes(data)

    def bytes(self):
        out = bytearray()
        for offset in sorted(self.parts):
            assert offset == len(out), "a gap or an overlap in what get_file wrote"
            out += self.parts[offset]
        return bytes(out)


def got(store, key, size=None):
    sink = Sink()
    store.get_file(key, sink, size=size)
    return sink.bytes()


# -- writes -------------------------------------------------------------------------------

def test_create_only_put_leaves_the_first_object(store):
    assert store.put_bytes("data/a/one", b"first", {"datalake-record": "{}"}, if_absent=True)
    assert not store.put_bytes("data/a/one", b"second", if_absent=True)
    assert got(store, "data/a/one") == b"first"
    assert store.put_bytes("data/a/one", b"third")  # without if_absent: replaced
    assert got(store, "data/a/one") == b"third"


def test_create_only_under_a_race_has_one_winner(store):
    contenders = [f"writer {i}".encode() * (i + 1) for i in range(8)]
    start = threading.Barrier(len(contenders))

    def put(data):
        start.wait()
        return store.put_bytes("index/race", data, if_absent=True)

    with concurrent.futures.ThreadPoolExecutor(len(contenders)) as pool:
        won = list(pool.map(put, contenders))
    assert won.count(True) == 1
    assert got(store, "index/race") == contenders[won.index(True)]


def test_put_file_from_a_path_and_from_a_stream(store, tmp_path):
    path = write(tmp_path / "f.log", "line\n" * 100)
    seen = []
    assert store.put_file("data/f/path", path, {}, seen.append, size=500, if_absent=True)
    assert sum(seen) == 500
    assert store.put_file("data/f/stream", io.BytesIO(b"streamed"), {}, size=8)
    assert not store.put_file("data/f/stream", io.BytesIO(b"other"), {}, size=5, if_absent=True)
    assert got(store, "data/f/path") == path.read_bytes()
    assert got(store, "data/f/stream") == b"streamed"


# -- listings -----------------------------------------------------------------------------

def test_listing_is_in_key_order_from_a_start_key_past_1000_keys(store):
    keys = sorted(f"data/many/{i % 7}/{i:05d}~{KEY_CHARS[i % len(KEY_CHARS)]}" for i in range(1005))
    shuffled = keys[1::2] + keys[::2]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert all(pool.map(lambda k: store.put_bytes(k, k.encode()), shuffled))
    store.put_bytes("data/other/x", b"x")
    listed = list(store.list("data/many/"))
    assert [e.key for e in listed] == keys
    assert all(e.size == len(e.key) for e in listed)
    assert [e.key for e in store.list("data/many/", start_after=keys[600])] == keys[601:]
    assert [e.key for e in store.list("data/many/", start_after=keys[10], stop=keys[20])] \
        == keys[11:20]
    # a start key that is no key, and a prefix that ends mid-name
    assert [e.key for e in store.list("data/many/", start_after="data/many/3/")] \
        == [k for k in keys if k > "data/many/3/"]
    assert [e.key for e in store.list("data/many/1/0")] == [k for k in keys if k.startswith("data/many/1/0")]
    assert store.list_dirs("data/") == ["many", "other"]
    assert store.list_dirs("data/many/") == [str(i) for i in range(7)]
    assert list(store.list("nothing/")) == [] and store.list_dirs("nothing/") == []


def test_keys_with_every_character_a_record_key_may_hold(store):
    key = f"data/{KEY_CHARS[:-4]}/2015/03/20~-~web%2F01~{'0' * 32}/1.0~job%7E1%25.log.gz"
    assert store.put_bytes(key, b"odd", if_absent=True)
    assert store.head(key).size == 3
    assert [e.key for e in store.list("data/")] == [key]
    assert got(store, key) == b"odd"
    with store.open(key) as stream:
        assert stream.read() == b"odd"
    store.delete(key)
    assert store.head(key) is None


# -- head, delete, get ----------------------------------------------------------------------

def test_head_delete_and_a_missing_key(store):
    assert store.head("data/none") is None
    store.put_bytes("data/some", b"12345")
    entry = store.head("data/some")
    assert entry.key == "data/some" and entry.size == 5
    assert entry.modified is not None and abs(entry.modified - time.time() * 1000) < 600_000
    store.delete("data/some")
    assert store.head("data/some") is None
    store.delete("data/some")  # deleting what is not there is no error
    with pytest.raises(NotFound):
        store.open("data/some")
    with pytest.raises(NotFound):
        got(store, "data/some")


def test_streaming_get_and_open(store):
    data = os.urandom(3 << 20)
    store.put_bytes("data/stream", data)
    seen = []
    sink = Sink()
    store.get_file("data/stream", sink, seen.append, size=len(data))
    assert sink.bytes() == data and sum(seen) == len(data)
    with store.open("data/stream") as stream:
        first = stream.read(1000)
        assert first == data[:1000]
        assert first + stream.read() == data
    assert store.exists()


# -- large files ----------------------------------------------------------------------------

def test_a_large_file_goes_in_parts_and_comes_back_whole(store, tmp_path):
    path = tmp_path / "large.bin"
    path.write_bytes(os.urandom(LARGE))
    seen = []
    assert store.put_file("data/large", path, {}, seen.append, size=LARGE, if_absent=True)
    assert sum(seen) >= LARGE
    assert not store.put_file("data/large", path, {}, size=LARGE, if_absent=True)
    assert store.head("data/large").size == LARGE
    assert got(store, "data/large", size=LARGE) == path.read_bytes()
    assert [lo for lo in store.leftovers() if lo.kind == "upload"] == []


class Breaks(io.RawIOBase):
    """A stream that fails after ``at`` bytes: a push interrupted mid-upload."""

    def __init__(self, at):
        self.left = at

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.left <= 0:
            raise KeyboardInterrupt("interrupted")
        n = min(len(buffer), self.left)
        buffer[:n] = b"z" * n
        self.left -= n
        return n


def test_an_interrupted_upload_leaves_nothing_visible(store):
    with pytest.raises(KeyboardInterrupt):
        store.put_file("data/cut", io.BufferedReader(Breaks(LARGE // 2)), {}, size=LARGE,
                       if_absent=True)
    assert store.head("data/cut") is None
    assert [e.key for e in store.list("data/")] == []
    assert store.put_bytes("data/cut", b"later", if_absent=True)  # the key is still free


def _leave_a_leftover(store):
    """What a push killed mid-upload leaves on this backend, made with its own API."""
    if isinstance(store, LocalStore):
        (store.root / ".tmp").mkdir(parents=True, exist_ok=True)
        path = store.root / ".tmp" / "killed"
        path.write_bytes(b"part")
        os.utime(path, (time.time() - 60, time.time() - 60))
    elif isinstance(store, S3Store):
        upload = store.client.create_multipart_upload(Bucket=store.bucket,
                                                      Key=store.prefix + "data/killed")
        store.client.upload_part(Bucket=store.bucket, Key=store.prefix + "data/killed",
                                 UploadId=upload["UploadId"], PartNumber=1, Body=b"part")
    elif isinstance(store, BlobStore):
        store.put_bytes(f"{UPLOADS}killed", b"part")
    elif isinstance(store, GCSStore):
        pytest.skip("GCS lists no unfinished resumable uploads (they expire): no leftovers")
    else:
        pytest.skip(f"{type(store).__name__} writes atomically in memory: no leftovers")


def test_leftovers_are_reported_and_removed(store):
    _leave_a_leftover(store)
    found = list(store.leftovers())
    assert len(found) == 1 and isinstance(found[0], Leftover) and found[0].size == 4
    assert not store.remove_leftover(found[0], older_than_ms=found[0].modified_ms)  # not older
    assert store.remove_leftover(found[0], older_than_ms=int(time.time() * 1000) + 60_000)
    assert list(store.leftovers()) == []


def test_memory_stores_of_one_name_share_their_objects():
    name = f"shared-{uuid.uuid4().hex[:8]}"
    try:
        MemoryStore(f"memory://{name}/a").put_bytes("k", b"v")
        assert MemoryStore(f"memory://{name}/a").head("k").size == 1
        assert MemoryStore(f"memory://{name}/b").head("k") is None
        assert MemoryStore(f"memory://{name}").head("a/k").size == 1
    finally:
        memory.discard(name)
    assert MemoryStore(f"memory://{name}/a").head("k") is None


# -- the lake's commands --------------------------------------------------------------------

def test_every_command_works_on_every_backend(store_url, tmp_path):
    lake = Lake(store_url, cache_dir=tmp_path / "cache", progress=False)
    recs = [lake.push(write(tmp_path / f"{where}-{hour}.log",
                            f"2015-03-20T{hour}:00:01Z {where} GET /a 200\n"
                            f"2015-03-20T{hour}:00:02Z {where} GET /b 500\n"),
                      what="app", where=where, start=f"2015-03-20T{hour}:00Z",
                      end=f"2015-03-20T{hour}:59:59Z", data_version="1", work_id=f"job-{where}")
            for where in ("web01", "web02", "web03") for hour in (10, 11)]
    assert sorted(lake.list(what="app")["id"]) == sorted(r.id for r in recs)
    assert sorted(lake.list(what="app", where="web02")["id"]) == sorted(
        r.id for r in recs if r.where == "web02")  # the where index
    assert [r.id for r in lake.records(work_id="job-web03")] == [
        r.id for r in recs if r.where == "web03"]
    assert lake.latest("app", where="web01").id == recs[1].id
    fetched = lake.fetch(what="app", where="web03", dest=tmp_path / "out")
    assert sorted(p.read_text() for p in fetched) == sorted(
        (tmp_path / f"web03-{h}.log").read_text() for h in (10, 11))
    with lake.open(recs[0].id) as stream:  # cat
        assert stream.read() == (tmp_path / "web01-10.log").read_bytes()
    hits = lake.grep(" 500", what="app", where="web02")
    assert len(hits) == 2 and set(hits["where"]) == {"web02"}
    rows = lake.read(what="app", format="lines")
    assert len(rows) == 12
    report = lake.check(deep=True)
    assert report.findings == [], report.findings
    # A second Lake on the same URL (a new process would do the same) sees it all.
    again = Lake(store_url, cache_dir=tmp_path / "cache2", progress=False)
    assert sorted(again.list()["id"]) == sorted(r.id for r in recs)


def test_the_cli_works_on_every_backend_but_memory(store_url, tmp_path):
    if store_url.startswith("memory://"):
        proc = subprocess.run([sys.executable, "-m", "datalake_nb", "list", "--storage-url",
                               store_url], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and "0 file(s)" in proc.stdout  # another process: empty
        return
    lake = Lake(store_url, cache_dir=tmp_path / "cache", progress=False)
    rec = lake.push(write(tmp_path / "a.log", "hello\n"), what="app", where="h1",
                    start="2015-03-20T10:00Z", data_version="1")
    env = dict(os.environ, DATALAKE_STORAGE_URL=store_url, DATALAKE_PROGRESS="off",
               DATALAKE_CACHE_DIR=str(tmp_path / "cli-cache"))
    for args, expect in ((["list", "--what", "app"], rec.id), (["cat", rec.id], "hello"),
                         (["check"], "0 problem(s)")):
        proc = subprocess.run([sys.executable, "-m", "datalake_nb", *args], capture_output=True,
                              text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert expect in proc.stdout + proc.stderr
