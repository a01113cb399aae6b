"""Tab completion of %lake through IPython's own completer: subcommands, options from the
command table's parsers, option choices, and the lake's whats and wheres from a catalog
cached per session lake (a Tab never waits on a hung endpoint)."""
from __future__ import annotations

import time
import types

from IPython.core.completer import provisionalcompleter

from datalake_nb.commands import COMMANDS

from support.helpers import until, write

BOUND = 30  # seconds: a bound on a hang, not a benchmark


def completions(ip, text, cursor=None):
    cursor = len(text) if cursor is None else cursor
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(text, cursor)]


def test_subcommands(ip):
    assert completions(ip, "%lake ") == [*COMMANDS, "use", "pick"]
    assert completions(ip, "%lake ca") == ["cat", "catalog"]
    assert completions(ip, "%lake li") == ["list"]
    assert completions(ip, "%%lake li") == ["list"]  # a cell magic's first line
    assert completions(ip, "%%lake list\n--out") == ["--output", "--out"]  # and its body


def test_options_come_from_the_commands_parser(ip):
    assert completions(ip, "%lake list --w") == ["--what", "--where", "--work-id"]
    found = completions(ip, "%lake list --")
    assert found[:6] == ["--what", "--where", "--start", "--end", "--work-id", "--output"]
    assert "--format" not in found  # its old name, still taken for a release
    assert "--storage-url" in found and "--out" in found and "--dest" not in found
    found = completions(ip, "%lake fetch --d")
    assert found[0] == "--dest" and sorted(found[1:]) == ["--dask-scheduler", "--default-where"]
    assert completions(ip, "%lake list --what nginx --w") == ["--where", "--work-id"]  # not twice
    assert completions(ip, "%lake list --output ") == ["table", "json", "csv", "url"]
    assert completions(ip, "%lake catalog --output j") == ["json"]


def test_whats_and_wheres_from_the_lake(ip, filled):
    # the first Tab waits 0.5 s at most for the catalog (a loaded machine's S3 may take longer)
    assert until(lambda: completions(ip, "%lake list --what ") == ["nginx", "syslog"], BOUND)
    assert completions(ip, "%lake list --what ng") == ["nginx"]
    assert completions(ip, "%lake fetch --what nginx,") == ["syslog"]  # a comma list goes on
    assert completions(ip, "%lake list --what=sys") == ["syslog"]
    assert completions(ip, "%lake list --where ") == ["web01", "web02"]
    assert completions(ip, "%lake list --what syslog --where ") == ["web01"]  # of that what
    assert completions(ip, "df = %lake list --what s") == ["syslog"]
    assert completions(ip, "%%lake list -o df\n# a comment\n--what syslog\n--where ") == ["web01"]
    line = "%lake list --what n --start -1d"
    assert completions(ip, line, cursor=len("%lake list --what n")) == ["nginx"]


def test_other_code_completes_as_before(ip):
    ip.user_ns["lake_value"] = 1
    assert "lake_value" in completions(ip, "lake_v")
    assert "real" in completions(ip, "lake_value.re")


def test_a_push_brings_new_names_without_a_wait(ip, filled, tmp_path):
    assert "fresh" not in completions(ip, "%lake list --what ")
    path = write(tmp_path / "f.log", "f\n")
    ip.run_line_magic("lake", f"push {path} --what fresh --where h9 --start now --data-version 0")
    deadline = time.monotonic() + BOUND  # read again in the background after the command
    while "fresh" not in completions(ip, "%lake list --what "):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert completions(ip, "%lake list --what fresh --where ") == ["h9"]


def test_a_hung_endpoint_never_makes_a_tab_wait(ip, silent):
    """The catalog of a lake whose endpoint accepts connections and never answers: each Tab
    comes back at once (no names yet); the command itself reports the endpoint."""
    ip.run_line_magic("lake", "use s3://nobucket/x")
    for _ in range(3):
        started = time.monotonic()
        found = completions(ip, "%lake list --what ")
        assert time.monotonic() - started < 5  # WAIT_S is 0.5 s; the endpoint hangs 10 s
        assert "nginx" not in found
    assert completions(ip, "%lake list --o") == ["--output", "--out"]  # still completes


def test_the_catalog_is_read_again_after_a_minute(ip, filled, lake_url, tmp_path, monkeypatch):
    """Names pushed behind the session's back (another process) show once the cached
    catalog is older than FRESH_S (60 s): the clock is injected, nothing sleeps."""
    from datalake_nb import Lake
    from datalake_nb.notebook import completion
    now = [1000.0]
    monkeypatch.setattr(completion, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    assert until(lambda: completions(ip, "%lake list --what ") == ["nginx", "syslog"], BOUND)
    Lake(lake_url, cache_dir=tmp_path / "other").push(
        write(tmp_path / "late.log", "late\n"), what="late", where="h7", start="2015-03-20",
        data_version="0")
    now[0] += completion.FRESH_S - 1
    assert completions(ip, "%lake list --what ") == ["nginx", "syslog"]  # fresh: not read
    now[0] += 2
    assert until(lambda: "late" in completions(ip, "%lake list --what "), BOUND)  # read again
    assert completions(ip, "%lake list --what late --where ") == ["h7"]
