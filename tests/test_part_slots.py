"""Parts of large files in flight are bounded per store, across every file in flight
(DATALAKE_PART_CONCURRENCY), not per file: many files in flight cannot multiply the memory
a push holds (one 16 MiB part per part in flight).  Checked on moto over HTTP by recording
the store's real part requests as they start and end, and by counting the file bytes a
push holds in memory (parts, and small files read whole) while its uploads are slow."""
from __future__ import annotations

import io
import mmap
import os
import sys
import threading
import time
import types

import botocore.exceptions
import pytest

from datalake_nb import Lake
from datalake_nb.core.errors import DatalakeError
from datalake_nb.stores.s3 import PART, S3Store

from support.helpers import big_files, fields

MIB = 1 << 20
FILES = 4
SIZE = 16 * MIB + 4096  # two parts each: 16 MiB and 4 KiB
CAP = 2
FIELDS = fields(what="big")


class InFlight:
    """Wraps one method of a store's boto3 client: counts the calls running at once and
    can fail one of them.  The first calls are held until ``overlap`` of them run at once
    (then none is held any more), for at most ``hold`` seconds from the first call: so calls
    that may overlap do, and a cap that holds shows as the bound it is.  Each call takes
    ``delay`` seconds more (a slow network)."""

    def __init__(self, client, method: str, fail_call: int | None = None, overlap: int = 0,
                 hold: float = 60.0, delay: float = 0.0):
        self.changed = threading.Condition()
        self.now = self.most = self.calls = 0
        self.fail_call = fail_call
        self.deadline: float | None = None
        real = getattr(client, method)

        def call(**kwargs):
            with self.changed:
                self.now += 1
                self.calls += 1
                self.most = max(self.most, self.now)
                fail = self.calls == self.fail_call
                self.deadline = self.deadline or time.monotonic() + hold
                self.changed.notify_all()
                while self.most < overlap and time.monotonic() < self.deadline:
                    self.changed.wait(self.deadline - time.monotonic())
            try:
                time.sleep(delay)  # a slow upload (not a wait for some state)
                if fail:
                    raise DatalakeError("injected: part request failed")
                return real(**kwargs)
            finally:
                with self.changed:
                    self.now -= 1
        setattr(client, method, call)


def lake_with(url, endpoint, cache, *, files=FILES, parts=CAP, **store_args) -> Lake:
    store = S3Store(url, endpoint_url=endpoint, concurrency=files, part_concurrency=parts,
                    **store_args)
    lake = Lake(store=store, cache_dir=cache, progress=False)
    lake.concurrency = files
    return lake


