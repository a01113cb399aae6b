"""Lake.read / grep / set_format / formats, on a local lake and on moto's S3 over HTTP."""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from datalake_nb import DamagedFile, DatalakeError, IntegrityError, InvalidInput, Lake
from datalake_nb.rows import formats
from datalake_nb.rows import grep as grepping

from support.damage import DAMAGED, damaged_file
from support.helpers import SAMPLES, corrupt, push_samples, write

GREP = shutil.which("grep")


def nginx_line(stamp: str, path: str = "/", status: int = 200) -> str:
    return f'10.0.0.1 - - [{stamp} +0000] "GET {path} HTTP/1.1" {status} 12 "-" "curl/8"'


def test_read_clips_at_both_edges_inclusive(lake, tmp_path):
    first = write(tmp_path / "a.log", "\n".join([
        nginx_line("01/Nov/2026:10:29:59", "/before"), nginx_line("01/Nov/2026:10:30:00", "/at-start"),
        "not an nginx line", nginx_line("01/Nov/2026:10:59:59", "/inside")]) + "\n")
    second = write(tmp_path / "b.log", "\n".join([
        nginx_line("01/Nov/2026:11:00:00", "/inside-too"), nginx_line("01/Nov/2026:11:30:00", "/at-end"),
        nginx_line("01/Nov/2026:11:30:01", "/after")]) + "\n")
    lake.push(first, what="nginx", where="web01", start="2026-11-01T10:00Z",
              end="2026-11-01T10:59:59.999Z", data_version="1")
    lake.push(second, what="nginx", where="web01", start="2026-11-01T11:00Z",
              end="2026-11-01T11:59:59.999Z", data_version="1")
    df = lake.read(format="nginx", what="nginx", start="2026-11-01T10:30Z", end="2026-11-01T11:30Z")
    assert df["path"].tolist()[:1] == ["/at-start"]
    assert df[df["unparsed"].isna()]["path"].tolist() == ["/at-start", "/inside", "/inside-too", "/at-end"]
    assert df["unparsed"].dropna().tolist() == ["not an nginx line"]  # kept: it has no time
    assert df.attrs["unparsed"] == 1
    assert list(df.columns[:3]) == ["time", "where", "what"]  # what people read first
    assert list(df.columns[-2:]) == ["line_number", "id"]  # the long provenance last
    assert df["line_number"].tolist() == [2, 3, 4, 1, 2]
    assert set(df["where"]) == {"web01"} and df["time"].dt.tz is not None
    everything = lake.read(format="nginx", what="nginx", start="2026-11-01T10:30Z",
                           end="2026-11-01T11:30Z", clip=False)
    assert len(everything) == 7


def test_a_truncated_line_costs_only_itself_in_read_clip_and_grep(lake, tmp_path):
    """Issue 18, item 1: a quote left open must not swallow the next line (its row, its
    line number and its time in read, a clip window, and grep's time)."""
    lines = [nginx_line(f"01/Nov/2026:10:00:0{s}", f"/p{s}") for s in range(4)]
    lines[1] = lines[1][:-4]  # ends inside the user agent
    path = write(tmp_path / "t.log", "\n".join(lines) + "\n")
    lake.push(path, what="nginx", where="web01", start="2026-11-01T10:00Z",
              end="2026-11-01T10:59Z", data_version="1")
    lake.set_format("nginx", "1", "nginx")
    df = lake.read(what="nginx", start="2026-11-01T10:00:02Z", end="2026-11-01T10:00:03Z")
    assert df["line_number"].tolist() == [2, 3, 4] and df.attrs["unparsed"] == 1
    assert df["path"].tolist()[1:] == ["/p2", "/p3"]
    hits = lake.grep("/p[23] ", what="nginx")
    assert hits["line_number"].tolist() == [3, 4]
    assert hits["time"].tolist() == [pd.Timestamp("2026-11-01T10:00:02Z"),
                                     pd.Timestamp("2026-11-01T10:00:03Z")]


