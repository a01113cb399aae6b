"""Import of an existing archive (issue 19, item 3): an s3cmd + logrotate style archive of
<host>/<service>/<service>.log-YYYYMMDD.gz, imported with one template; a second import
pushes nothing; an import killed half-way and run again archives each object once."""
from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pandas as pd
import pytest

from datalake_nb import Lake
from datalake_nb.core.errors import InvalidInput

from support.s3servers import new_bucket

TEMPLATE = "{where}/{what}/{what}.log-{start:%Y%m%d}.gz"
SERVICES = {"nginx": "nginx", "syslog": "syslog", "app": "jsonl"}
DAY0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def content(service: str, host: str, day: int) -> tuple[bytes, dt.datetime, dt.datetime]:
    """A day's log of ``service`` on ``host``: lines at varied seconds, out of order; its
    (earliest, latest) time."""
    base = DAY0 + dt.timedelta(days=day)
    seconds = [(i * 7919 + day * 31 + len(host)) % 86400 for i in range(40)]
    lines = []
    for s in seconds:
        t = base + dt.timedelta(seconds=s)
        if service == "nginx":
            lines.append(f'10.0.0.1 - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "GET /{s} HTTP/1.1" 200 {s} "-" "curl"')
        elif service == "syslog":
            lines.append(f"{t:%b} {t.day:2d} {t:%H:%M:%S} {host} cron[{s}]: job {s}")
        else:
            lines.append(json.dumps({"time": t.isoformat(), "host": host, "n": s}))
    times = [base + dt.timedelta(seconds=s) for s in seconds]
    return gzip.compress(("\n".join(lines) + "\n").encode()), min(times), max(times)


def archive(hosts: int, days: int):
    """{key: (bytes, earliest, latest)} of the synthetic archive (plus one stray key)."""
    out = {}
    for h in range(hosts):
        host = f"web{h:02d}"
        for service in SERVICES:
            for day in range(days):
                stamp = (DAY0 + dt.timedelta(days=day)).strftime("%Y%m%d")
                out[f"logs/{host}/{service}/{service}.log-{stamp}.gz"] = content(service, host, day)
    return out


def formats_set(lake: Lake) -> None:
    for service, fmt in SERVICES.items():
        lake.set_format(service, "1", fmt)


def check_against(lake: Lake, objects: dict) -> None:
    """list, latest and a read window answer as computed from the source."""
    frame = lake.list()
    assert len(frame) == len(objects)
    for key, (_, low, high) in objects.items():
        _, host, service, _ = key.split("/")
        row = frame[(frame["where"] == host) & (frame["what"] == service)
                    & (frame["start"].dt.strftime("%Y%m%d") == key[-11:-3])]
        assert len(row) == 1
        assert row["start"].iloc[0] == pd.Timestamp(low).floor("D")  # the day in the key
        assert row["end"].iloc[0] == pd.Timestamp(high)  # the content's latest
    host, service = "web01", "nginx"
    newest = max(k for k in objects if f"/{host}/{service}/" in k)
    assert lake.latest(service, host).end == int(objects[newest][2].timestamp() * 1000)
    low = DAY0 + dt.timedelta(hours=6)
    high = DAY0 + dt.timedelta(hours=18)
    rows = lake.read(what="app", start=low, end=high)
    expected = sum(1 for key, (data, _, _) in objects.items() if "/app/" in key
                   for line in gzip.decompress(data).splitlines()
                   if low <= dt.datetime.fromisoformat(json.loads(line)["time"]) <= high)
    assert len(rows) == expected > 0


def test_import_a_local_folder_twice(local_lake, tmp_path):
    objects = archive(hosts=3, days=2)
    for key, (data, _, _) in objects.items():
        path = tmp_path / "old" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (tmp_path / "old" / "logs" / "README").write_text("not a log\n")
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "old").rglob("*")}
    formats_set(local_lake)
    report = local_lake.import_archive(str(tmp_path / "old"), path_template=TEMPLATE,
                                       data_version="1")
    assert len(report.imported) == len(objects) and not report.already
    assert list(report.skipped) == ["does not match the path pattern"]
    check_against(local_lake, objects)
    again = local_lake.import_archive(str(tmp_path / "old"), path_template=TEMPLATE,
                                      data_version="1")
    assert not again.imported and len(again.already) == len(objects)
    assert "imported 0, already there 18, skipped 1" in str(again)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "old").rglob("*")} == before
    assert local_lake.check().ok


