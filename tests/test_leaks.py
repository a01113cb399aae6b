"""Leftovers of killed pushes and fetches: `check` reports them with their sizes, and
`check --repair` removes those older than the stale age (DATALAKE_STALE_AGE) and keeps
younger ones, which may belong to a push or fetch running now."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import pytest

from datalake_nb import Lake

from support.helpers import write

T0, T1 = "2015-03-20T00:00:00Z", "2015-03-20T01:00:00Z"
DAY = 86400


def aged(path: Path, size: int, seconds_old: float) -> Path:
    """A file of ``size`` bytes last written ``seconds_old`` ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    when = time.time() - seconds_old
    os.utime(path, (when, when))
    return path


def lake_temp(root: Path, size: int, seconds_old: float) -> Path:
    """A temporary copy as LocalStore writes it before renaming it in place."""
    (root / ".tmp").mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=root / ".tmp")
    os.close(fd)
    return aged(Path(name), size, seconds_old)


def by_kind(report) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in report.findings:
        out.setdefault(finding.kind, []).append(finding.key)
    return {kind: sorted(keys) for kind, keys in out.items()}


@pytest.fixture
def one_file_lake(tmp_path):
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    lake.push(write(tmp_path / "a.log", "one\n"), what="nginx", where="web01", start=T0, end=T1,
              data_version="0")
    return lake


def test_old_temp_files_are_reported_with_sizes_and_removed_young_ones_kept(one_file_lake, tmp_path):
    root, cache = tmp_path / "lake", tmp_path / "cache" / "objects" / "ab"
    old_push = lake_temp(root, 3 * 1024 * 1024, 2 * DAY)
    young_push = lake_temp(root, 10, 60)
    old_fetch = aged(cache / ".datalake-k2j4h3.part", 2048, 3 * DAY)
    old_s3transfer = aged(cache / ".datalake-k2j4h3.part.1aB2c3D4", 4096, 3 * DAY)
    young_fetch = aged(cache / ".datalake-zzz.part", 5, 10)
    cached = aged(cache / ("ab" + "0" * 30), 7, 3 * DAY)  # a cache entry: no leftover

    report = one_file_lake.check()
    assert by_kind(report) == {
        "stale-temp-file": sorted(map(str, [old_push, old_fetch, old_s3transfer])),
        "recent-temp-file": sorted(map(str, [young_push, young_fetch]))}
    details = {f.key: f.detail for f in report.findings}
    assert details[str(old_push)].startswith("3.0 MiB, 2 d old")
    assert details[str(old_s3transfer)].startswith("4.0 KiB, 3 d old")
    assert not report.ok and len(report.left) == 3  # the young ones are no problem
    assert "3 problem(s), 0 repaired, 3 left; leftovers of killed pushes/fetches: 5, 3.0 MiB" \
        in report.summary()
    assert all(p.exists() for p in (old_push, old_fetch, old_s3transfer))  # check alone removes nothing

    repaired = one_file_lake.check(repair=True)
    assert repaired.ok
    assert not any(p.exists() for p in (old_push, old_fetch, old_s3transfer))
    assert young_push.exists() and young_fetch.exists() and cached.exists()
    assert [r.what for r in one_file_lake.records()] == ["nginx"]  # the lake itself is untouched
    again = one_file_lake.check(repair=True)
    assert by_kind(again) == {"recent-temp-file": sorted(map(str, [young_push, young_fetch]))}
    assert not any(f.fixed for f in again.findings) and again.ok
    assert "0 problem(s), 0 repaired, 0 left; leftovers of killed pushes/fetches: 2, 15 B" \
        in again.summary()


def test_a_shorter_stale_age_takes_younger_files(one_file_lake, tmp_path):
    young = lake_temp(tmp_path / "lake", 10, 120)
    assert by_kind(one_file_lake.check(repair=True)) == {"recent-temp-file": [str(young)]}
    assert young.exists()
    report = one_file_lake.check(repair=True, stale_age="1m")
    assert by_kind(report) == {"stale-temp-file": [str(young)]} and report.ok
    assert not young.exists()


