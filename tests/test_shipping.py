"""Shipping end to end: Debian's real logrotate rotates a log that a writer appends to,
30 times, with compress and delaycompress, its postrotate (the recipe of
``datalake recipe logrotate``, as printed) enqueuing each rotated file; ``datalake upload``
pushes to SeaweedFS, which is stopped for 20 s half-way; the uploader is SIGKILLed twice
and started again.  At the end every line the writer wrote is in exactly one archived
file, each file is one record with its content's times, the spool is empty and check is
clean.  Also: the docs show the recipes exactly as ``datalake recipe`` prints them."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import boto3
import pytest

from datalake_nb import Lake
from datalake_nb.recipes import recipe
from datalake_nb.rows import formats

from support import figures
from support.s3servers import REGION, Weed, weed_path
from support.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
ROTATIONS = 30
OUTAGE_S = 20.0

WRITER = textwrap.dedent("""
    # Appends numbered nginx lines (open, write, close: as a logger that reopens), until
    # the stop file appears; then prints how many it wrote.
    import datetime, os, sys, time
    log, stop = sys.argv[1], sys.argv[2]
    n = 0
    while not os.path.exists(stop):
        n += 1
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
        with open(log, "a") as out:
            out.write(f'10.0.0.1 - - [{now}] "GET /seq/{n} HTTP/1.1" 200 5 "-" "writer"\\n')
        time.sleep(0.005)
    print(n)