def test_two_data_versions_two_parsers_one_read(lake, tmp_path):
    old = write(tmp_path / "app-v1.csv", "time,level,ms\n2026-11-01T09:00:00Z,info,12\n"
                                         "2026-11-01T09:00:05Z,warn,250\n")
    new = write(tmp_path / "app-v2.jsonl", '{"ts": "2026-11-01T10:00:00+01:00", "level": "error", '
                                           '"ms": 7, "user": "ana"}\n')
    lake.push(old, what="app", where="api01", start="2026-11-01T09:00Z", end="2026-11-01T09:59Z",
              data_version="v1")
    lake.push(new, what="app", where="api01", start="2026-11-01T09:00Z", end="2026-11-01T09:59Z",
              data_version="v2")
    lake.set_format("app", "v1", "csv")
    lake.set_format("app", "v2", "jsonl")
    assert lake.formats().values.tolist() == [["app", "v1", "csv", None], ["app", "v2", "jsonl", None]]
    df = lake.read(what="app").sort_values("time", ignore_index=True)
    assert df["time"].tolist() == [pd.Timestamp("2026-11-01T09:00:00Z")] * 2 + [
        pd.Timestamp("2026-11-01T09:00:05Z")]
    assert df["level"].tolist() == ["info", "error", "warn"]
    assert df["ms"].tolist() == [12, 7, 250]
    assert df["user"].tolist()[1] == "ana" and pd.isna(df["user"].tolist()[0])
    assert df["line_number"].tolist() == [2, 1, 3]  # csv rows count the header line
    # a format given in the call wins over the mapping
    assert lake.read(format="lines", what="app")["line"].tolist()[0] == "time,level,ms"
    lake.set_format("app", "v2", "lines")  # a data version's format can change
    assert lake.formats()["format"].tolist() == ["csv", "lines"]


LOG_FORMAT = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
              '"$http_referer" "$http_user_agent" "$http_x_forwarded_for"')


def test_a_pasted_log_format_is_stored_with_the_format_for_every_reader(lake, tmp_path):
    """Issue 18, item 3: set_format keeps the parameters, so another reader parses alike."""
    path = write(tmp_path / "x.log", nginx_line("01/Nov/2026:10:00:00") + ' "10.9.9.9"\n')
    lake.push(path, what="nginx", where="web01", start="2026-11-01T10:00Z", data_version="2")
    lake.set_format("nginx", "2", "nginx", log_format=LOG_FORMAT)
    assert lake.formats().values.tolist() == [["nginx", "2", "nginx", {"log_format": LOG_FORMAT}]]
    other = Lake(lake.url, cache_dir=tmp_path / "other-cache")
    df = other.read(what="nginx")
    assert df["http_x_forwarded_for"].tolist() == ["10.9.9.9"] and df.attrs["unparsed"] == 0
    assert df["time"].tolist() == [pd.Timestamp("2026-11-01T10:00:00Z")]
    assert other.grep("GET", what="nginx")["time"].tolist() == df["time"].tolist()
    with pytest.raises(InvalidInput, match="has no parameter 'logformat'"):
        lake.set_format("nginx", "2", "nginx", logformat=LOG_FORMAT)
    assert lake.formats()["parameters"].tolist() == [{"log_format": LOG_FORMAT}]  # unchanged


def test_syslog_zone_is_stored_with_the_format_and_the_year_follows_it(lake, tmp_path):
    """Issue 18, item 5: a host in UTC-5 whose file starts 2006-01-01T01:00Z."""
    path = write(tmp_path / "messages", "Dec 31 20:00:00 h1 app: happy new year soon\n")
    lake.push(path, what="syslog", where="h1", start="2006-01-01T01:00Z",
              end="2006-01-01T01:59Z", data_version="1")
    lake.set_format("syslog", "1", "syslog", tz="America/New_York")
    df = lake.read(what="syslog")
    assert df["time"].tolist() == [pd.Timestamp("2006-01-01T01:00:00Z")]
    assert lake.grep("happy", what="syslog")["time"].tolist() == df["time"].tolist()


def test_a_time_that_is_not_iso_clips_and_one_that_does_not_read_is_counted(lake, tmp_path):
    """Issue 18, item 6: a 1-hour window on times like 2015-10-18 18:01:47,978."""
    rows = [f'"2015-10-18 {h:02d}:30:00,{h:03d}",x{h}' for h in range(10, 20)] + ["soon,late"]
    path = write(tmp_path / "app.csv", "Time,msg\n" + "\n".join(rows) + "\n")
    lake.push(path, what="app", where="h1", start="2015-10-18T10Z", end="2015-10-18T20Z",
              data_version="1")
    lake.set_format("app", "1", "csv", time="Time")
    df = lake.read(what="app", start="2015-10-18T12:00Z", end="2015-10-18T13:00Z")
    assert df["msg"].tolist() == ["x12", "late"]  # the line without a time is kept, and counted
    assert df.attrs["unparsed_time"] == 1 and df.attrs["unparsed"] == 0
    assert df["time"].iloc[0] == pd.Timestamp("2015-10-18T12:30:00.012Z")


