"""`datalake grep`, `read` and `format` (and `push --format`, `cat` of a .gz) through the
command line, in-process; grep's lines agree with GNU grep run on the fetched files."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from datalake_nb import Lake
from datalake_nb.cli import main

from support.damage import DAMAGED, damaged_file

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "logs"
NGINX = sorted(SAMPLES.glob("*_nginx_*.log"))


@pytest.fixture
def cli_lake(tmp_path, monkeypatch):
    """A local lake with the sample nginx logs, pushed through the CLI with --format."""
    monkeypatch.setenv("DATALAKE_STORAGE_URL", str(tmp_path / "lake"))
    monkeypatch.setenv("DATALAKE_CACHE_DIR", str(tmp_path / "cache"))
    for path in NGINX:
        host, _, hour = path.stem.split("_")
        assert main(["push", str(path), "--what", "nginx", "--where", host, "--data-version", "1",
                     "--start", f"{hour}:00:00Z", "--end", f"{hour}:59:59.999Z",
                     "--format", "nginx"]) == 0
    gz = sorted((SAMPLES / "rotated").glob("*.log.gz"))[0]
    assert main(["push", str(gz), "--what", "nginxgz", "--where", "web03", "--data-version", "1",
                 "--start", "2026-11-01T09:00Z", "--end", "2026-11-01T09:59:59.999Z"]) == 0
    return Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache")


def run(capsys, *argv):
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_push_format_records_the_parser_and_format_list_shows_it(cli_lake, capsys):
    code, out, _ = run(capsys, "format", "list")
    assert code == 0 and out.split("\n")[1].split() == ["nginx", "1", "nginx"]
    code, out, _ = run(capsys, "format", "set", "nginxgz", "1", "lines")
    assert code == 0 and "nginxgz" in out


@pytest.mark.skipif(shutil.which("grep") is None, reason="GNU grep is not installed")
@pytest.mark.parametrize("flags", [[], ["-i"], ["-v"], ["-F"]])
def test_grep_matches_gnu_grep_on_the_fetched_files(cli_lake, capsys, tmp_path, flags):
    pattern = "GET /api/orders/" if "-F" in flags else r'" 50[0-9] '
    if "-i" in flags:
        pattern = "get /LOGIN"
    code, out, _ = run(capsys, "grep", pattern, "--what", "nginx", *flags)
    assert code == 0
    lines = out.splitlines()
    paths = cli_lake.fetch(cli_lake.list(what="nginx"), dest=tmp_path / "fetched")
    expected = subprocess.run(["grep", "-h", *flags, "-e", pattern, *map(str, paths)],
                              capture_output=True, text=True, timeout=120).stdout.splitlines()
    # where:what:start:line_number:line -- the log line last and unchanged
    assert sorted(line.split(":", 4)[4] for line in lines) == sorted(expected)
    assert all(line.split(":")[0] in ("web01", "web02") and line.split(":")[1] == "nginx"
               for line in lines)
    counted = run(capsys, "grep", pattern, "--what", "nginx", "-c", *flags)[1].splitlines()
    assert sum(int(line.rsplit(":", 1)[1]) for line in counted) == len(expected)


def test_grep_l_lists_ids_and_no_match_is_exit_1(cli_lake, capsys):
    code, out, _ = run(capsys, "grep", "/login", "--what", "nginx", "-l")
    assert code == 0 and set(out.split()) <= set(cli_lake.list(what="nginx")["id"])
    assert run(capsys, "grep", "no such text anywhere", "--what", "nginx")[0] == 1


def test_read_prints_the_rows_of_lake_read(cli_lake, capsys):
    window = ["--start", "2026-11-01T09:30Z", "--end", "2026-11-01T10:15Z"]
    code, out, _ = run(capsys, "read", "--what", "nginx", *window)
    assert code == 0
    printed = pd.read_csv(io.StringIO(out))
    expected = cli_lake.read(what="nginx", start=window[1], end=window[3])
    assert len(printed) == len(expected) > 0
    assert list(printed.columns[:3]) == ["time", "where", "what"]
    assert list(printed.columns[-2:]) == ["line_number", "id"]
    assert list(printed["time"]) == [t.strftime("%Y-%m-%dT%H:%M:%S.000Z") for t in expected["time"]]
    code, out, _ = run(capsys, "read", "--what", "nginx", "--output", "jsonl", *window)
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(expected) and rows[0]["status"] in (200, 201, 204, 301, 302, 304,
                                                                400, 401, 403, 404, 500, 502, 503)
    unclipped = run(capsys, "read", "--what", "nginx", "--no-clip", *window)[1]
    assert len(pd.read_csv(io.StringIO(unclipped))) > len(expected)


def test_cat_decompresses_unless_raw(cli_lake, capsysbinary):
    rec_id = cli_lake.list(what="nginxgz")["id"][0]
    assert main(["cat", rec_id]) == 0
    assert capsysbinary.readouterr().out.startswith(b"10.")  # text, not gzip bytes
    assert main(["cat", rec_id, "--raw"]) == 0
    assert capsysbinary.readouterr().out[:2] == b"\x1f\x8b"  # the stored gzip bytes


@pytest.mark.parametrize("argv,words", [
    (["grep", "(unclosed", "--what", "nginx"], ["pattern", "(unclosed"]),
    (["read", "--what", "nginx", "--format", "nosuch"], ["format", "nosuch"]),
    (["format", "set", "nginx", "1"], ["format set", "WHAT DATA_VERSION FORMAT"]),
    (["format", "set", "nginx", "1", "nosuch"], ["format", "nosuch"]),
    (["push", str(NGINX[0]), "--what", "x", "--where", "h", "--start", "2026-11-01",
      "--data-version", "1", "--format", "nosuch"], ["format", "nosuch"]),
])
def test_reading_mistakes_are_one_line_and_exit_2(cli_lake, capsys, argv, words):
    before = len(cli_lake.list())
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert all(word in err for word in words), err
    assert len(cli_lake.list()) == before  # nothing was pushed


@pytest.mark.parametrize("ext,compress,damage,cause", DAMAGED)
def test_a_damaged_compressed_file_is_one_line_and_exit_1(tmp_path, ext, compress, damage, cause):
    """cat, grep and read of a file damaged before its push, as separate processes."""
    env = dict(os.environ, DATALAKE_STORAGE_URL=str(tmp_path / "lake"),
               DATALAKE_CACHE_DIR=str(tmp_path / "cache"), DATALAKE_PROGRESS="off")

    def datalake(*argv):
        proc = subprocess.run([sys.executable, "-m", "datalake_nb", *argv], env=env,
                              capture_output=True, timeout=120)
        return proc.returncode, proc.stdout, proc.stderr.decode()

    path = damaged_file(tmp_path, ext, compress, damage)
    code, out, err = datalake("push", str(path), "--what", "nginx", "--where", "h1", "--start",
                              "2026-11-01T09Z", "--data-version", "1", "--format", "nginx")
    assert code == 0, err
    rec_id = json.loads(datalake("list", "--output", "json")[1])["id"]
    for argv in (["cat", rec_id], ["grep", "GET", "--what", "nginx"],
                 ["grep", "-v", "-F", "GET", "--what", "nginx"], ["read", "--what", "nginx"]):
        code, out, err = datalake(*argv)
        assert code == 1 and "Traceback" not in err and err.count("\n") == 1, (argv, err)
        assert f"(id {rec_id}): cannot decompress ({ext[4:]})" in err, (argv, err)
        assert "damaged before it was pushed" in err
    code, out, err = datalake("cat", "--raw", rec_id)
    assert code == 0 and out == path.read_bytes()


def test_grep_patterns_that_gnu_grep_would_misread(cli_lake, capsys, tmp_path):
    """A pattern with a line end, or one that looks like an option, is searched for as it is."""
    lines = ["plain line", "-e dash", "a", "b", "ab"]
    (tmp_path / "odd.log").write_text("\n".join(lines) + "\n")
    assert main(["push", str(tmp_path / "odd.log"), "--what", "odd", "--where", "h1", "--start",
                 "2026-11-01", "--data-version", "1"]) == 0
    found = lambda out: [line.split(":", 4)[4] for line in out.splitlines()]
    code, out, _ = run(capsys, "grep", "-v", "-F", "a\nb", "--what", "odd")
    assert code == 0 and found(out) == lines  # no line holds a line end
    code, out, _ = run(capsys, "grep", "-v", "a\nb", "--what", "odd")
    assert code == 0 and found(out) == lines
    assert run(capsys, "grep", "a\nb", "--what", "odd")[0] == 1  # nothing matched
    code, out, _ = run(capsys, "grep", "-F", "--what", "odd", "--", "-e")
    assert code == 0 and found(out) == ["-e dash"]


def test_grep_prints_a_line_that_is_not_utf8_as_its_bytes(tmp_path):
    """Issue 18, item 2: the line's own bytes reach stdout, as GNU grep prints them."""
    env = dict(os.environ, DATALAKE_STORAGE_URL=str(tmp_path / "lake"),
               DATALAKE_CACHE_DIR=str(tmp_path / "cache"), DATALAKE_PROGRESS="off")
    line = b'1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "-" "Mo\xffzilla"'
    (tmp_path / "bad.log").write_bytes(b"first line\n" + line + b"\r\nlast\n")

    def datalake(*argv):
        return subprocess.run([sys.executable, "-m", "datalake_nb", *argv], env=env,
                              capture_output=True, timeout=120)

    assert datalake("push", str(tmp_path / "bad.log"), "--what", "nginx", "--where", "h1",
                    "--start", "2015-05-17T10Z", "--data-version", "1",
                    "--format", "nginx").returncode == 0
    for argv in (["zilla"], ["-v", "first"], ["-F", "Mo\ufffdzilla"]):
        proc = datalake("grep", *argv, "--what", "nginx")
        assert proc.returncode == 0, proc.stderr
        printed = proc.stdout.split(b"\n")[0]
        assert printed.endswith(b":2:" + line), (argv, printed)