""")


def test_the_docs_show_the_recipes_as_printed():
    page = (ROOT / "docs" / "shipping.md").read_text()
    shown = [recipe("logrotate", path="/var/log/nginx/access.log", what="nginx", format="nginx",
                    reopen='[ -s /run/nginx.pid ] && kill -USR1 "$(cat /run/nginx.pid)"'),
             recipe("systemd", url="s3://my-bucket/logs", spool="/var/spool/datalake"),
             recipe("cron", url="s3://my-bucket/logs", spool="/var/spool/datalake")]
    for text in shown:
        assert text.rstrip() in page


def test_the_recipe_command_fills_in_what_it_is_given(capsys, monkeypatch):
    from datalake_nb.cli import main
    monkeypatch.setenv("DATALAKE_SPOOL_DIR", "/srv/spool")
    assert main(["recipe", "logrotate", "--path", "/var/log/x y.log", "--what", "x"]) == 0
    out = capsys.readouterr().out
    assert "'/var/log/x y.log' {" in out and "--what x " in out
    assert main(["recipe", "systemd"]) == 0
    assert "Environment=DATALAKE_SPOOL_DIR=/srv/spool" in capsys.readouterr().out
    assert main(["recipe", "nope"]) == 2


@pytest.mark.seaweedfs
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(shutil.which("logrotate") is None and not os.environ.get("CI"),
                    reason="Debian's logrotate is not installed (.ci/run installs it)")
def test_logrotate_to_seaweedfs_through_an_outage_and_two_kills(tmp_path, monkeypatch):
    assert weed_path() is not None and shutil.which("logrotate"), "needs weed and logrotate"
    weed = Weed(tmp_path / "weed")
    server = weed.start()
    try:
        figures_of_run = ship(tmp_path, weed, server, monkeypatch)
    finally:
        weed.stop()
    print("\nshipping: " + json.dumps(figures_of_run))
    (tmp_path / "figures.json").write_text(json.dumps(figures_of_run))
    assert figures_of_run["files lost"] == 0 and figures_of_run["duplicates"] == 0


def ship(tmp_path: Path, weed: Weed, server, monkeypatch) -> dict[str, object]:
    s3 = boto3.client("s3", endpoint_url=server.url, region_name=REGION,
                      aws_access_key_id=server.access_key,
                      aws_secret_access_key=server.secret_key)
    s3.create_bucket(Bucket="shipping")
    url = "s3://shipping/logs"
    logs = tmp_path / "var-log"
    logs.mkdir()
    log = logs / "app.log"
    env = {**os.environ, **server.env, "PYTHONPATH": str(ROOT), "DATALAKE_STORAGE_URL": url,
           "DATALAKE_SPOOL_DIR": str(tmp_path / "spool"),
           "DATALAKE_CACHE_DIR": str(tmp_path / "cache"),
           "DATALAKE_S3_CONNECT_TIMEOUT": "1s", "DATALAKE_S3_READ_TIMEOUT": "2s"}
    datalake = f"{sys.executable} -m datalake_nb"
    conf = tmp_path / "logrotate.conf"
    conf.write_text(recipe("logrotate", path=str(log), what="app", where="host1",
                           data_version="1", format="nginx", datalake=datalake,
                           reopen=": the writer reopens its log for each line")
                    .replace("rotate 14", f"rotate {ROTATIONS + 5}"))
    uploader_log = tmp_path / "uploader.log"

    def start_uploader() -> subprocess.Popen:
        with open(uploader_log, "a") as err:
            return subprocess.Popen([sys.executable, "-m", "datalake_nb", "upload", "--rescan",
                                     "0.2", "--log-format", "json"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=err)

    def pushed_lines() -> int:
        return uploader_log.read_text().count('"event": "pushed"')

    def queued() -> int:
        return len(os.listdir(tmp_path / "spool" / "queue")) if (
            tmp_path / "spool" / "queue").exists() else 0

    def rotate() -> None:
        done = subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "state"), str(conf)],
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr

    stop = tmp_path / "stop-writer"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(log), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    uploader = start_uploader()
    kills, outage_s, down_at = 0, 0.0, None
    try:
        wait_for(lambda: log.exists() and log.stat().st_size > 0)
        def end_outage() -> float:
            """Starts SeaweedFS again once it has been down OUTAGE_S; how long it was."""
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
            lasted = time.monotonic() - down_at
            weed.start()
            return lasted

        for rotation in range(1, ROTATIONS + 1):
            wait_for(lambda: log.exists() and log.stat().st_size > 2000)  # a few lines each
            rotate()
            if rotation in (8, 24):  # SIGKILL the uploader once it has pushed since its start
                if down_at is not None:  # it can push only once the server is back
                    outage_s += end_outage()
                    down_at = None
                before = pushed_lines()
                wait_for(lambda: pushed_lines() > before or queued() == 0, timeout=300)
                uploader.send_signal(signal.SIGKILL)
                uploader.wait(timeout=30)
                kills += 1
                uploader = start_uploader()
            if rotation == 12:
                weed.stop()
                down_at = time.monotonic()
            if down_at is not None and time.monotonic() - down_at >= OUTAGE_S:
                outage_s += end_outage()
                down_at = None
            if down_at is not None:
                time.sleep(0.5)  # rotations go on during the outage, at the writer's pace
        if down_at is not None:
            outage_s += end_outage()
        stop.write_text("")
        written = int(writer.communicate(timeout=120)[0])
        rotate()  # the last lines into app.log.1, and app.log.2.gz enqueued
        # a host being retired: its newest rotated file enqueued by hand (see docs/shipping.md)
        done = subprocess.run([sys.executable, "-m", "datalake_nb", "enqueue", f"{log}.1",
                               "--what", "app", "--where", "host1", "--data-version", "1",
                               "--format", "nginx"], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        wait_for(lambda: queued() == 0, timeout=600)
        uploader.send_signal(signal.SIGTERM)
        assert uploader.wait(timeout=120) == 0
    finally:
        stop.write_text("")
        writer.kill()
        uploader.kill()

    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    lake = Lake(url, cache_dir=tmp_path / "cache-reader", progress=False)
    records = lake.records(what="app")
    seen: dict[int, int] = {}
    for rec in records:
        with lake.open(rec, decompress=True) as stream:
            data = stream.read()
        for n in map(int, re.findall(rb"GET /seq/(\d+) ", data)):
            seen[n] = seen.get(n, 0) + 1
        found = formats.time_range(io.BytesIO(data), "nginx")
        assert (rec.start, rec.end) == (found.earliest.value // 1_000_000,
                                        found.latest.value // 1_000_000), rec
    lines_lost = sum(1 for n in range(1, written + 1) if n not in seen)
    hashes = {rec.hash for rec in records}
    rotated = [p for p in logs.iterdir() if p.name != "app.log"]  # logrotate keeps them all
    from datalake_nb.engine.hashing import hash_file
    lost = sum(hash_file(p)[0] not in hashes for p in rotated)
    duplicates = sum(count - 1 for count in seen.values()) + len(records) - len(
        {rec.hash for rec in records})
    failed = (tmp_path / "spool" / "failed")
    report = lake.check()
    assert report.ok, str(report)
    assert queued() == 0 and not (failed.exists() and os.listdir(failed))
    assert lost == 0 and lines_lost == 0 and duplicates == 0
    assert set(seen) == set(range(1, written + 1)) and len(records) == len(rotated)
    outcomes = [json.loads(line) for line in uploader_log.read_text().splitlines()
                if line.startswith("{")]
    figures.add("kills survived", kills)
    figures.add("files lost", lost)
    return {"rotations": ROTATIONS + 1, "lines": written, "files": len(records),
            "outage seconds": round(outage_s, 1), "kills": kills, "files lost": lost,
            "lines lost": lines_lost, "duplicates": duplicates,
            "retries logged": sum(o["event"] == "retry" for o in outcomes),
            "pushes logged": sum(o["event"] == "pushed" for o in outcomes)}
