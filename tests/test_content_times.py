"""Times from the content (issue 19, item 1): a push without --start takes the earliest
and latest event time of the file, read with the parser ``read`` uses, so ``read`` of the
pushed file gives times inside [start, end]."""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from datalake_nb import Lake
from datalake_nb.core.errors import InvalidInput
from datalake_nb.ingest.content_times import resolve_times
from datalake_nb.rows import formats

REAL = Path(__file__).parent / "data" / "real"
SAMPLES = Path(__file__).parent.parent / "samples" / "logs"
# file of the real corpus (tests/data/real): its format, and a day in it (for syslog's year)
CORPUS = {
    "nginx_shop_access.log": ("nginx", None),
    "apache_access_plaso.log": ("clf", None),
    "linux_auth_elastic.log": ("syslog", "2017-04-20"),
    "rsyslog_5424_plaso.log": ("syslog", None),
    "json_lnav.jsonl": ("jsonl", None),
    "logfmt_lnav.log": ("logfmt", None),
    "docker_plaso-json.log": ("docker", None),
    "windows_events_lnav.csv": (formats.Csv(time="TimeCreated", time_format="%m/%d/%Y %I:%M:%S %p"),
                                None),
}
COMPRESS = {"": lambda b: b, ".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
MS = pd.Timedelta(milliseconds=1)


def placed(tmp_path: Path, name: str, ext: str, day: str | None = None) -> Path:
    """A copy of a corpus file, compressed by ``ext``, its mtime on ``day`` when given (the
    last write of a rotated file: the year of a syslog line without one)."""
    path = tmp_path / (name + ext)
    path.write_bytes(COMPRESS[ext]((REAL / name).read_bytes()))
    if day:
        stamp = pd.Timestamp(day, tz="UTC").timestamp()
        os.utime(path, (stamp, stamp))
    return path


def times_read(lake: Lake, rec, fmt: str) -> pd.Series:
    return lake.read([rec], format=fmt)["time"].dropna()


@pytest.mark.parametrize("ext", list(COMPRESS))
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_format_compressed_or_not_gives_reads_own_range(local_lake, tmp_path, name, ext):
    fmt, day = CORPUS[name]
    version = fmt if isinstance(fmt, str) else "csv"
    rec = local_lake.push(placed(tmp_path, name, ext, day), what="app", where="host1",
                          data_version=version, format=fmt)
    got = times_read(local_lake, rec, fmt)
    assert len(got) > 0
    start, end = pd.Timestamp(rec.start, unit="ms", tz="UTC"), pd.Timestamp(rec.end, unit="ms", tz="UTC")
    assert start == got.min().floor("ms") and end == got.max().ceil("ms")
    assert (got >= start).all() and (got <= end).all()
    if day:  # the year the file's mtime says, not this year
        assert got.min().year == pd.Timestamp(day).year


def test_on_s3_through_the_lakes_mapping(lake, tmp_path):
    """No --format: the lake's own mapping for the what and data version names the parser
    (moto here; the local folder and SeaweedFS through the same fixture)."""
    lake.set_format("nginx", "1", "nginx")
    path = placed(tmp_path, "nginx_shop_access.log", ".gz")
    rec = lake.push(path, what="nginx", where="shop", data_version="1")
    got = times_read(lake, rec, "nginx")
    assert (rec.start, rec.end) == (got.min().value // 10**6, got.max().value // 10**6)


def test_out_of_order_lines_give_the_earliest_and_latest_not_the_first_and_last(local_lake, tmp_path):
    line = '10.0.0.1 - - [01/Nov/2026:09:{:02d}:{:02d} +0000] "GET / HTTP/1.1" 200 5 "-" "curl"\n'
    stamps = [(10, 5), (0, 1), (59, 58), (30, 0), (12, 0)]  # first 09:10:05, last 09:12:00
    path = tmp_path / "late.log"
    path.write_text("".join(line.format(*s) for s in stamps))
    rec = local_lake.push(path, what="nginx", where="w", data_version="1", format="nginx")
    assert rec.start == pd.Timestamp("2026-11-01T09:00:01Z").value // 10**6
    assert rec.end == pd.Timestamp("2026-11-01T09:59:58Z").value // 10**6


def test_auto_detects_once_like_read(local_lake, tmp_path):
    path = placed(tmp_path, "json_lnav.jsonl", ".gz")
    rec = local_lake.push(path, what="j", where="w", data_version="1", format="auto")
    got = times_read(local_lake, rec, "auto")
    assert rec.start == got.min().floor("ms").value // 10**6
    assert local_lake.formats().iloc[0]["format"] == "auto"


def test_a_file_without_times_uploads_nothing_and_names_the_file(local_lake, tmp_path):
    good = placed(tmp_path, "nginx_shop_access.log", "")
    bad = tmp_path / "notes.log"
    bad.write_text("no time here\nnor here\n")
    with pytest.raises(InvalidInput) as caught:
        local_lake.push_many([good, bad], what="nginx", where="w", data_version="1",
                             format="nginx")
    message = str(caught.value)
    assert "notes.log" in message and "--start" in message and "\n" not in message
    assert local_lake.list().empty and local_lake.formats().empty


def test_no_format_known_says_how_to_give_one(local_lake, tmp_path):
    path = placed(tmp_path, "nginx_shop_access.log", "")
    with pytest.raises(InvalidInput, match="--start.*--format"):
        local_lake.push(path, what="nginx", where="w", data_version="9")


def test_mtime_and_explicit_values_win(local_lake, tmp_path):
    path = placed(tmp_path, "nginx_shop_access.log", "", day="2030-01-02")
    content = resolve_times(path, format="nginx")
    assert content.start_from == content.end_from == "content" and content.lines > 0
    rec = local_lake.push(path, what="n", where="w", data_version="1", format="nginx",
                          end="mtime")
    assert (rec.start, rec.end) == (content.start, pd.Timestamp("2030-01-02", tz="UTC").value // 10**6)
    rec = local_lake.push(path, what="n", where="w", data_version="1", format="nginx",
                          start="2019-01-01")
    assert (rec.start, rec.end) == (pd.Timestamp("2019-01-01", tz="UTC").value // 10**6, None)
    rec = local_lake.push(path, what="n", where="w", data_version="2", start="mtime", end="mtime")
    assert rec.start == rec.end == pd.Timestamp("2030-01-02", tz="UTC").value // 10**6


def test_end_before_a_given_start_is_an_error(tmp_path):
    path = placed(tmp_path, "nginx_shop_access.log", "")
    with pytest.raises(InvalidInput, match="end .* is before start"):
        resolve_times(path, start="2099-01-01", end=None, format="nginx")


def test_cli_push_without_times(tmp_path, monkeypatch):
    monkeypatch.setenv("DATALAKE_STORAGE_URL", str(tmp_path / "lake"))
    run = [sys.executable, "-m", "datalake_nb", "push",
           str(SAMPLES / "rotated" / "web03_nginx_2026-11-01T09.log.gz"),
           "--what", "nginx", "--where", "web03", "--data-version", "1", "--format", "nginx"]
    done = subprocess.run(run, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"start": 17935236' in done.stdout
    bad = tmp_path / "empty.log"
    bad.write_text("")
    run[4] = str(bad)
    done = subprocess.run(run, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2 and "empty.log" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


CHILD = r"""
import json, sys
from datalake_nb import Lake
def status(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(field + ":"))
lake = Lake(sys.argv[2], cache_dir=sys.argv[3], progress=False)
import pandas, pyarrow.compute  # what the push loads, loaded before the baseline
before = status("VmRSS")
rec = lake.push(sys.argv[1], what="nginx", where="big", data_version="1", format="nginx")
peak = status("VmHWM")  # this process's peak (ru_maxrss would keep the forking parent's)
print(json.dumps({"start": rec.start, "end": rec.end, "size": rec.size, "grew": peak - before}))
"""


@pytest.mark.slow
@pytest.mark.timeout(1800)  # 2 GB written, hashed and read on a loaded 2-core CI machine
def test_a_2_gb_file_is_pushed_with_memory_under_100_mb(tmp_path):
    """Made on the fly: 2 GB of nginx lines over one day, the earliest in the middle."""
    line = ('10.0.0.{} - - [01/Nov/2026:{:02d}:{:02d}:{:02d} +0000] "GET /api/orders?q={} '
            'HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)"\n')
    block = "".join(line.format(i % 250, (i // 3600) % 24, (i // 60) % 60, i % 60, i)
                    for i in range(1, 86400, 7)).encode()
    path = tmp_path / "big.log"
    with open(path, "wb") as out:
        for n in range(2_000_000_000 // len(block) + 1):
            out.write(block)
            if n == 3:  # out of order: the earliest line is not the first
                out.write(line.format(1, 0, 0, 0, 0).encode())
    size = path.stat().st_size
    assert size >= 2_000_000_000
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(tmp_path / "lake"),
                           str(tmp_path / "cache")], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    import json
    got = json.loads(done.stdout)
    day = pd.Timestamp("2026-11-01", tz="UTC").value // 10**6
    assert got["size"] == size
    assert (got["start"], got["end"]) == (day, day + max(range(1, 86400, 7)) * 1000)
    assert got["grew"] < 100 << 20, f"peak memory grew {got['grew'] >> 20} MiB"
