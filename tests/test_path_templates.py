"""Metadata from paths (issue 19, item 2): --path-template / --path-regex, push --recursive,
--skip-unmatched and --dry-run."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from datalake_nb.core.errors import InvalidInput
from datalake_nb.ingest.templates import compile_regex, compile_template

SAMPLES = Path(__file__).parent.parent / "samples" / "logs"
ROTATED = "{where}/{what}/{what}.log-{start:%Y%m%d}.gz"
DAY = pd.Timestamp("2026-11-01", tz="UTC").value // 10**6


def ms(text: str) -> int:
    return pd.Timestamp(text).value // 10**6


def test_a_template_matches_the_end_of_a_path_or_a_key():
    t = compile_template(ROTATED)
    want = {"where": "web01", "what": "nginx", "start": DAY}
    assert t.fields("/srv/logs/web01/nginx/nginx.log-20261101.gz") == want
    assert t.fields("logs/web01/nginx/nginx.log-20261101.gz") == want
    assert t.fields("web01/nginx/nginx.log-20261101.gz") == want
    assert t.fields("logs/web01/nginx/syslog.log-20261101.gz") is None  # {what} twice differs
    assert t.fields("logs/web01/nginx/nginx.log-20261101") is None
    assert t.fields("xweb01/nginx/nginx.log-2026110.gz") is None


def test_every_field_and_ignored_text():
    t = compile_template("/var/log/{what}/{where}/{data_version}/{work_id}/"
                         "{_}_{start:%Y-%m-%dT%H}~{end:%Y-%m-%dT%H%M}.log")
    got = t.fields("/var/log/app/api01/v2/deploy-42/anything here_2026-11-01T09~2026-11-01T1030.log")
    assert got == {"what": "app", "where": "api01", "data_version": "v2", "work_id": "deploy-42",
                   "start": ms("2026-11-01T09:00Z"), "end": ms("2026-11-01T10:30Z")}


def test_a_regex_says_what_a_template_cannot():
    r = compile_regex(r"(?P<where>[a-z0-9]+)\.example\.com/(?P<what>[a-z]+)-(?P<start>[0-9]{8})")
    assert r.fields("/srv/web01.example.com/nginx-20261101.log") == {
        "where": "web01", "what": "nginx", "start": DAY}
    with pytest.raises(InvalidInput, match="unknown group"):
        compile_regex("(?P<host>.*)")


@pytest.mark.parametrize("template, words", [
    ("{where}/{host}.log", ["unknown field {host}", "{what}"]),
    ("{where}/{what", ["unmatched brace"]),
    ("{what:%Y}", ["only start and end take a format"]),
    ("{start:%Q}.log", ["%Q", "not a date directive"]),
    ("", ["is empty"]),
])
def test_template_mistakes_are_one_line(template, words):
    with pytest.raises(InvalidInput) as caught:
        compile_template(template)
    assert all(w in str(caught.value) for w in words) and "\n" not in str(caught.value)


def test_a_where_the_lake_cannot_hold_says_which_character_and_how_to_map_it():
    t = compile_template("{where}/{what}.log")
    with pytest.raises(InvalidInput) as caught:
        t.fields("/logs/web.example.com/nginx.log")
    message = str(caught.value)
    assert message.startswith("where:") and "'.'" in message and "web.example.com" in message
    assert "{where}.{_}" in message and "'web'" in message


def tree(root: Path) -> Path:
    """A logrotate-style tree: <host>/<service>/<service>.log-YYYYMMDD.gz (and one stray)."""
    for host, hours in (("web01", ("09", "10")), ("web02", ("11",))):
        for day, hour in enumerate(hours, start=1):  # web01's second file: dated a day late
            src = SAMPLES / "rotated" / f"web03_nginx_2026-11-01T{hour}.log.gz"
            dest = root / host / "nginx" / f"nginx.log-2026110{day}.gz"
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(src.read_bytes())
    (root / "web01" / "nginx" / "README").write_text("not a log\n")
    return root


def test_a_file_dated_by_its_rotation_day_says_so(local_lake, tmp_path):
    root = tree(tmp_path / "logs")
    with pytest.raises(InvalidInput) as caught:
        local_lake.push_paths([root], path_template=ROTATED, recursive=True, data_version="1",
                              format="nginx", skip_unmatched=True)
    message = str(caught.value)
    assert "nginx.log-20261102.gz" in message and "from the path" in message
    assert "{_}" in message and local_lake.list().empty


def test_recursive_push_with_a_date_in_the_path_and_times_from_the_content(local_lake, tmp_path):
    root = tree(tmp_path / "logs")
    (root / "web01" / "nginx" / "nginx.log-20261102.gz").unlink()
    with pytest.raises(InvalidInput, match=r"1 file\(s\) do not match.*README"):
        local_lake.push_paths([root], path_template=ROTATED, recursive=True,
                              data_version="1", format="nginx")
    assert local_lake.list().empty  # listed before anything was uploaded
    dry = local_lake.push_paths([root], path_template=ROTATED, recursive=True, data_version="1",
                                format="nginx", skip_unmatched=True, dry_run=True)
    assert len(dry) == 2 and dry.skipped == [str(root / "web01" / "nginx" / "README")]
    assert local_lake.list().empty and local_lake.formats().empty  # a dry run uploads nothing
    pushed = local_lake.push_paths([root], path_template=ROTATED, recursive=True,
                                   data_version="1", format="nginx", skip_unmatched=True)
    assert [r.id for r in pushed] == [r.id for r in dry]
    assert sorted({r.where for r in pushed}) == ["web01", "web02"]
    for rec in pushed:  # start from the path (the day), end from the content
        assert rec.start == DAY
        assert rec.end == local_lake.read([rec], format="nginx")["time"].max().value // 10**6


def test_options_win_over_the_path(local_lake, tmp_path):
    root = tree(tmp_path / "logs")
    pushed = local_lake.push_paths([root / "web02"], path_template=ROTATED, recursive=True,
                                   where="override", data_version="1", start="2026-10-31",
                                   end="2026-11-05", skip_unmatched=True)
    assert {(r.where, r.start, r.end) for r in pushed} == {
        ("override", ms("2026-10-31T00:00Z"), ms("2026-11-05T00:00Z"))}


def test_without_a_format_a_date_in_the_path_is_a_snapshot(local_lake, tmp_path):
    root = tree(tmp_path / "logs")
    pushed = local_lake.push_paths([root / "web01"], path_template=ROTATED, recursive=True,
                                   data_version="7", skip_unmatched=True)
    assert {r.end for r in pushed} == {None}


def test_a_folder_without_recursive_says_so(local_lake, tmp_path):
    with pytest.raises(InvalidInput, match="--recursive"):
        local_lake.push_paths([tree(tmp_path / "logs")], path_template=ROTATED)


def test_cli_recursive_dry_run_then_push(tmp_path):
    root = tree(tmp_path / "logs")
    (root / "web01" / "nginx" / "nginx.log-20261102.gz").unlink()
    env = dict(os.environ, DATALAKE_STORAGE_URL=str(tmp_path / "lake"), DATALAKE_PROGRESS="off")
    argv = [sys.executable, "-m", "datalake_nb", "push", "--recursive", str(root),
            "--path-template", ROTATED, "--data-version", "1", "--format", "nginx"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "README" in done.stderr and done.stdout == ""
    done = subprocess.run(argv + ["--skip-unmatched", "--dry-run"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ID ") and "2 file(s)" in done.stdout
    assert "skipped 1 file(s)" in done.stderr and "nothing was uploaded" in done.stderr
    assert not (tmp_path / "lake").exists() or not any((tmp_path / "lake").rglob("*.gz"))
    done = subprocess.run(argv + ["--skip-unmatched"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2 and "skipped 1 file(s)" in done.stderr