def test_format_auto_reads_each_file_in_its_own_format(lake, tmp_path):
    push_samples(lake)
    syslog = write(tmp_path / "messages", "Nov  1 09:00:33 web01 CRON[2211]: (root) CMD\n" * 3)
    lake.push(syslog, what="sys", where="web01", start="2026-11-01T09Z", data_version="1")
    df = lake.read(what="nginx", where="web01", format="auto")
    assert df.attrs["format"] == "nginx" and df.attrs["unparsed"] == 0 and df["status"].notna().all()
    both = lake.read(format="auto", where="web01", start="2026-11-01T09Z", end="2026-11-01T09:30Z")
    ids = {r.id: r.what for r in lake.records(where="web01", start="2026-11-01T09Z",
                                               end="2026-11-01T09:30Z")}
    assert {ids[i]: f for i, f in both.attrs["format"].items()} == {"nginx": "nginx",
                                                                     "sys": "syslog"}


def test_read_without_a_format_names_the_one_the_file_looks_like(lake):
    push_samples(lake)
    with pytest.raises(InvalidInput, match=r"no format is set for what 'nginx', data-version '1'; "
                                           r"its file [0-9a-f]{32} looks like 'nginx' \(100% of "
                                           r"its first 100 lines\): give format='nginx' or "
                                           r"format='auto', or set one with set_format$"):
        lake.read(what="nginx")


def test_format_mistakes_are_one_line_invalid_input(lake, tmp_path):
    lake.push(write(tmp_path / "x.log", "hello\n"), what="app", where="h1", start="2026-11-01",
              data_version="v9")
    with pytest.raises(InvalidInput) as exc:
        lake.read(what="app")
    assert "no format is set for what 'app', data-version 'v9'" in str(exc.value)
    with pytest.raises(InvalidInput, match="unknown format 'nginxx'; did you mean 'nginx'\\? known: auto, clf, csv, "
                                           "docker, jsonl, lines"):
        lake.read(what="app", format="nginxx")
    with pytest.raises(InvalidInput, match="unknown format"):
        lake.set_format("app", "v9", "nginxx")
    with pytest.raises(InvalidInput, match="data-version"):
        lake.set_format("app", "v/9", "lines")
    assert lake.formats().empty  # nothing was written

    def explode(data):
        raise RuntimeError("bad parser")

    formats.register("test-explode", explode)
    try:
        with pytest.raises(InvalidInput) as exc:
            lake.read(what="app", format="test-explode")
        assert "format 'test-explode' could not parse h1/app file" in str(exc.value)
        assert "RuntimeError: bad parser" in str(exc.value) and "\n" not in str(exc.value)
    finally:
        formats._REGISTRY.pop("test-explode")
    with pytest.raises(InvalidInput, match="unknown query keyword"):
        lake.read(format="lines", host="h1")


@pytest.mark.parametrize("ext,compress", [(".log.gz", gzip.compress), (".log.bz2", bz2.compress),
                                          (".log.xz", lzma.compress)])
def test_compressed_files_read_and_grep_like_plain_ones(lake, tmp_path, ext, compress):
    plain = SAMPLES / "web01_nginx_2026-11-01T09.log"
    packed = tmp_path / f"web01{ext}"
    packed.write_bytes(compress(plain.read_bytes()))
    lake.push(plain, what="nginx", where="plain", start="2026-11-01T09Z", data_version="1")
    rec = lake.push(packed, what="nginx", where="packed", start="2026-11-01T09Z", data_version="1")
    lake.set_format("nginx", "1", "nginx")
    df = lake.read(what="nginx")
    a, b = (df[df["where"] == w].drop(columns=["id", "where"]).reset_index(drop=True)
            for w in ("plain", "packed"))
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 110
    hits = lake.grep(" 500 ", what="nginx")
    assert hits.groupby("where", observed=True).size().to_dict() == {"plain": 3, "packed": 3}
    with lake.open(rec.id, decompress=True) as stream:
        assert stream.read() == plain.read_bytes()
    with lake.open(rec.id) as stream:
        assert stream.read() == packed.read_bytes()


@pytest.mark.skipif(GREP is None, reason="GNU grep is not installed")
@pytest.mark.parametrize("pattern,flags", [('" 500 ', []), ("api/orders", []), ("login|health", ["-E"]),
                                           ("CURL", ["-i"]), ("orders/42 ", ["-F"]),
                                           (" 200 ", ["-v"]), ("^10\\.0\\.1\\.", ["-E"]),
                                           ("HTTP/1.1\" 4", ["-F"]), ('2\\.32"$', ["-E"])])
