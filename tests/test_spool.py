"""The spool and the uploader: enqueue checks in the user's face and places files durably
(a hard link, or an fsynced copy on another file system), a size limit, an entry whose
source changed, two uploaders on one spool, retries, SIGTERM and SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from datalake_nb import Lake
from datalake_nb.cli import main
from datalake_nb.engine.spool import FAILED, QUEUE, Spool
from datalake_nb.engine.upload import Log, Outcome, Uploader, backoff, stayed

from support import figures
from support.faults import FaultyStore
from support.helpers import wait_for

TESTS = Path(__file__).parent
LINE = '10.0.0.{n} - - [01/Nov/2026:09:{m:02d}:00 +0000] "GET /{n} HTTP/1.1" 200 5 "-" "t"\n'


def nginx_log(path: Path, lines: range) -> Path:
    path.write_text("".join(LINE.format(n=n, m=n % 60) for n in lines))
    return path


@pytest.fixture
def env(lake_url, tmp_path, monkeypatch):
    """The CLI's environment: the lake at lake_url, a spool in tmp_path."""
    monkeypatch.setenv("DATALAKE_STORAGE_URL", lake_url)
    monkeypatch.setenv("DATALAKE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DATALAKE_SPOOL_DIR", str(tmp_path / "spool"))
    return Lake(lake_url, cache_dir=tmp_path / "cache", progress=False)


def queued(tmp_path: Path, which: str = QUEUE) -> list[str]:
    folder = tmp_path / "spool" / which
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_enqueue_then_upload_once_pushes_with_content_times(env, tmp_path, capsys):
    path = nginx_log(tmp_path / "access.log.2", range(1, 40))
    assert main(["enqueue", str(path), "--what", "nginx", "--where", "web01",
                 "--data-version", "1", "--format", "nginx"]) == 0
    (entry,) = queued(tmp_path)
    record = json.loads((tmp_path / "spool" / QUEUE / entry / "record.json").read_text())
    assert record["linked"] is True and record["source"] == str(path)
    capsys.readouterr()
    assert main(["upload", "--once", "--log-format", "json"]) == 0
    (line,) = capsys.readouterr().err.splitlines()
    logged = json.loads(line)
    assert logged["event"] == "pushed" and logged["record"] == entry
    (rec,) = env.records()
    assert rec.id == entry and (rec.start, rec.end) == (1793523660000, 1793525940000)  # 09:01 to 09:39
    assert queued(tmp_path) == [] and path.exists()  # the source is the user's
    assert env.formats()["format"].tolist() == ["nginx"]  # recorded once pushed
    assert env.check().ok


def test_a_mistake_queues_nothing(env, tmp_path, capsys):
    path = tmp_path / "plain.log"
    path.write_text("no times here\n")
    assert main(["enqueue", str(path), "--what", "app", "--where", "h1",
                 "--data-version", "1"]) == 2  # no --start, no format known
    assert main(["enqueue", str(path), "--what", "app", "--where", "h1",
                 "--data-version", "1", "--format", "nginx"]) == 2  # no line has a time
    assert main(["enqueue", str(path), "--what", "a/b", "--where", "h1",
                 "--start", "2020-01-01", "--data-version", "1"]) == 2
    err = capsys.readouterr().err
    assert "start" in err and "what" in err and "Traceback" not in err
    assert queued(tmp_path) == []


