"""Parts of large files in flight are bounded per store, across every file in flight
(DATALAKE_PART_CONCURRENCY), not per file: many files in flight cannot multiply the memory
a push holds (one 16 MiB part per part in flight).  Checked on moto over HTTP by recording
the store's real part requests as they start and end."""
from __future__ import annotations

import threading
import time

import pytest

from datalake_nb import Lake
from datalake_nb.core.errors import DatalakeError
from datalake_nb.stores.s3 import S3Store

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
    that may overlap do, and a cap that holds shows as the bound it is."""

    def __init__(self, client, method: str, fail_call: int | None = None, overlap: int = 0,
                 hold: float = 60.0):
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
        if store.part_slots._value == cap:  # noqa: SLF001 - the count a leak would lower
            return True
        time.sleep(0.05)
    return False


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