@pytest.mark.parametrize("engine", ["gnu", "python"])
def test_grep_matches_gnu_grep_on_the_fetched_files(lake, tmp_path, pattern, flags, engine,
                                                    monkeypatch):
    """Both scanners: GNU grep -P finding candidates (re-checked by Python), and Python's
    re alone (what runs where there is no GNU grep)."""
    if engine == "python":
        monkeypatch.setattr(grepping, "GREP", None)
    else:
        assert grepping.GREP is not None
    records = push_samples(lake)
    paths = lake.fetch(records, dest=tmp_path / "fetched")
    hits = lake.grep(pattern, what="nginx", ignore_case="-i" in flags, fixed="-F" in flags,
                     invert="-v" in flags)
    assert list(hits.columns) == ["id", "what", "where", "line_number", "line"]
    grep_flags = [f for f in flags if f != "-E"] + (["-E"] if "-F" not in flags else [])
    for rec, path in zip(records, paths):
        counted = subprocess.run([GREP, "-c", *grep_flags, "--", pattern, str(path)],
                                 capture_output=True, text=True, timeout=120)
        numbered = subprocess.run([GREP, "-n", "-h", *grep_flags, "--", pattern, str(path)],
                                  capture_output=True, text=True, timeout=120).stdout.splitlines()
        mine = hits[hits["id"] == rec.id]
        assert len(mine) == int(counted.stdout)
        assert [f"{n}:{line}" for n, line in zip(mine["line_number"], mine["line"])] == numbered
    assert len(hits) > 0


def test_grep_gives_the_time_when_the_format_is_known(lake):
    push_samples(lake)
    assert "time" not in lake.grep(" 500 ", what="nginx").columns
    lake.set_format("nginx", "1", "nginx")
    hits = lake.grep(" 500 ", what="nginx", where="web01", start="2026-11-01T10:00Z",
                     end="2026-11-01T10:59Z")
    assert len(hits) == 3 and hits["time"].notna().all()
    assert hits["time"].dt.floor("h").unique().tolist() == [pd.Timestamp("2026-11-01T10:00Z")]
    for stamp, line in zip(hits["time"], hits["line"]):
        assert stamp.strftime("%d/%b/%Y:%H:%M:%S") in line


def test_grep_bad_pattern_is_one_line_invalid_input(lake, tmp_path):
    for bad in ("(unclosed", "[z-a]", "*lead"):
        with pytest.raises(InvalidInput) as exc:
            lake.grep(bad)
        assert str(exc.value).startswith(f"pattern: {bad!r} is not a valid regular expression")
        assert "\n" not in str(exc.value)
    lake.push(write(tmp_path / "x.log", "no parenthesis here\n"), what="app", where="h1",
              start="2026-11-01", data_version="1")
    assert lake.grep("(unclosed", fixed=True).empty  # -F: any text is fine


def test_corrupt_object_is_refused_by_read_and_grep(lake, tmp_path):
    records = push_samples(lake)
    lake.set_format("nginx", "1", "nginx")
    corrupt(lake, records[2])
    with pytest.raises(IntegrityError, match=f"id {records[2].id}.*stored bytes hash to"):
        lake.read(what="nginx")
    with pytest.raises(IntegrityError, match=records[2].id):
        lake.grep("GET", what="nginx")
    assert lake.cache.lookup(records[2]) is None  # nothing unverified was kept
    assert len(lake.read(records[:2])) == 220  # the others are fine




@pytest.mark.parametrize("ext,compress,damage,cause", DAMAGED)
def test_a_file_damaged_before_the_push_is_one_damaged_file_error(lake, tmp_path, ext, compress,
                                                                 damage, cause):
    path = damaged_file(tmp_path, ext, compress, damage)
    rec = lake.push(path, what="nginx", where="h1", start="2026-11-01T09Z", data_version="1")
    lake.set_format("nginx", "1", "nginx")
    words = (rf"\(id {rec.id}\): cannot decompress \({re.escape(ext[4:])}\): .*the file was "
             "damaged before it was pushed")
    for attempt in (lambda: lake.read(what="nginx"), lambda: lake.grep("GET", what="nginx"),
                    lambda: lake.grep("GET", what="nginx", invert=True, fixed=True)):
        with pytest.raises(DamagedFile, match=words) as exc:
            attempt()
        assert "\n" not in str(exc.value)
    with lake.open(rec.id, decompress=True) as stream:
        with pytest.raises(DamagedFile, match=words) as exc:
            stream.read()
    assert "\n" not in str(exc.value) and type(exc.value.__cause__) is cause
    with lake.open(rec.id) as stream:
        assert stream.read() == path.read_bytes()  # the stored bytes are as pushed