def test_a_full_spool_refuses_and_the_file_stays(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATALAKE_SPOOL_MAX_BYTES", "2KiB")
    first = nginx_log(tmp_path / "a.log", range(1, 12))   # ~800 bytes
    second = nginx_log(tmp_path / "b.log", range(20, 45))  # ~1.8 KiB: past the limit
    args = ["--what", "nginx", "--where", "web01", "--data-version", "1", "--format", "nginx"]
    assert main(["enqueue", str(first), *args]) == 0
    assert main(["enqueue", str(second), *args]) == 1
    assert "DATALAKE_SPOOL_MAX_BYTES" in capsys.readouterr().err
    assert len(queued(tmp_path)) == 1 and second.exists()
    assert os.listdir(tmp_path / "spool" / "tmp") == []  # nothing half-made left


def test_a_spool_on_another_file_system_copies(env, tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system here")
    spool_dir = Path(os.environ.get("TMPDIR_SHM", shm)) / f"spool-{os.getpid()}-{tmp_path.name}"
    try:
        spool = Spool(spool_dir, 1 << 30)
        path = nginx_log(tmp_path / "x.log", range(1, 5))
        entry = spool.enqueue(path, {"what": "nginx", "where": "h", "start": 0, "end": 1,
                                     "data_version": "1", "work_id": None})
        assert entry.record["linked"] is False
        assert entry.data.read_bytes() == path.read_bytes()
        assert os.stat(entry.data).st_ino != os.stat(path).st_ino
        outcomes = Uploader(spool, env.store, 2, lambda o: None).run_once()
        assert [o.event for o in outcomes] == ["pushed"]
        assert [r.id for r in env.records()] == [entry.id]
    finally:
        import shutil
        shutil.rmtree(spool_dir, ignore_errors=True)


def test_an_entry_whose_source_changed_fails_once_with_its_reason(env, tmp_path, capsys):
    path = nginx_log(tmp_path / "a.log", range(1, 5))
    assert main(["enqueue", str(path), "--what", "nginx", "--where", "w", "--data-version",
                 "1", "--start", "2026-11-01T09:00Z", "--end", "2026-11-01T10:00Z"]) == 0
    with open(path, "a") as out:  # the hard link is the same file: the spool sees this
        out.write("one more line\n")
    capsys.readouterr()
    assert main(["upload", "--once"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("failed ") and "as when it was enqueued" in err
    (entry,) = queued(tmp_path, FAILED)
    reason = json.loads((tmp_path / "spool" / FAILED / entry / "reason.json").read_text())
    assert "as when it was enqueued" in reason["reason"]
    assert env.records() == [] and queued(tmp_path) == []
    assert main(["upload", "--once"]) == 0  # not tried again
    assert capsys.readouterr().err == ""
    assert main(["spool", "--output", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["failed"] == 1 and status["queued"] == 0


def test_two_uploaders_on_one_spool_push_each_file_once(env, tmp_path):
    lake = env
    spool = lake.spool()
    for n in range(24):
        lake.enqueue(nginx_log(tmp_path / f"f{n}.log", range(n, n + 3)), what="nginx",
                     where=f"h{n % 3}", data_version="1", format="nginx")
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def record(o: Outcome) -> None:
        with lock:
            outcomes.append(o)

    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        Uploader(spool, lake.store, 4, record).run_once()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    pushed = [o.entry for o in outcomes if o.event == "pushed"]
    figures.add("concurrent writers", 2)
    assert sorted(pushed) == sorted(set(pushed)) and len(pushed) == 24
    assert {o.event for o in outcomes} <= {"pushed", "busy"}
    assert len(lake.records()) == 24 and spool.status().queued == 0
    assert lake.check().ok


def test_a_failed_push_is_kept_and_tried_again_with_backoff(env, tmp_path):
    lake = env
    lake.enqueue([nginx_log(tmp_path / "a.log", range(1, 4))], what="nginx", where="w",
                 data_version="1", format="nginx")
    faulty = FaultyStore(lake.store).inject("put", 1).inject("head", 1)
    seen: list[Outcome] = []
    uploader = Uploader(lake.spool(), faulty, 2, seen.append, base=0.01, cap=0.05)
    first = uploader.run_once()
    assert [o.event for o in first] == ["retry"] and stayed(first) == 1
    assert first[0].attempt == 1 and 0.005 <= first[0].retry_in <= 0.01
    assert lake.spool().status().queued == 1 and lake.records() == []
    second = uploader.run_once()
    assert [o.event for o in second] == ["pushed"] and second[0].attempt == 2
    assert len(lake.records()) == 1 and lake.spool().status().queued == 0


def test_backoff_grows_is_capped_and_jittered():
    assert [backoff(a, 1, 300, lambda: 0.0) for a in (1, 2, 3, 4)] == [0.5, 1, 2, 4]
    assert backoff(20, 1, 300, lambda: 1.0) == 300
    assert backoff(40, 1, 300, lambda: 0.0) == 150


def test_log_lines_are_one_per_file(tmp_path):
    import io
    out = io.StringIO()
    log = Log(out, json_lines=True)
    log(Outcome("pushed", "e1", "/var/log/a.1", "r1", 10, 0.5))
    log(Outcome("busy", "e2", "/var/log/b.1"))  # another uploader's: not this one's line
    log(Outcome("retry", "e3", "/var/log/c.1", attempt=2, retry_in=1.5, error="boom"))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["pushed", "retry"]
    assert lines[1]["error"] == "boom" and lines[0]["time"].endswith("Z")


def start_uploader(tmp_path: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "datalake_nb", "upload", "--rescan", "0.1",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(TESTS.parent)})


def test_sigterm_ends_the_uploader_with_exit_0(env, tmp_path):
    proc = start_uploader(tmp_path)
    try:
        env.enqueue([nginx_log(tmp_path / "a.log", range(1, 4))], what="nginx", where="w",
                    data_version="1", format="nginx")
        wait_for(lambda: env.spool().status().queued == 0 or proc.poll() is not None)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert err.startswith("pushed ") and len(err.splitlines()) == 1
    assert len(env.records()) == 1


# An uploader whose store stops dead before the put of the chosen key family (after
# writing the marker file), to be SIGKILLed there.
STOPPED_UPLOADER = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from datalake_nb import Lake
    from datalake_nb.engine.upload import Uploader
    from support.faults import StopBefore
    lake = Lake()
    store = StopBefore(lake.store, sys.argv[2], Path(sys.argv[3]))
    Uploader(lake.spool(), store, 2, print).run_once()
""")


@pytest.mark.parametrize("family", ["data", "where", "catalog"])
def test_an_uploader_killed_mid_push_loses_and_duplicates_nothing(env, tmp_path, family):
    env.enqueue([nginx_log(tmp_path / "a.log", range(1, 4))], what="nginx", where="w",
                data_version="1", format="nginx")
    marker = tmp_path / "stopped"
    proc = subprocess.Popen([sys.executable, "-c", STOPPED_UPLOADER, str(TESTS), family,
                             str(marker)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_for(lambda: marker.exists() or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    figures.add("kills survived")
    assert env.spool().status().queued == 1  # not confirmed: still queued
    assert main(["upload", "--once"]) == 0
    assert len(env.records()) == 1 and len(env.records(where="w")) == 1
    assert env.spool().status().queued == 0
    assert env.check().ok
    figures.add("files lost", 0)