def test_a_file_written_since_the_listing_is_not_removed(one_file_lake, tmp_path):
    """remove_leftover looks at the file's age again: a push that wrote it just now keeps it."""
    path = lake_temp(tmp_path / "lake", 10, 2 * DAY)
    (leftover,) = list(one_file_lake.store.leftovers())
    path.write_bytes(b"still being written")
    assert one_file_lake.store.remove_leftover(leftover, older_than_ms=int((time.time() - DAY) * 1000)) \
        is False
    assert path.exists()


def _s3(server):
    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key)


def _uploads(client, bucket: str) -> list[str]:
    return sorted(u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def _start_upload(client, bucket: str, key: str, part: bytes) -> str:
    """A multipart upload with one part, never completed: what a killed S3 push leaves."""
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=part)
    return upload


def server_age(lake: Lake) -> float:
    """Seconds since the start of the lake's oldest unfinished upload, by the server's
    clock: moto says 2010-11-10 for every upload, so "young" is relative to that."""
    return max(time.time() - lo.modified_ms / 1000 for lo in lake.store.leftovers())


def test_unfinished_multipart_uploads_under_the_prefix_are_found_and_aborted(
        s3_server, bucket, tmp_path):
    client = _s3(s3_server)
    lake = Lake(f"s3://{bucket}/archive/logs", cache_dir=tmp_path / "cache", progress=False)
    lake.push(write(tmp_path / "a.log", "one\n"), what="nginx", where="web01", start=T0, end=T1,
              data_version="0")
    mine = "archive/logs/data/nginx/1h/2015/03/20/killed.log"
    _start_upload(client, bucket, mine, b"p" * 70_000)
    _start_upload(client, bucket, "archive/other/data/x.log", b"q" * 10)   # another lake's
    _start_upload(client, bucket, "archive/logs2/data/x.log", b"r" * 10)   # a sibling prefix

    young_age = server_age(lake) + DAY
    young = lake.check(stale_age=young_age)
    assert by_kind(young) == {"recent-upload": ["data/nginx/1h/2015/03/20/killed.log"]}
    assert young.ok and young.findings[0].detail.startswith("68.4 KiB, ")
    assert "never completed" in young.findings[0].detail

    kept = lake.check(repair=True, stale_age=young_age)
    assert by_kind(kept) == by_kind(young)
    assert mine in _uploads(client, bucket)

    time.sleep(1.1)  # servers may keep the start time in whole seconds
    aborted = lake.check(repair=True, stale_age=1)
    assert by_kind(aborted) == {"stale-upload": ["data/nginx/1h/2015/03/20/killed.log"]}
    assert aborted.ok and aborted.findings[0].fixed
    assert _uploads(client, bucket) == ["archive/logs2/data/x.log", "archive/other/data/x.log"]
    assert [r.what for r in lake.records()] == ["nginx"]
    assert lake.check().findings == []


def test_cli_check_reports_and_repairs_leftovers(s3_server, bucket, tmp_path):
    client = _s3(s3_server)
    url = f"s3://{bucket}/lake"
    _start_upload(client, bucket, "lake/data/nginx/killed.log", b"p" * 1000)
    env = dict(os.environ, DATALAKE_STORAGE_URL=url, DATALAKE_CACHE_DIR=str(tmp_path / "c"))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "datalake_nb", "check", *args],
                              capture_output=True, text=True, env=env, timeout=120)

    young_age = str(int(server_age(Lake(url, progress=False)) + DAY))
    listed = run("--stale-age", young_age)
    assert listed.returncode == 0 and listed.stderr == ""
    first = listed.stdout.splitlines()[0]
    assert first.split()[:2] == ["recent-upload", "data/nginx/killed.log"] and "1000 B" in first
    assert "kept: younger than the stale age" in first
    time.sleep(1.1)
    stale = run("--stale-age", "1s")
    assert stale.returncode == 1 and "stale-upload" in stale.stdout and "fix with --repair" in stale.stdout
    repaired = run("--stale-age", "1s", "--repair")
    assert repaired.returncode == 0 and "[repaired]" in repaired.stdout
    assert _uploads(client, bucket) == []
    bad = run("--stale-age", "soon")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "DATALAKE_STALE_AGE" in bad.stderr and "'soon'" in bad.stderr