def test_a_compressed_object_spoilt_in_the_store_is_an_integrity_error_when_streamed(lake,
                                                                                    tmp_path):
    """The hash check (at the stream's end) outranks the decompressor's complaint, which
    comes first: a .bz2 block's check fails long before the end of a file of many blocks."""
    draw = random.Random(1)
    lines = "".join(nginx_line(f"01/Nov/2026:09:{draw.randrange(60):02d}:{draw.randrange(60):02d}",
                               f"/api/orders/{draw.randrange(10 ** 6)}", draw.choice([200, 500]))
                    + "\n" for _ in range(1 << 16))
    packed = tmp_path / "big.log.bz2"
    packed.write_bytes(bz2.compress(lines.encode(), compresslevel=1))  # 100 kB blocks
    rec = lake.push(packed, what="nginx", where="h1", start="2026-11-01T09Z", data_version="1")
    corrupt(lake, rec)
    with lake.open(rec.id, decompress=True) as stream:
        with pytest.raises(IntegrityError, match=f"id {rec.id}\\): stored bytes hash to"):
            stream.read()


ODD = (b"plain line\nnul\x00here\n-e dash\r\n--x\nab\r\na\nb\nbad\x80byte\ncaf\xc3\xa9\n"
       b"tab\there\n")
# Patterns GNU grep cannot be given as they are (no NUL in an argument, a line end splits
# the pattern in two, a CRLF line keeps its CR there, U+FFFD and a lone surrogate are not
# what grep sees), and ones that look like options.
ODD_PATTERNS = ["\x00", "a\nb", "\n", "\r", "b\r", "\ufffd", "\udc80", "\ud800", "-e", "--x",
                "-", "-v"]


@pytest.mark.parametrize("engine", ["gnu", "python"])
def test_grep_takes_any_pattern_python_can_search_for(lake, tmp_path, monkeypatch, engine):
    if engine == "python":
        monkeypatch.setattr(grepping, "GREP", None)
    elif grepping.GREP is None:
        pytest.skip("GNU grep is not installed")
    (tmp_path / "odd.log").write_bytes(ODD)
    lake.push(tmp_path / "odd.log", what="app", where="h1", start="2026-11-01", data_version="1")
    lines = list(enumerate(formats.decode(ODD).split("\n"), 1))
    for pattern in ODD_PATTERNS:
        for fixed in (False, True):
            for invert in (False, True):
                found = (lambda line: pattern in line) if fixed else re.compile(pattern).search
                expected = [(n, line) for n, line in lines if bool(found(line)) != invert]
                hits = lake.grep(pattern, fixed=fixed, invert=invert)
                assert list(zip(hits["line_number"], hits["line"])) == expected, \
                    (pattern, fixed, invert)


def test_rows_from_earlier_and_empty_answers(lake):
    push_samples(lake)
    lake.set_format("nginx", "1", "nginx")
    frame = lake.list(what="nginx", where="web02")
    by_rows = lake.read(frame)
    assert set(by_rows["where"]) == {"web02"} and len(by_rows) == 110 + 107
    by_ids = lake.read(list(frame["id"]), start="2026-11-01T11:00Z")
    assert len(by_ids) == 107 and by_ids["time"].min() >= pd.Timestamp("2026-11-01T11:00Z")
    with pytest.raises(InvalidInput, match="give rows or a query, not both"):
        lake.read(frame, what="nginx")
    empty = lake.read(what="nginx", start="2030-01-01")
    assert empty.empty and list(empty.columns[-2:]) == ["line_number", "id"]
    assert {"where", "what"} <= set(empty.columns)
    assert lake.grep("GET", what="nothing-here").empty


def test_read_is_the_same_as_parsing_the_fetched_files(lake, tmp_path):
    push_samples(lake)
    records = lake.records(what="nginx")  # read keeps the order of list(): by start
    df = lake.read(what="nginx", format="nginx")
    paths = lake.fetch(records, dest=tmp_path / "f")
    expected = pd.concat([formats.parse(formats.get("nginx"), Path(p).read_bytes()) for p in paths],
                         ignore_index=True)
    fields = df.drop(columns=["id", "what", "where"])
    pd.testing.assert_frame_equal(fields, expected[list(fields.columns)])
    assert df["id"].astype(str).tolist() == [r.id for r, p in zip(records, paths)
                                             for _ in Path(p).read_text().splitlines()]


