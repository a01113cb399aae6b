"""Ctrl-C and SIGTERM stop a push or a fetch of a real `datalake` process within a few
seconds, abort the transfers in flight and leave nothing half-visible; KeyboardInterrupt
does the same in the API (a notebook's Interrupt)."""
from __future__ import annotations

import _thread
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from datalake_nb import Lake
from datalake_nb import Interrupted

from support import figures
from support.helpers import big_files, fields, options, threads_end, until, write

MIB = 1 << 20
FIELDS = options(fields(what="big", start="2015-03-20"))


def run_until_busy(argv, busy, env):
    """Start `datalake ARGV`, wait until busy() says its transfer is under way."""
    proc = subprocess.Popen([sys.executable, "-m", "datalake_nb", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert until(lambda: busy() or proc.poll() is not None), "the transfer never started"
    assert proc.poll() is None, proc.communicate(timeout=120)
    return proc


def stop(proc, signum):
    sent = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    return time.monotonic() - sent, out, err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_a_push_and_aborts_its_upload(bucket, aws_env, tmp_path, signum):
    url = f"s3://{bucket}/logs"
    lake = Lake(url, cache_dir=tmp_path / "cache", progress=False)
    client, prefix = lake.store.client, "logs/"
    paths = big_files(tmp_path / "in", 6, 48 * MIB)
    uploads = lambda: client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])  # noqa: E731
    env = {**os.environ, "DATALAKE_STORAGE_URL": url, "DATALAKE_CONCURRENCY": "2"}
    proc = run_until_busy(["push", *FIELDS, *map(str, paths)], lambda: bool(uploads()), env)
    took, out, err = stop(proc, signum)
    figures.add("kills survived")
    assert proc.returncode == 130
    assert took < 10, f"took {took:.1f} s to stop"
    assert err.count("\n") == 1 and "interrupted" in err and "of 6 file(s) archived" in err
    assert until(lambda: not uploads(), 10), "a multipart upload was left behind"
    listed = lake.list()
    finished = int(err.split("interrupted: ")[1].split(" ")[0]) if "interrupted: " in err else 0
    assert len(listed) == finished < 6
    assert lake.check().ok  # nothing half-visible
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    assert sum(k.startswith(prefix + "data/") for k in keys) == finished


def test_a_signal_stops_a_fetch_and_leaves_no_partial_file(bucket, aws_env, tmp_path):
    url = f"s3://{bucket}/logs"
    lake = Lake(url, cache_dir=tmp_path / "seed-cache", progress=False)
    records = lake.push_many(big_files(tmp_path / "in", 4, 48 * MIB), what="big", where="web01",
                        start="2015-03-20", data_version="0")
    cache, dest = tmp_path / "cache", tmp_path / "out"
    env = {**os.environ, "DATALAKE_STORAGE_URL": url, "DATALAKE_CACHE_DIR": str(cache),
           "DATALAKE_CONCURRENCY": "2"}
    busy = lambda: cache.exists() and any(p.is_file() for p in cache.rglob("*"))  # noqa: E731
    proc = run_until_busy(["fetch", "--what", "big", "--dest", str(dest)], busy, env)
    took, out, err = stop(proc, signal.SIGINT)
    figures.add("kills survived")
    assert proc.returncode == 130 and took < 10, (took, err)
    # "of at least 4" when a listing of another span class is still waiting for moto
    # (busy serving the downloads) after the grace time
    assert re.search(r"interrupted: \d+ of (at least )?4 file\(s\) fetched", err), err
    assert err.count("\n") == 1  # the process has ended: nothing of it writes any more
    names = [p.name for p in cache.rglob("*") if p.is_file()]
    assert not [n for n in names if n not in {r.hash for r in records}], names  # no .part
    # each file is placed once verified: those the message counts are there, whole, and
    # nothing else (no temporary file either)
    finished = int(err.split("interrupted: ")[1].split(" ")[0])
    placed = [p for p in dest.rglob("*") if p.is_file()] if dest.exists() else []
    assert len(placed) == finished < 4, (placed, err)
    assert sorted(out.split()) == sorted(map(str, placed))  # printed before the exit (130)
    assert all(p.stat().st_size == 48 * MIB and not p.name.startswith(".") for p in placed)
    # a second fetch completes and verifies everything
    paths = Lake(url, cache_dir=cache, progress=False).fetch(records, dest=dest)
    assert [p.stat().st_size for p in paths] == [r.size for r in records]


def test_keyboard_interrupt_stops_a_push_in_the_api(tmp_path):
    """The kernel's Interrupt is a KeyboardInterrupt in the main thread: the push stops
    at once, says what was finished, and the lake holds only whole records."""
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    paths = big_files(tmp_path / "in", 40, 2 * MIB)
    started = threading.Event()
    real_put = lake.store.put_bytes

    def slow_put(key, data, metadata=None, **options):
        started.set()
        time.sleep(0.2)
        return real_put(key, data, metadata, **options)

    lake.store.put_bytes = slow_put
    before = threading.enumerate()
    threading.Timer(0, lambda: started.wait(30) and _thread.interrupt_main()).start()
    begun = time.monotonic()
    with pytest.raises(Interrupted, match=r"interrupted: \d+ of 40 file\(s\) archived"):
        lake.push_many(paths, what="big", where="web01", start="2015-03-20", data_version="0")
    assert time.monotonic() - begun < 10
    assert threads_end(before)  # the puts in flight end; their records are whole
    assert len(lake.list()) < 40
    assert lake.check().ok


def in_the_wait_for_work_in_flight() -> bool:
    """Whether the main thread waits for the work in flight, as an interrupted push does
    (before the interrupt it waits for its work to end)."""
    frame = sys._current_frames().get(threading.main_thread().ident)
    while frame is not None:
        if frame.f_code.co_name == "_wait_for_work_in_flight":
            return True
        frame = frame.f_back
    return False


@pytest.mark.parametrize("earlier", [False, True], ids=["new", "pushed-before"])
def test_a_small_upload_that_completes_after_the_interrupt_is_archived_whole(lake, tmp_path,
                                                                             earlier):
    """Ctrl-C while a small file's PUT is on its way; the PUT then completes.  A push never
    deletes a data object (an identical push may have reported it): the file counts as
    archived, and its index entries are written, so every query finds it."""
    path = write(tmp_path / "a.log", "payload\n")
    metadata = fields(work_id="job-1")
    first = lake.push(path, **metadata) if earlier else None
    real_put = lake.store.put_bytes

    def put_then_interrupt(key, data, metadata=None, **options):
        created = real_put(key, data, metadata, **options)
        if key.startswith("data/"):
            _thread.interrupt_main()  # Ctrl-C: the answer to the PUT is on its way
            assert until(in_the_wait_for_work_in_flight), "the push did not see the interrupt"
        return created

    lake.store.put_bytes = put_then_interrupt
    with pytest.raises(Interrupted, match=r"interrupted: 1 of 1 file\(s\) archived"):
        lake.push(path, **metadata)
    lake.store.put_bytes = real_put
    ids = [r.id for r in lake.records()]
    assert len(ids) == 1 and (first is None or ids == [first.id])
    for query in ({"where": "web01"}, {"work_id": "job-1"}):
        assert [r.id for r in lake.records(**query)] == ids
    assert lake.check().ok
