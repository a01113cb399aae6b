"""A large fetch from S3 (moto over HTTP): parallel ranged GETs hashed in order as they
arrive.  Byte-identical and verified; a part spoilt on the wire, an object shorter than its
record or replaced during the download is an error that leaves nothing behind; a cancel
stops every part promptly and leaves no temporary file."""
from __future__ import annotations

import os
import threading
import time

import botocore.exceptions
import pytest

from datalake_nb import DatalakeError, IntegrityError, Lake
from datalake_nb.core import layout
from datalake_nb import Interrupted
from datalake_nb.engine.progress import Progress
from datalake_nb.stores.s3 import S3Store

from support.faults import FaultyStore
from support.helpers import fields, threads_end

MIB = 1 << 20
PART = 1 * MIB  # smaller than the default, so a 20 MiB object is 21 parts
SIZE = 20 * MIB + 123  # above the 16 MiB threshold of ranged GETs
FIELDS = fields(what="big")


def files_in(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def big(bucket, aws_env, tmp_path):
    """(a fresh Lake whose S3Store takes 1 MiB parts, 2 at a time; the pushed record;
    its bytes)."""
    data = os.urandom(SIZE)
    source = tmp_path / "big.log"
    source.write_bytes(data)
    url = f"s3://{bucket}/logs"
    rec = Lake(url, cache_dir=tmp_path / "seed-cache", progress=False).push(source, **FIELDS)
    store = S3Store(url, endpoint_url=aws_env, part_concurrency=2, download_part=PART)
    return Lake(store=store, cache_dir=tmp_path / "cache", progress=False), rec, data


def ranges_sent(store: S3Store) -> list[str]:
    """The Range header of every GET the store's client sends from now on."""
    sent: list[str] = []
    store.client.meta.events.register(
        "before-send.s3.GetObject",
        lambda request, **kw: sent.append(request.headers.get("Range", b"").decode()
                                          if isinstance(request.headers.get("Range"), bytes)
                                          else request.headers.get("Range", "")))
    return sent


def test_a_large_object_comes_in_ranged_parts_byte_identical_and_verified(big, tmp_path):
    lake, rec, data = big
    sent = ranges_sent(lake.store)
    [path] = lake.fetch([rec], dest=tmp_path / "out")
    assert path.read_bytes() == data
    parts = -(-SIZE // PART)
    assert sorted(sent, key=lambda r: int(r.split("=")[1].split("-")[0])) == [
        f"bytes={a}-{min(a + PART, SIZE) - 1}" for a in range(0, SIZE, PART)]
    assert len(sent) == parts  # no HEAD, no GET twice
    assert files_in(lake.cache.root) == [rec.hash]  # verified into the cache, no temp file


def test_a_part_corrupted_on_the_wire_is_an_integrity_error_leaving_nothing(big, tmp_path):
    lake, rec, data = big
    broken = FaultyStore(lake.store).inject("get", 1, "corrupt")  # flips a bit in part 11 of 21
    faulty = Lake(store=broken, cache_dir=lake.cache.root, progress=False)
    with pytest.raises(IntegrityError) as info:
        faulty.fetch([rec], dest=tmp_path / "out")
    assert broken.fired["corrupt"] == 1
    assert "nothing was written" in str(info.value) and rec.id in str(info.value)
    assert files_in(lake.cache.root) == [] and files_in(tmp_path / "out") == []
    [path] = faulty.fetch([rec], dest=tmp_path / "out")  # the next try is clean
    assert path.read_bytes() == data


@pytest.mark.parametrize("mode, error, words", [("short", IntegrityError, "nothing was written"),
                                                ("cut", DatalakeError, "connection reset")])
def test_a_large_download_cut_short_on_the_wire_leaves_nothing(big, tmp_path, mode, error, words):
    lake, rec, _ = big
    broken = FaultyStore(lake.store).inject("get", 1, mode)
    with pytest.raises(error, match=words):
        Lake(store=broken, cache_dir=lake.cache.root, progress=False).fetch(
            [rec], dest=tmp_path / "out")
    assert files_in(lake.cache.root) == [] and files_in(tmp_path / "out") == []


def test_an_object_shorter_than_its_record_is_an_integrity_error(big, tmp_path):
    lake, rec, data = big
    key = lake.store.prefix + layout.data_key(rec)
    lake.store.client.put_object(Bucket=lake.store.bucket, Key=key, Body=data[:SIZE - 5 * MIB])
    with pytest.raises(IntegrityError) as info:
        lake.fetch([rec], dest=tmp_path / "out")
    message = str(info.value)
    assert f"holds {SIZE - 5 * MIB} bytes" in message or "holds fewer than" in message
    assert f"its record says {SIZE}" in message and "nothing was written" in message
    assert "\n" not in message
    assert files_in(lake.cache.root) == [] and files_in(tmp_path / "out") == []


def test_an_object_replaced_during_the_download_is_an_error(big, tmp_path):
    lake, rec, data = big
    key = lake.store.prefix + layout.data_key(rec)
    first, replaced = threading.Lock(), threading.Event()

    class Replacing(FaultyStore):
        """Replaces the object with other bytes of the same size once its first bytes came;
        every part waits for the replacement, so the later GETs (2 are in flight) meet it
        however fast the server is."""

        def get_file(self, key_, sink, progress=None, size=None):
            inner = sink

            class Sink:
                def write_at(self, offset, chunk):
                    if first.acquire(blocking=False):
                        lake.store.client.put_object(Bucket=lake.store.bucket, Key=key,
                                                     Body=bytes(reversed(data)))
                        replaced.set()
                    assert replaced.wait(30)
                    inner.write_at(offset, chunk)
            self.inner.get_file(key_, Sink(), progress, size)

    with pytest.raises(DatalakeError) as info:
        Lake(store=Replacing(lake.store), cache_dir=lake.cache.root, progress=False).fetch(
            [rec], dest=tmp_path / "out")
    assert "changed while it was downloaded" in str(info.value)
    assert files_in(lake.cache.root) == [] and files_in(tmp_path / "out") == []


class CancelOnFirstBytes(Progress):
    """Sets ``cancel`` (as a widget's Cancel button does) once the first bytes arrived."""

    def __init__(self, cancel: threading.Event):
        self.cancel, self.seen, self.at = cancel, 0, None

    def advance(self, nbytes: int) -> None:
        self.seen += nbytes
        if nbytes and self.at is None:
            self.at = time.monotonic()
            self.cancel.set()


def test_cancelling_a_large_fetch_stops_every_part_and_leaves_no_temp_file(big, tmp_path):
    lake, rec, _ = big
    sent = ranges_sent(lake.store)
    cancel = threading.Event()
    progress = CancelOnFirstBytes(cancel)
    before = threading.enumerate()
    with pytest.raises(Interrupted):
        lake.fetch([rec], dest=tmp_path / "out", progress=progress, cancel=cancel)
    took = time.monotonic() - progress.at
    assert took < 15, f"took {took:.1f} s to stop"  # a bound on a hang, not a speed test
    assert len(sent) < -(-SIZE // PART)  # stopped before every part was asked for
    assert progress.seen < SIZE
    assert threads_end(before)  # parts still reading when it returned: they write no file
    assert files_in(lake.cache.root) == [] and files_in(tmp_path / "out") == []


class BreaksOff:
    """An answer's body that gives its first ``after`` bytes, then fails as a connection
    reset mid-body does (botocore's ResponseStreamingError): moto cannot be made to reset
    a connection half-way, so this one fault is simulated."""

    def __init__(self, body, after: int):
        self.body, self.after = body, after

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.body.close()

    def iter_chunks(self, size):
        yield self.body.read(self.after)
        raise botocore.exceptions.ResponseStreamingError(error="connection reset (injected)")


def test_a_part_whose_body_breaks_off_is_resumed_where_it_stopped(big, tmp_path):
    lake, rec, data = big
    sent = ranges_sent(lake.store)
    real = lake.store.client.get_object
    broken = []

    def get_object(**request):
        answer = real(**request)
        if not broken and request["Range"].startswith(f"bytes={5 * PART}-"):
            broken.append(request["Range"])
            answer["Body"] = BreaksOff(answer["Body"], after=PART // 2)
        return answer
    lake.store.client.get_object = get_object
    [path] = lake.fetch([rec], dest=tmp_path / "out")
    assert broken and path.read_bytes() == data
    assert f"bytes={5 * PART + PART // 2}-{6 * PART - 1}" in sent  # only the rest, asked again
    assert len(sent) == -(-SIZE // PART) + 1