def test_a_zst_file_is_refused_not_read_as_text(lake, lake_url, tmp_path):
    """.zst is not supported (no zstandard library is a dependency): reading one is a
    one-line error, never its compressed bytes taken for lines; it still archives and
    fetches unchanged."""
    packed = b"\x28\xb5\x2f\xfd\x00\x58\x61\x00\x00hello\n"  # a Zstandard frame's magic first
    path = tmp_path / "app.log.zst"
    path.write_bytes(packed)
    rec = lake.push(path, what="app", where="h1", start="2015-03-20", data_version="0")
    refused = "cannot read a .zst file: Zstandard is not supported"
    for call in (lambda: lake.read(what="app", format="lines"),
                 lambda: lake.grep("hello", what="app"),
                 lambda: lake.open(rec.id, decompress=True).read()):
        with pytest.raises(DatalakeError, match=refused):
            call()
    with lake.open(rec.id) as stream:
        assert stream.read() == packed
    assert lake.fetch([rec], dest=tmp_path / "out")[0].read_bytes() == packed
    env = dict(os.environ, DATALAKE_STORAGE_URL=lake_url, DATALAKE_CACHE_DIR=str(tmp_path / "c"))
    done = subprocess.run([sys.executable, "-m", "datalake_nb", "read", "--what", "app",
                           "--format", "lines"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and refused in done.stderr


# -- issue 20 item 13: a read leads with time, where, what; sort="time" ---------------

def test_sort_time_merges_the_hosts_into_one_timeline(local_lake, tmp_path):
    lines = {"web01": ["09:00:05", "09:00:20", "09:00:20"], "web02": ["09:00:10", "09:00:20"]}
    for where, stamps in lines.items():
        text = "".join(f'10.0.0.1 - - [01/Nov/2026:{t} +0000] "GET /{where}/{n} HTTP/1.1" '
                       f'200 1 "-" "c"\n' for n, t in enumerate(stamps))
        local_lake.push(write(tmp_path / f"{where}.log", text + "not a request\n"),
                        what="nginx", where=where, start="2026-11-01T09:00Z",
                        end="2026-11-01T09:59Z", data_version="1", format="nginx")
    by_file = local_lake.read(what="nginx")
    assert list(by_file["where"]) == ["web01"] * 4 + ["web02"] * 3  # file by file
    merged = local_lake.read(what="nginx", sort="time")
    assert list(merged.columns[:3]) == ["time", "where", "what"]
    assert list(merged["path"].iloc[:5]) == ["/web01/0", "/web02/0", "/web01/1", "/web01/2",
                                             "/web02/1"]  # stable: equal times keep file order
    assert merged["time"].iloc[5:].isna().all() and len(merged) == 7  # no time: last
    assert merged.attrs["unparsed"] == 2 and list(merged.index) == list(range(7))
    with pytest.raises(InvalidInput, match="sort: 'where': allowed: 'time'"):
        local_lake.read(what="nginx", sort="where")
    with pytest.raises(InvalidInput, match="no time to sort by"):
        local_lake.read(what="nginx", format="lines", sort="time")


def test_read_sort_on_the_command_line(local_lake, tmp_path, monkeypatch, capsys):
    from datalake_nb.cli import main
    for where, stamp in (("web01", "09:00:30"), ("web02", "09:00:10")):
        local_lake.push(write(tmp_path / f"{where}.log", f'10.0.0.1 - - [01/Nov/2026:{stamp} '
                              f'+0000] "GET /{where} HTTP/1.1" 200 1 "-" "c"\n'),
                        what="nginx", where=where, start="2026-11-01T09:00Z",
                        end="2026-11-01T09:59Z", data_version="1", format="nginx")
    monkeypatch.setenv("DATALAKE_STORAGE_URL", local_lake.url)
    capsys.readouterr()
    assert main(["read", "--what", "nginx", "--sort", "time"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("time,where,what,") and [r.split(",")[1] for r in rows[1:]] == [
        "web02", "web01"]
    assert main(["read", "--what", "nginx", "--sort", "size"]) == 2
    assert "--sort: invalid choice: 'size'" in capsys.readouterr().err