def test_import_needs_a_pattern(local_lake, tmp_path):
    with pytest.raises(InvalidInput, match="--path-template"):
        local_lake.import_archive(str(tmp_path))


def upload(server, bucket: str, objects: dict) -> None:
    client = boto3.client("s3", endpoint_url=server.url, aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key, region_name="us-east-1")
    for key, (data, _, _) in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    client.put_object(Bucket=bucket, Key="logs/web00/nginx/notes.txt", Body=b"x")


@pytest.mark.parametrize("hosts, days", [(2, 2)])
def test_import_from_s3_into_a_lake_on_the_same_server(s3_server, lake_url, tmp_path, hosts, days):
    """moto by default; SeaweedFS under its mark (the source a bucket of the same server,
    named by --source-endpoint-url)."""
    if not lake_url.startswith("s3://"):
        pytest.skip("the lake on S3")
    if os.environ.get("AWS_ENDPOINT_URL") != s3_server.url:  # the lake's server (lake_url's)
        pytest.skip("the lake on the same server as the source (its credentials)")
    objects = archive(hosts, days)
    source = new_bucket(s3_server)
    upload(s3_server, source, objects)
    lake = Lake(lake_url, cache_dir=tmp_path / "cache", progress=False)
    formats_set(lake)
    report = lake.import_archive(f"s3://{source}/logs/", path_template=TEMPLATE,
                                 data_version="1", source_endpoint_url=s3_server.url)
    assert len(report.imported) == len(objects), str(report)
    check_against(lake, objects)
    again = lake.import_archive(f"s3://{source}/logs/", path_template=TEMPLATE,
                                data_version="1", source_endpoint_url=s3_server.url)
    assert not again.imported and len(again.already) == len(objects)
    assert lake.check().ok


@pytest.mark.seaweedfs
@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)
def test_2000_objects_on_seaweedfs(s3_server, tmp_path, monkeypatch):
    """The issue's archive: 20 hosts x 3 services x 34 days (2,040 objects)."""
    objects = archive(hosts=20, days=34)
    source, target = new_bucket(s3_server), new_bucket(s3_server)
    upload(s3_server, source, objects)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    lake = Lake(f"s3://{target}/lake", cache_dir=tmp_path / "cache", progress=False)
    formats_set(lake)
    report = lake.import_archive(f"s3://{source}/logs/", path_template=TEMPLATE,
                                 data_version="1")
    assert len(report.imported) == len(objects), str(report)
    check_against(lake, objects)
    again = lake.import_archive(f"s3://{source}/logs/", path_template=TEMPLATE, data_version="1")
    assert not again.imported and len(again.already) == len(objects)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_an_import_killed_half_way_and_run_again_archives_each_object_once(tmp_path, sig):
    objects = archive(hosts=10, days=6)  # 180 objects
    for key, (data, _, _) in objects.items():
        path = tmp_path / "old" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    lake_dir = tmp_path / "lake"
    lake_dir.mkdir()
    lake = Lake(str(lake_dir), cache_dir=tmp_path / "cache", progress=False)
    formats_set(lake)
    env = dict(os.environ, DATALAKE_STORAGE_URL=str(lake_dir), DATALAKE_PROGRESS="off",
               DATALAKE_CONCURRENCY="2")
    argv = [sys.executable, "-m", "datalake_nb", "import", str(tmp_path / "old"),
            "--path-template", TEMPLATE, "--data-version", "1"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300  # a hang bound, not a timing
    while len(list((lake_dir / "data").rglob("*.gz")) if (lake_dir / "data").exists() else []) < 20:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.communicate(timeout=300)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    imported, already = (int(x) for x in
                         __import__("re").match(r"imported (\d+), already there (\d+)",
                                                done.stdout).groups())
    assert imported + already == len(objects) and already >= 20
    assert len(lake.list()) == len(objects)
    report = lake.check()
    assert report.ok, report
