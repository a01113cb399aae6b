"""Bad input, table-driven: every case is refused by the API with InvalidInput and by
the CLI with exit 2, each time in one line that names what is wrong and what is
allowed, with no traceback, and the lake is byte-for-byte what it was."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from datalake_nb import InvalidInput, Lake
from datalake_nb.cli import main

from support import figures
from support.helpers import snapshot, write

T0, T1 = "2015-03-20T00:00:00Z", "2015-03-20T01:00:00Z"
GOOD = dict(what="nginx", where="web01", start=T0, end=T1, data_version="0", work_id="job-1")
FLAG = {"what": "--what", "where": "--where", "start": "--start", "end": "--end",
        "data_version": "--data-version", "work_id": "--work-id"}
NAMES = "ASCII letters"
TIMES = "ISO 8601"

# (field, value, words the message holds).  Values that are not text reach only the API.
METADATA: list[tuple[str, Any, list[str]]] = [
    *[(f, v, w) for f in ("what", "where") for v, w in [
        ("", ["is required", "1 to 64", NAMES]),
        ("a" * 65, ["65 characters", "at most 64"]),
        ("web/01", ["'/'", NAMES]),
        ("web 01", ["' '", NAMES]),
        ("..", ["'.'", NAMES]),
        ("wéb01", ["'é'", NAMES]),
        ("web\x0001", [NAMES]),
        ("web~01", ["'~'", NAMES]),
        (5, ["expected text", "int"]),
    ]],
    ("what", None, ["is required", "--what", "{what}"]),
    ("where", None, ["is required", "--where", "DATALAKE_DEFAULT_WHERE"]),
    ("what", "nginx.log", ["'.'", "no file extension"]),
    ("data_version", "", ["is required", NAMES]),
    ("data_version", "1" * 33, ["33 characters", "at most 32"]),
    ("data_version", "1.0", ["'.'", NAMES]),
    ("data_version", 1, ["expected text", "int"]),
    ("work_id", "null", ["'null'", "leave it out"]),
    ("work_id", "", ["is empty", "1 to 64"]),
    ("work_id", "j" * 65, ["65 bytes", "at most 64"]),
    ("work_id", "é" * 33, ["66 bytes", "at most 64"]),
    ("work_id", "tab\there", ["control characters", "printable"]),
    ("work_id", " padded", ["surrounding spaces", "printable"]),
    ("work_id", "\udcff", ["printable"]),  # an undecodable byte in argv arrives like this
    ("work_id", 12, ["expected text or None", "int"]),
    *[(f, v, w) for f in ("start", "end") for v, w in [
        ("2015-03-20T00:00:05:32.345Z", ["2015-03-20T00:00:05:32.345Z", TIMES]),  # the seed's
        ("", ["''", TIMES]),
        ("20150320x", ["20150320x", TIMES]),
        ("23:59.114", ["23:59.114", TIMES]),
        ("2015-02-30", ["2015-02-30", "day is out of range"]),
        ("2015-03-20T25:00:00Z", ["hour must be in 0..23"]),
        ("2015-03-20T00:00:00+25:00", ["+25:00", TIMES]),
        ("12345", ["11 or more digits"]),
        ("1969-12-31T23:59:59Z", ["outside 1970-01-01 .. 9999-12-31"]),
        ("10000-01-01", ["10000-01-01", TIMES]),
        ("+3y", ["+3y", TIMES]),
        ("1e12", ["1e12", TIMES]),
        (1.5, ["expected a time", "float"]),
        (True, ["expected a time", "True"]),
        ([T0], ["expected a time", "list"]),
    ]],
    ("start", None, ["no format known to read it from the content", "--start"]),
    ("end", "2015-03-19T23:59:59Z", ["before start", "end must be >= start or omitted"]),
]


def metadata_cases():
    for field, value, words in METADATA:
        fields = {**GOOD, field: value}
        argv = None
        if isinstance(value, str):
            argv = ["push", "{path}"] + [a for k, v in fields.items() for a in (FLAG[k], v)]
        label = field.replace("_", "-") if field == "data_version" else field
        yield pytest.param(lambda lake, path, fields=fields: lake.push(path, **fields), argv,
                           [label, *words], id=f"{field}={value!r}"[:60])


# Storage URLs: (url, words).  The API opens Lake(url); the CLI lists with --storage-url.
URLS = [
    ("ftp://host/lake", ["unknown scheme 'ftp'", "s3://bucket/prefix"]),
    ("http://example.com/lake", ["unknown scheme 'http'"]),
    ("s3://", ["'' is not a valid bucket name", "3-63 lowercase"]),
    ("s3://Bad_Bucket/x", ["'Bad_Bucket'", "3-63 lowercase"]),
    ("s3://ab/x", ["'ab'", "3-63 lowercase"]),
    ("s3://bucket//x", ["plain path"]),
    ("s3://bucket/x?versionId=1", ["plain path"]),
    ("s3://bucket/a/../logs", ["'.' or '..' segments", "s3://bucket/logs"]),
    ("s3://bucket/./logs", ["'.' or '..' segments"]),
    ("s3://bucket/logs/..", ["'.' or '..' segments"]),
    ("s3://bucket/logs/./", ["'.' or '..' segments"]),
    ("s3://bucket/" + "p" * 301, ["at most 300 bytes"]),
    ("file://host/srv/lake", ["file:///absolute/path"]),
    ("", ["is empty", "s3://bucket/prefix"]),
    ("s3://AKIAEXAMPLE:not-a-real-secret@bucket/x", ["***@bucket", "credentials do not belong"]),
    ("s3://AKIAEXAMPLE:not/a-real-secret@bucket/x", ["***@bucket", "credentials do not belong"]),
]

# Config files: (text, words).  Line numbers count from 1; the file's path is named too.
CONFIGS = [
    ("DATALAKE_CONCURRENCY=2\nthis is not a setting\n", ["{conf}:2", "NAME=value"]),
    ("# fine\n\nDATALAKE_PROGRES=on\n", ["{conf}:3", "unknown setting 'DATALAKE_PROGRES'"]),
    ("=value\n", ["{conf}:1", "NAME=value"]),
    ("DATALAKE_S3_RETRY_MODE=legacy\n", ["DATALAKE_S3_RETRY_MODE", "'legacy' from {conf}",
                                         "allowed: standard, adaptive"]),
    ("DATALAKE_CONCURRENCY=0\n", ["DATALAKE_CONCURRENCY", "{conf}", "1..256"]),
    ("DATALAKE_S3_SSE=des\n", ["DATALAKE_S3_SSE", "allowed: aws:kms, AES256"]),
    ("DATALAKE_S3_EXPECTED_BUCKET_OWNER=12\n", ["{conf}", "12-digit AWS account id"]),
    ("DATALAKE_S3_SSE_KMS_KEY_ID=alias/k\n", ["set in {conf}", "only with DATALAKE_S3_SSE=aws:kms"]),
    ("DATALAKE_S3_SSE=aws:kms\nDATALAKE_S3_SSE_KMS_KEY_ID=key id\n", ["'key id'", "KMS key id"]),
    ("DATALAKE_STALE_AGE=soon\n", ["DATALAKE_STALE_AGE", "'soon' from {conf}", "a duration"]),
    ("DATALAKE_S3_READ_TIMEOUT=0\n", ["DATALAKE_S3_READ_TIMEOUT", "'0' from {conf}", "0.1 s to 3600 s"]),
    ("DATALAKE_S3_CONNECT_TIMEOUT=5 fortnights\n", ["DATALAKE_S3_CONNECT_TIMEOUT", "a duration"]),
    ("DATALAKE_PROGRES=on\nDATALAKE_HTTP_URL=http://x\n", ["{conf}:1", "did you mean DATALAKE_PROGRESS?"]),
]

# Command lines that only the CLI has: (argv, words).
COMMAND_LINES = [
    (["push", "{path}", "--where", "w", "--start", T0, "--data-version", "0"], ["--what", "required"]),
    (["push", "--what", "a", "--where", "w", "--start", T0, "--data-version", "0"], ["PATH"]),
    (["list", "--format", "xml"], ["--format", "'xml'", "choose from"]),
    (["list", "--start", T1, "--end", T0], ["end", "before start"]),
    (["list", "--what", "a,b.c"], ["what", "'.'"]),
    (["list", "--work-id", "null"], ["work_id", "'null'"]),
    (["fetch"], ["fetch", "--what"]),
    (["fetch", "0" * 32, "--what", "nginx"], ["either ids or filters"]),
    (["fetch", "0123456789ABCDEF0123456789ABCDEF"], ["id", "32 lowercase hex"]),
    (["cat", "nope"], ["id", "'nope'", "32 lowercase hex"]),
    (["latest"], ["--what", "required"]),
    (["check", "--repair=yes"], ["--repair", "ignored explicit argument"]),
    (["list", "--s3-sse", "des"], ["--s3-sse", "'des'", "choose from"]),
    (["list", "--s3-expected-bucket-owner", "owner"], ["12-digit"]),
    (["list", "--concurrency", "1000"], ["1..256"]),
    (["list", "--s3-read-timeout", "-1"], ["DATALAKE_S3_READ_TIMEOUT", "'-1' from argument"]),
    (["check", "--stale-age", "1 eon"], ["DATALAKE_STALE_AGE", "'1 eon'", "30s, 15m, 12h, 1d"]),
    (["list", "--bogus"], ["unrecognized arguments: --bogus"]),
    (["nosuch"], ["invalid choice: 'nosuch'"]),
]


@pytest.fixture
def world(lake_url, tmp_path, monkeypatch):
    """A lake with one record, a good file to push, and the CLI pointed at that lake."""
    lake = Lake(lake_url, cache_dir=tmp_path / "cache", progress=False)
    lake.push(write(tmp_path / "old.log", "already archived\n"), **GOOD)
    monkeypatch.setenv("DATALAKE_STORAGE_URL", lake_url)
    monkeypatch.setenv("DATALAKE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DATALAKE_PROGRESS", "off")
    monkeypatch.chdir(tmp_path)
    return lake, write(tmp_path / "new.log", "new content\n")


def assert_one_line(message: str, words: list[str]) -> None:
    assert "\n" not in message.strip() and "Traceback" not in message
    for word in words:
        assert word in message, (word, message)


def refused_by_api(call, words) -> None:
    with pytest.raises(InvalidInput) as info:
        call()
    assert_one_line(str(info.value), words)
    figures.add("bad inputs tried")


def refused_by_cli(argv, words, capsys) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (argv, out, err)
    assert err.startswith(("datalake: error: ", "datalake ")) and err.endswith("\n")
    assert_one_line(err, words)
    figures.add("bad inputs tried")


@pytest.mark.parametrize("call, argv, words", list(metadata_cases()))
def test_bad_metadata(world, call, argv, words, capsys):
    lake, path = world
    before = snapshot(lake)
    refused_by_api(lambda: call(lake, path), words)
    if argv is not None:
        refused_by_cli([a.replace("{path}", str(path)) for a in argv], words, capsys)
    assert snapshot(lake) == before


@pytest.mark.parametrize("url, words", URLS, ids=[u[:40] or "empty" for u, _ in URLS])
def test_bad_storage_url(world, url, words, capsys):
    lake, _ = world
    before = snapshot(lake)
    refused_by_api(lambda: Lake(url), ["storage URL", *words])
    refused_by_cli(["list", "--storage-url", url], ["storage URL", *words], capsys)
    assert "not-a-real-secret" not in capsys.readouterr().err
    assert snapshot(lake) == before


@pytest.mark.parametrize("text, words", CONFIGS, ids=[c.split("=")[0][:30] for c, _ in CONFIGS])
def test_bad_config_file(world, text, words, tmp_path, monkeypatch, capsys):
    lake, path = world
    conf = write(tmp_path / "bad.conf", text)
    monkeypatch.setenv("DATALAKE_CONFIG", str(conf))
    before = snapshot(lake)
    words = [w.replace("{conf}", str(conf)) for w in words]
    refused_by_api(lambda: Lake(), words)
    refused_by_cli(["push", str(path), *[a for k, v in GOOD.items() for a in (FLAG[k], v)]],
                   words, capsys)
    assert snapshot(lake) == before


@pytest.mark.parametrize("argv, words", COMMAND_LINES, ids=[" ".join(a)[:40] for a, _ in COMMAND_LINES])
def test_bad_command_line(world, argv, words, capsys):
    lake, path = world
    before = snapshot(lake)
    refused_by_cli([a.replace("{path}", str(path)) for a in argv], words, capsys)
    assert snapshot(lake) == before


def path_cases(tmp_path: Path) -> list[tuple[Any, list[str]]]:
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)
    (tmp_path / "dangling.log").symlink_to(tmp_path / "gone.log")
    return [(tmp_path / "missing.log", ["does not exist", "readable regular file"]),
            (tmp_path / "dangling.log", ["does not exist"]),
            (tmp_path, ["is a folder", "--recursive"]),
            (fifo, ["is not a regular file"]),
            ("", ["expected a file path"]),
            (None, ["expected a file path"])]


def test_bad_paths(world, tmp_path, capsys):
    lake, path = world
    before = snapshot(lake)
    cases = tmp_path / "cases"
    cases.mkdir()
    for bad, words in path_cases(cases):
        refused_by_api(lambda: lake.push(bad, **GOOD), ["path", *words])
        refused_by_api(lambda: lake.push_many([path, bad], **GOOD), ["path", *words])  # checked first
        if bad:
            refused_by_cli(["push", str(path), str(bad), *[a for k, v in GOOD.items()
                                                           for a in (FLAG[k], v)]],
                           ["path", *words], capsys)
    assert snapshot(lake) == before


def unprivileged() -> list[str]:
    """A prefix that makes root obey file permissions (so 'unreadable' means it)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_an_unreadable_file(world, tmp_path):
    lake, path = world
    locked = write(tmp_path / "locked.log", "secret\n")
    locked.chmod(0)
    before = snapshot(lake)
    args = [a for k, v in GOOD.items() for a in (FLAG[k], v)]
    cli = subprocess.run([*unprivileged(), sys.executable, "-m", "datalake_nb", "push", str(path),
                          str(locked), *args], capture_output=True, text=True, timeout=120)
    api = subprocess.run([*unprivileged(), sys.executable, "-c",
                          "import sys\nfrom datalake_nb import Lake, InvalidInput\n"
                          "try:\n    Lake().push(sys.argv[1], **eval(sys.argv[2]))\n"
                          "except InvalidInput as e:\n    print(type(e).__name__, e)\n",
                          str(locked), repr(GOOD)], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and cli.stdout == ""
    assert_one_line(cli.stderr, ["path", "is not readable", "Permission denied"])
    assert api.stdout.startswith("InvalidInput path: ") and "is not readable" in api.stdout
    figures.add("bad inputs tried", 2)
    assert snapshot(lake) == before


def test_an_empty_file_is_a_valid_push(world, tmp_path, capsys):
    lake, _ = world
    empty = write(tmp_path / "empty.log", "")
    rec = lake.push(empty, **{**GOOD, "where": "web02"})
    assert rec.size == 0 and rec.hash == "cae66941d9efbd404e4d88758ea67670"
    assert main(["push", str(empty), *[a for k, v in GOOD.items() for a in (FLAG[k], v)]]) == 0
    assert '"size": 0' in capsys.readouterr().out
    [fetched] = lake.fetch([rec], dest=tmp_path / "out")
    assert fetched.read_bytes() == b""