def slots_back(store: S3Store, cap: int) -> bool:
    """Have all part slots come back (within 30 s: parts in flight end first)?"""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if store.part_slots.free == cap * PART:  # what a leaked slot would lower
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_parts_in_flight_across_files_stay_within_the_cap(bucket, aws_env, tmp_path):
    url = f"s3://{bucket}/logs"
    lake = lake_with(url, aws_env, tmp_path / "cache")
    # one more than the cap never runs at once: the first parts wait 2 s for it, in vain
    uploads = InFlight(lake.store.client, "upload_part", overlap=CAP + 1, hold=2)
    paths = big_files(tmp_path / "src", FILES, SIZE)
    records = lake.push_many(paths, **FIELDS)
    assert uploads.calls == 2 * FILES
    assert uploads.most == CAP  # four files in flight, at most CAP parts among them
    assert slots_back(lake.store, CAP)

    # fetch: ranged GETs of 1 MiB, several files at once, the same cap
    fetcher = lake_with(url, aws_env, tmp_path / "cache2", download_part=MIB)
    gets = InFlight(fetcher.store.client, "get_object", overlap=CAP + 1, hold=2)
    placed = fetcher.fetch(records, dest=tmp_path / "out")
    assert [p.read_bytes() for p in placed] == [p.read_bytes() for p in paths]
    assert gets.calls == FILES * -(-SIZE // MIB)
    assert gets.most == CAP
    assert slots_back(fetcher.store, CAP)


def test_without_a_low_cap_parts_of_several_files_overlap(bucket, aws_env, tmp_path):
    """The check above can fail: with more slots, parts of different files run at once."""
    lake = lake_with(f"s3://{bucket}/logs", aws_env, tmp_path / "cache", parts=8)
    uploads = InFlight(lake.store.client, "upload_part", overlap=CAP + 1)  # comes at once
    lake.push_many(big_files(tmp_path / "src", FILES, SIZE), **FIELDS)
    assert uploads.most > CAP


def test_a_failed_part_gives_every_slot_back(bucket, aws_env, tmp_path):
    lake = lake_with(f"s3://{bucket}/logs", aws_env, tmp_path / "cache")
    InFlight(lake.store.client, "upload_part", fail_call=3)
    with pytest.raises(DatalakeError, match="injected"):
        lake.push_many(big_files(tmp_path / "src", FILES, SIZE), **FIELDS)
    assert slots_back(lake.store, CAP)
    assert len(lake.list(what="big")) < FILES  # the files in flight may end; the failed one is not there
    assert list(lake.store.leftovers()) == []  # its upload was aborted
    uploads = InFlight(lake.store.client, "upload_part")  # the store still moves large files
    assert len(lake.push_many(big_files(tmp_path / "src2", 1, SIZE), **FIELDS)) == 1
    assert uploads.most >= 1


class LiveBodies:
    """The file bytes a push holds in memory, counted from when they are made until they
    are freed: what is read from a file the lake opens (a small file read whole, before
    the fix) and the S3 store's mmaps (a part of a large file, a small file from 1 MiB up;
    freed by ``close()``).  The most seen at once is what a bound must hold."""

    def __init__(self, monkeypatch):
        self.lock = threading.Lock()
        self.count = self.bytes = self.most_count = self.most_bytes = 0
        live = self

        class Body(bytes):  # plain bytes cannot say when they are freed (nor be weakly referenced)
            def __del__(self):
                live.freed(len(self))

        class Part(mmap.mmap):
            def __init__(self, fileno, size):
                live.made(size)
                self.size = size

            def close(self):
                if not self.closed:
                    live.freed(self.size)
                super().close()

            def __exit__(self, *exc):  # mmap's own closes without calling close()
                self.close()

            def __del__(self):
                self.close()

        self.body = Body
        monkeypatch.setattr(sys.modules["datalake_nb.stores.s3"], "mmap",
                            types.SimpleNamespace(mmap=Part), raising=False)

        class TrackedFile(io.FileIO):
            def read(self, size=-1):
                return live.track(super().read(size))

            def readall(self):
                return live.track(super().readall())

        def tracked_open(path, mode="r", buffering=-1, *args, **kwargs):
            if mode == "rb" and buffering == 0:
                return TrackedFile(path, "rb")
            return open(path, mode, buffering, *args, **kwargs)
        monkeypatch.setattr(sys.modules["datalake_nb.engine.push"], "open", tracked_open, raising=False)

    def track(self, data: bytes) -> bytes:
        if not data:
            return data
        self.made(len(data))
        return self.body(data)

    def made(self, size: int) -> None:
        with self.lock:
            self.count += 1
            self.bytes += size
            self.most_count = max(self.most_count, self.count)
            self.most_bytes = max(self.most_bytes, self.bytes)

    def freed(self, size: int) -> None:
        with self.lock:
            self.count -= 1
            self.bytes -= size


def test_parts_in_memory_stay_within_the_slots_while_uploads_are_slow(bucket, aws_env, tmp_path,
                                                                       monkeypatch):
    """Issue 16: with 2 slots and slow part uploads, 6-8 parts were alive at once (each
    file's loop kept the part it had just sent while it waited for the next slot)."""
    lake = lake_with(f"s3://{bucket}/logs", aws_env, tmp_path / "cache")
    uploads = InFlight(lake.store.client, "upload_part", overlap=CAP, hold=5, delay=0.3)
    live = LiveBodies(monkeypatch)
    paths = big_files(tmp_path / "src", FILES, 2 * PART + 4096)  # three parts each
    records = lake.push_many(paths, **FIELDS)
    assert len(records) == FILES and uploads.calls == 3 * FILES
    assert uploads.most == CAP  # the parts overlapped: the slots were all in use
    assert live.most_count == CAP and live.most_bytes == CAP * PART
    assert slots_back(lake.store, CAP)


def test_small_files_read_whole_take_their_bytes_from_the_slots(bucket, aws_env, tmp_path,
                                                                 monkeypatch):
    """A file under 16 MiB is read whole and sent in one PUT: with 8 files in flight and
    slow PUTs, all 8 were in memory at once (80 MiB), beyond the 2 slots' 32 MiB.  They
    take their size from the slots now."""
    lake = lake_with(f"s3://{bucket}/logs", aws_env, tmp_path / "cache", files=8)
    put_bytes = lake.store.put_bytes

    def slow_put(key, data, metadata=None, **options):
        if data:  # a data object (index entries are empty)
            time.sleep(0.3)
        return put_bytes(key, data, metadata, **options)
    monkeypatch.setattr(lake.store, "put_bytes", slow_put)
    live = LiveBodies(monkeypatch)
    paths = big_files(tmp_path / "src", count=8, size=10 * MIB)
    assert len(lake.push_many(paths, **FIELDS)) == 8
    assert live.most_bytes <= CAP * PART
    assert live.most_count == 3  # as many 10 MiB files as 32 MiB hold: they did overlap
    assert slots_back(lake.store, CAP)


@pytest.mark.parametrize("size, there", [(3 * MIB, 3 * MIB), (3 * MIB, 3 * MIB + 10),
                                         (3 * MIB, 2 * MIB), (0, 10), (100, 100)],
                         ids=["as-measured", "grown", "shrunk", "proc-file", "tiny"])
def test_a_small_file_read_whole_is_all_its_bytes_and_takes_its_size_meanwhile(size, there):
    """What is read is everything the file has by then, whatever its measured size said
    (a log may grow; a /proc file says 0); its measured size is held from the slots."""
    store = S3Store("s3://bucket/x", endpoint_url="http://127.0.0.1:9", part_concurrency=CAP)
    data = os.urandom(there)
    with store.read_whole(io.BytesIO(data), size) as body:
        assert bytes(body) == data
        assert store.part_slots.free == CAP * PART - size
    assert store.part_slots.free == CAP * PART


def test_a_part_of_an_aborted_upload_is_not_tried_again(bucket, aws_env):
    """A part still in flight when its upload is aborted (another part failed) gives its
    slot back at its first answer: moto answers 500, which boto3 retried 8 times with
    backoff (up to a minute), and the slot stayed taken all along."""
    store = S3Store(f"s3://{bucket}/logs", endpoint_url=aws_env)
    full = store.prefix + "big.log"
    upload = store.client.create_multipart_upload(Bucket=bucket, Key=full)["UploadId"]
    store._abort(full, upload)  # noqa: SLF001 - what a failed upload does
    sent = []
    store.client.meta.events.register("before-send.s3.UploadPart", lambda **kw: sent.append(1))
    with pytest.raises(botocore.exceptions.ClientError):
        store.client.upload_part(Bucket=bucket, Key=full, UploadId=upload, PartNumber=1,
                                 Body=b"x")
    assert len(sent) == 1
