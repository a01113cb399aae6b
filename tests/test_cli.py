"""The datalake command line: seed examples, formats, configuration, exit codes.

Most tests run ``cli.main(argv)`` in this process (``run``); a few smoke tests start
the real command in a subprocess (``python -m datalake_nb``: ``run_process`` and others).
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from datalake_nb.cli import main

from support.helpers import write


def _lake_env(tmp_path, lake_url):
    return {"DATALAKE_STORAGE_URL": lake_url, "DATALAKE_CACHE_DIR": str(tmp_path / "cache"),
            "DATALAKE_PROGRESS": "off"}


@pytest.fixture
def run(tmp_path, lake_url, monkeypatch, capsys):
    """Run `datalake` in this process (cli.main) against the test lake; return (code, out, err)."""
    def datalake(*args, extra_env=None, cwd=None):
        capsys.readouterr()
        with monkeypatch.context() as patch:
            for name, value in {**_lake_env(tmp_path, lake_url), **(extra_env or {})}.items():
                patch.setenv(name, value)
            patch.chdir(cwd or tmp_path)
            code = main([str(arg) for arg in args])
        out, err = capsys.readouterr()
        return code, out, err
    return datalake


@pytest.fixture
def run_process(tmp_path, lake_url):
    """Run `datalake` in a subprocess against the test lake; return (code, out, err)."""
    env = dict(os.environ, **_lake_env(tmp_path, lake_url))

    def datalake(*args, extra_env=None, cwd=None):
        proc = subprocess.run([sys.executable, "-m", "datalake_nb", *map(str, args)],
                              capture_output=True, text=True, env={**env, **(extra_env or {})},
                              cwd=cwd or tmp_path, timeout=120)
        return proc.returncode, proc.stdout, proc.stderr
    return datalake


def assert_user_error(result, *words):
    code, out, err = result
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word in err


def listed(run):
    code, out, err = run("list", "--output", "json")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_seed_examples(run_process, tmp_path):
    """In a subprocess, as a user runs it (a smoke test of the real command)."""
    run = run_process
    log = write(tmp_path / "nginx.log", "GET /\n")
    # The seed's first example has end "2015-03-20T23:59.114Z": minutes with a fraction are
    # not a time we read, so it fails clearly; with the seconds written out it works.
    assert_user_error(run("push", "--start", "2015-03-20T00:05:32.345Z", "--end",
                          "2015-03-20T23:59.114Z", "--where", "webserver01", "--what", "nginx",
                          log, "--data-version", "0"), "end", "2015-03-20T23:59.114Z")
    code, out, err = run("push", "--start", "2015-03-20T00:05:32.345Z", "--end",
                         "2015-03-20T23:59:59.114Z", "--where", "webserver01", "--what", "nginx",
                         log, "--data-version", "0")
    assert code == 0, err
    record = json.loads(out)
    assert record["start"] == 1426809600000 + 5 * 60_000 + 32_345 and record["end"] == 1426895999114
    # The second example's start has an extra ':' field: a clear error, nothing written.
    assert_user_error(run("push", "--start", "2015-03-20T00:00:05:32.345Z", "--end",
                          "2015-03-20T00:00:34.114Z", "--what", "blappo-etl", "--where", "backend01",
                          "--data-version", "0", "--work-id", "blappo-14321359", log),
                      "start", "2015-03-20T00:00:05:32.345Z")
    etl = write(tmp_path / "etl.log", "etl\n")
    code, _, err = run("push", "--start", "2015-03-20T00:00:05.345Z", "--end",
                       "2015-03-20T00:00:34.114Z", "--what", "blappo-etl", "--where", "backend01",
                       "--data-version", "0", "--work-id", "blappo-14321359", etl)
    assert code == 0, err
    syslog = write(tmp_path / "syslog", "boot\n")
    assert run("push", "--what", "syslog", "--where", "webserver01", "--start", "2015-03-21",
               "--data-version", "0", syslog)[0] == 0
    # list example, with `date -u` unquoted as the shell would split it
    date_u = subprocess.run(["date", "-u"], capture_output=True, text=True, timeout=120).stdout.split()
    code, out, err = run("list", "--where", "webserver01", "--start", "2015-03-20", "--end",
                         *date_u, "--what", "syslog,foobar")
    assert code == 0, err
    assert "syslog" in out and "nginx" not in out
    # fetch example (the seed's whats: gather, etl, cleanup)
    code, out, err = run("fetch", "--what", "gather,blappo-etl,cleanup", "--work-id",
                         "blappo-14321359", "--dest", tmp_path / "got")
    assert code == 0, err
    [path] = out.splitlines()
    assert open(path).read() == "etl\n"


def test_list_formats(run, tmp_path):
    run("push", "--what", "nginx", "--where", "web01", "--start", "2015-03-20T10:00:00Z",
        "--end", "2015-03-20T11:00:00Z", "--data-version", "0", "--work-id", "w-1",
        write(tmp_path / "a.log", "abc"))
    [row] = listed(run)
    assert set(row) == {"version", "start", "end", "work_id", "where", "what", "data-version",
                        "id", "hash", "size", "url"}
    assert row["size"] == 3 and row["work_id"] == "w-1"
    code, out, _ = run("list", "--output", "csv")
    [csv_row] = list(csv.DictReader(io.StringIO(out)))
    assert csv_row["id"] == row["id"] and csv_row["data-version"] == "0"
    code, out, _ = run("list", "--output", "url")
    assert out.strip() == row["url"]
    code, out, err = run("list")
    assert row["id"] in out and "2015-03-20T10:00:00.000Z" in out and "1 file(s), 3 B" in out
    code, out, _ = run("catalog", "--output", "json")
    assert json.loads(out) == {"nginx": ["web01"]}
    code, out, _ = run("latest", "--what", "nginx")
    assert json.loads(out)["id"] == row["id"]
    code, out, _ = run("cat", row["id"])
    assert out == "abc"


def test_relative_times(run, tmp_path):
    run("push", "--what", "app", "--where", "h1", "--start", "-2h", "--end", "now",
        "--data-version", "0", write(tmp_path / "a.log", "x"))
    assert len(listed(run)) == 1
    code, out, _ = run("list", "--start", "-1h", "--output", "json")
    assert len(out.splitlines()) == 1
    code, out, _ = run("list", "--end", "-3h", "--output", "json")
    assert out == ""


@pytest.mark.parametrize("args,words", [
    (["push", "--what", "nginx.log", "--where", "w", "--start", "now", "--data-version", "0", "F"],
     ["what", "'.'"]),
    (["push", "--what", "n", "--where", "web 01", "--start", "now", "--data-version", "0", "F"],
     ["where"]),
    (["push", "--what", "n", "--where", "w", "--start", "now", "--data-version", "0",
      "--work-id", "null", "F"], ["work_id", "null"]),
    (["push", "--what", "n", "--where", "w", "--start", "2015-03-20", "--end", "2015-03-19",
      "--data-version", "0", "F"], ["end", "before start"]),
    (["push", "--what", "n", "--where", "w", "--start", "20150320x", "--data-version", "0", "F"],
     ["start", "20150320x"]),
    (["push", "--what", "n", "--where", "w", "--start", "now", "--data-version", "0", "missing"],
     ["path", "does not exist"]),
    (["push", "--what", "n", "--start", "now", "--data-version", "0", "F"], ["--where"]),
    (["list", "--bogus"], ["unrecognized", "--bogus"]),
    (["list", "--output", "xml"], ["output", "xml"]),
    (["list", "--format", "xml"], ["format", "xml"]),
    (["fetch"], ["fetch", "ids"]),
    (["cat", "nope"], ["id", "nope"]),
    (["nosuch"], ["nosuch"]),
    (["list", "--storage-url", "ftp://x/y"], ["scheme", "ftp"]),
])
def test_user_mistakes_exit_2_with_one_line(run, tmp_path, lake_url, args, words):
    write(tmp_path / "F", "data")
    assert_user_error(run(*args), *words)
    assert listed(run) == []


def test_failures_exit_1(run, run_process, lake_url):
    for runner in (run, run_process):
        code, out, err = runner("latest", "--what", "nothing")
        assert code == 1 and "no nothing files" in err and "Traceback" not in err


def test_an_error_shows_a_path_unchanged(run, tmp_path):
    """Regression: errors are worded from their fields, never by editing their text."""
    missing = tmp_path / "srv" / "datalake" / "missing.log"
    code, out, err = run("push", missing, "--what", "a", "--where", "b", "--start", "now",
                         "--data-version", "0")
    assert code == 2 and out == ""
    assert err.startswith("datalake push: error: path: ") and repr(str(missing)) in err


def test_config_precedence_and_sources(run, tmp_path, monkeypatch):
    conf = write(tmp_path / "datalake.conf",
                 "# test\nDATALAKE_CONCURRENCY=3\nDATALAKE_FETCH_DIR=/from/file\n"
                 "DATALAKE_S3_RETRY_MODE=adaptive\nAWS_SECRET_ACCESS_KEY=super-secret-value\n")
    code, out, err = run("config", "--concurrency", "5",
                         extra_env={"DATALAKE_CONFIG": str(conf), "DATALAKE_FETCH_DIR": "/from/env"})
    assert code == 0, err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows["DATALAKE_CONCURRENCY"] == ["5", "argument"]
    assert rows["DATALAKE_FETCH_DIR"] == ["/from/env", "environment"]
    assert rows["DATALAKE_S3_RETRY_MODE"] == ["adaptive", str(conf)]
    assert rows["AWS_SECRET_ACCESS_KEY"][:2] == ["(set,", "hidden)"]
    assert "super-secret-value" not in out + err


def test_config_file_bad_line(run, tmp_path):
    conf = write(tmp_path / "bad.conf", "DATALAKE_CONCURRENCY=2\nthis is not a setting\n")
    assert_user_error(run("config", extra_env={"DATALAKE_CONFIG": str(conf)}), f"{conf}:2")


def test_default_lake_location_is_reported(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATALAKE_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(tmp_path / "xdg"))
    out = subprocess.run([sys.executable, "-m", "datalake_nb", "config"], capture_output=True,
                         text=True, env=env, check=True, timeout=120).stdout
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows["DATALAKE_STORAGE_URL"] == [str(tmp_path / "xdg" / "datalake_nb" / "lake"), "default"]


def test_help_documents_every_setting_and_stays_light():
    from datalake_nb.config import SETTINGS
    code = ("import sys, io, contextlib\nfrom datalake_nb.cli import main\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n"
            "    try: main(['config', '--help'])\n"
            "    except SystemExit: pass\n"
            "print(buf.getvalue())\n"
            "print('HEAVY', sorted(m for m in ('pandas', 'boto3', 'botocore') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    for setting in SETTINGS:  # by its option, or its variable when it has none
        assert f"  {setting.flag or setting.name} " in out
    assert "HEAVY []" in out


@pytest.mark.parametrize("times, reads", [(["--start", "2015-03-20", "--end", "2015-03-21"], False),
                                          (["--format", "nginx"], True)])
def test_a_push_imports_pandas_only_to_read_the_file(tmp_path, times, reads):
    """A push with its times given reads no line, so it does without pandas (a third of
    a small push's start-up); one that takes its times from the content needs it."""
    log = write(tmp_path / "a.log", '1.2.3.4 - - [20/Mar/2015:10:00:00 +0000] "GET / HTTP/1.1" '
                                     '200 1 "-" "x"\n')
    argv = ["push", str(log), "--what", "nginx", "--where", "web01", "--data-version", "0",
            "--storage-url", str(tmp_path / "lake"), *times]
    code = ("import sys\nfrom datalake_nb.cli import main\n"
            f"code = main({argv!r})\n"
            "print('EXIT', code, 'PANDAS', 'pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.splitlines()[-1] == f"EXIT 0 PANDAS {reads}"


def test_an_empty_list_says_why_on_stderr(run, tmp_path, lake_url):
    """Issue 11 item 3: a what or where the catalog does not know gets a did-you-mean (one
    line on stderr, so a pipe gets only the data); an empty S3 prefix says no lake is there."""
    code, out, err = run("list")  # an empty lake (a local one is an empty folder)
    assert code == 0 and out == "0 file(s), 0 B\n"
    assert err.startswith("datalake list: ") and "no lake there yet" in err
    assert len(err.splitlines()) == 1
    if lake_url.startswith("s3://"):
        assert err.startswith(f"datalake list: nothing is stored under {lake_url}")
    else:  # a local folder that is not there is an error, not an empty lake
        code, out, err = run("list", "--storage-url", str(tmp_path / "typo-lake"))
        assert code == 1 and out == "" and err.startswith("datalake: no lake at ")
    run("push", "--what", "nginx", "--where", "web01", "--start", "2015-03-20",
        "--data-version", "0", write(tmp_path / "a.log", "abc"))
    code, out, err = run("list", "--what", "ngnix")
    assert (code, out) == (0, "0 file(s), 0 B\n")
    assert err == "datalake list: no what 'ngnix' in this lake; did you mean 'nginx'?\n"
    code, out, err = run("list", "--what", "nginx", "--where", "web1", "--output", "json")
    assert (code, out) == (0, "")
    assert err == "datalake list: no where 'web1' for nginx; did you mean 'web01'?\n"
    code, out, err = run("list", "--what", "nginx", "--start", "2030-01-01")  # known names
    assert (code, out, err) == (0, "0 file(s), 0 B\n", "")
    code, out, err = run("list", "--what", "nginx", "--output", "url")  # found: no remark
    assert code == 0 and out.startswith(("file://", "s3://")) and err == ""


def test_csv_has_the_frames_columns_in_their_order(run, tmp_path):
    from datalake_nb.output import COLUMNS
    run("push", "--what", "nginx", "--where", "web01", "--start", "2015-03-20",
        "--data-version", "0", write(tmp_path / "a.log", "abc"))
    code, out, _ = run("list", "--output", "csv")
    assert code == 0 and out.splitlines()[0].split(",") == COLUMNS
    assert COLUMNS[:7] == ["what", "where", "start", "end", "size", "work_id", "data-version"]
    assert COLUMNS[-3:] == ["id", "hash", "url"] and "ext" in COLUMNS


@pytest.mark.parametrize("command", ["list", "catalog"])
def test_the_old_output_option_still_works_for_a_release_and_says_so(run, tmp_path, command):
    """--format was the output's name in list and catalog; it means the parser elsewhere."""
    run("push", "--what", "nginx", "--where", "web01", "--start", "2015-03-20",
        "--data-version", "0", write(tmp_path / "a.log", "abc"))
    new = run(command, "--output", "json")
    old = run(command, "--format", "json")
    assert old[:2] == new[:2] and new[2] == ""
    assert old[2] == (f"datalake {command}: warning: --format json is now --output json "
                      "(--format will name the parser, as in push and read)\n")