def test_format_set_takes_the_parameters_and_list_shows_them(cli_lake, capsys, tmp_path):
    spec = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
            '"$http_referer" "$http_user_agent" "$http_x_forwarded_for"')
    (tmp_path / "x.log").write_text('10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" '
                                    '200 12 "-" "curl/8" "10.9.9.9"\n')
    assert main(["push", str(tmp_path / "x.log"), "--what", "proxy", "--where", "h1", "--start",
                 "2026-11-01T10Z", "--data-version", "1"]) == 0
    code, out, _ = run(capsys, "format", "set", "proxy", "1", "nginx", f"log_format={spec}")
    assert code == 0
    code, out, _ = run(capsys, "format", "list")
    assert f"proxy  1             nginx log_format={spec!r}" in out
    code, out, _ = run(capsys, "read", "--what", "proxy")
    assert code == 0 and out.splitlines()[0].endswith(",http_x_forwarded_for,unparsed,"
                                                      "line_number,id")
    assert ",10.9.9.9,,1," in out.splitlines()[1]
    code, _, err = run(capsys, "format", "set", "proxy", "1", "nginx", "oops")
    assert code == 2 and "'oops': a parameter is NAME=VALUE" in err and err.count("\n") == 1


def test_format_detect_a_local_file_and_a_record(cli_lake, capsys, tmp_path):
    code, out, _ = run(capsys, "format", "detect", str(NGINX[0]))
    assert code == 0 and out.splitlines()[1].split()[:2] == ["nginx", "100%"]
    assert out.splitlines()[-1] == "nginx (100% of the first 100 lines)"
    rec_id = cli_lake.list(what="nginxgz")["id"].iloc[0]  # a .gz: its content is detected
    code, out, _ = run(capsys, "format", "detect", rec_id)
    assert code == 0 and out.splitlines()[-1].startswith("nginx (100% of the first")
    (tmp_path / "text.txt").write_text("hello\nworld\n")
    code, out, _ = run(capsys, "format", "detect", str(tmp_path / "text.txt"))
    assert out.splitlines()[-1] == "lines (no format reads 90% of the first 2 lines)"
    code, _, err = run(capsys, "format", "detect", "nosuchfile.log")
    assert code == 2 and "'nosuchfile.log' is no file here and no record id" in err
