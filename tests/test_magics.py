"""%lake / %%lake in a real IPython shell: same parser as the CLI, values back."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from IPython.core.error import UsageError

from datalake_nb import Lake
from datalake_nb.cli import main
from datalake_nb.config import BY_NAME
from datalake_nb.commands import COMMANDS, build_parser, parse, subparsers

from support.helpers import write
from support.s3servers import lake_kinds, selected_backends


def cell(ip, source):
    result = ip.run_cell(source)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result


def test_load_is_quiet_and_registers_both_magics(tmp_path):
    code = ("from IPython.testing.globalipapp import start_ipython\nip = start_ipython()\n"
            "ip.run_line_magic('load_ext', 'datalake_nb')\n"
            "m = ip.magics_manager.magics\nassert 'lake' in m['line'] and 'lake' in m['cell']\n"
            "ip.run_line_magic('unload_ext', 'datalake_nb')\n"
            "assert 'lake' not in m['line'] and 'lake' not in m['cell']\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""


def test_list_returns_the_dataframe(ip, filled, lake_url, tmp_path):
    cell(ip, "df = %lake list --what nginx --start 2015-03-20")
    df = ip.user_ns["df"]
    assert isinstance(df, pd.DataFrame)
    expected = Lake(lake_url, cache_dir=tmp_path / "c2").list(what="nginx", start="2015-03-20")
    pd.testing.assert_frame_equal(df, expected)


def test_cell_magic_options_comments_and_out(ip, filled):
    cell(ip, "host = 'web01'\nwhats = 'nginx,syslog'")
    cell(ip, "%%lake list -o picked\n# long queries stay readable\n--what {whats}   # two whats\n"
             "--where $host\n--start 2015-03-20T00:00Z --end 2015-03-21\n")
    assert sorted(ip.user_ns["picked"]["what"]) == ["nginx", "syslog"]
    assert set(ip.user_ns["picked"]["where"]) == {"web01"}


def test_fetch_push_latest_catalog_cat_values(ip, filled, tmp_path):
    dest = tmp_path / "got"
    paths = ip.run_line_magic("lake", f"fetch --what nginx --dest {dest}")
    assert [p.read_text() for p in paths] == ["nginx web01\n", "nginx web02\n"]
    new = write(tmp_path / "new.log", "fresh\n")
    rec = ip.run_line_magic("lake", f"push {new} --what app --where h1 --start now --data-version 1")
    assert rec.what == "app" and rec.size == 6
    assert ip.run_line_magic("lake", "latest --what app").id == rec.id
    assert ip.run_line_magic("lake", "catalog")["app"] == ["h1"]
    assert ip.run_line_magic("lake", f"cat {rec.id}") == "fresh\n"
    config = ip.run_line_magic("lake", "config")
    assert list(config.columns) == ["name", "value", "source"]


@pytest.mark.parametrize("line,words", [
    ("list --bogus", ["unrecognized", "--bogus"]),
    ("list --start 2015-03-20T00:00:05:32.345Z", ["start", "2015-03-20T00:00:05:32.345Z"]),
    ("list --what nginx.log", ["what", "'.'"]),
    ("push /nonexistent --what a --where b --start now --data-version 0", ["path", "does not exist"]),
    ("nosuch", ["invalid choice"]),
    ("use", ["use"]),
    ("list -o", ["-o"]),
    ("list --what 'unclosed", ["closing quotation"]),
])
def test_mistakes_raise_usage_error(ip, line, words):
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("lake", line)
    message = str(info.value)
    assert "\n" not in message.strip()
    for word in words:
        assert word in message
    result = ip.run_cell(f"%lake {line}\nafter = 1")
    assert isinstance(result.error_in_exec, UsageError)
    assert "after" not in ip.user_ns  # the cell stopped: Run All stops here too


def test_a_setting_flag_after_use_keeps_the_used_lake(ip, filled, tmp_path):
    """Regression: `%lake use B` then a command with a setting flag still queries B; the
    flag changes only what it names."""
    other = tmp_path / "lake-b"
    rec = Lake(str(other), cache_dir=tmp_path / "cache-b").push(
        write(tmp_path / "b.log", "b\n"), what="only-in-b", where="h", start="2015-03-20",
        data_version="0")
    ip.run_line_magic("lake", f"use {other}")
    frame = ip.run_line_magic("lake", "list --concurrency 4")
    assert list(frame["id"]) == [rec.id]
    config = ip.run_line_magic("lake", "config --concurrency 4").set_index("name")
    assert config.loc["DATALAKE_STORAGE_URL", "value"] == str(other)
    assert config.loc["DATALAKE_CONCURRENCY", "value"] == "4"
    default = BY_NAME["DATALAKE_CONCURRENCY"].default
    assert default != "4"
    assert ip.run_line_magic("lake", "config").set_index("name").loc[
        "DATALAKE_CONCURRENCY", "value"] == default  # one command's flag, not the session's


def test_an_error_shows_a_path_unchanged(ip, tmp_path):
    """Regression: a path with "datalake" in it is shown as it is (no text replacement)."""
    missing = tmp_path / "srv" / "datalake" / "missing.log"
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("lake", f"push {missing} --what a --where b --start now --data-version 0")
    assert str(info.value).startswith("%lake push: path: ")
    assert repr(str(missing)) in str(info.value)


def test_use_switches_the_session_lake(ip, filled, tmp_path):
    other = tmp_path / "other-lake"
    ip.run_line_magic("lake", f"use {other}")
    with pytest.raises(UsageError, match="no lake at"):  # a typo'd folder is not an empty lake
        ip.run_line_magic("lake", "list")
    other.mkdir()
    assert ip.run_line_magic("lake", "list").empty
    config = ip.run_line_magic("lake", "config").set_index("name")
    assert config.loc["DATALAKE_STORAGE_URL", "value"] == str(other)


def test_config_traits_set_the_default_lake(ip, filled, tmp_path):
    other = tmp_path / "configured"
    other.mkdir()
    ip.run_line_magic("config", f"LakeMagics.storage_url = {str(other)!r}")
    assert ip.run_line_magic("lake", "list").empty
    assert ip.run_line_magic("lake", "config").set_index("name").loc[
        "DATALAKE_STORAGE_URL", "value"] == str(other)


def test_help_names_every_command_and_each_shows_its_options(ip, capsys):
    doc = ip.find_line_magic("lake").__doc__
    for command in COMMANDS.values():  # every command of the table, and what it returns
        assert f"\n  {command.name} " in doc
        assert command.returns.partition(" (")[0] in doc and f"%lake {command.name}" in doc
    for form in ("use URL", "-o NAME", "%%lake", "config -h"):
        assert form in doc
    assert ip.run_line_magic("lake", "list --help") is None
    assert "--output" in capsys.readouterr().out


# Every option of every CLI command, with a value that works in a small lake. The
# parity test below fails when the CLI grows an option this table does not exercise.
OPTION_VALUES = {
    "--what": "nginx", "--where": "web01", "--start": "2015-03-20", "--end": "2015-03-21",
    "--work-id": "w-web01", "--format": "json", "--data-version": "0",
    "--repair": None, "--delete-orphans": None, "--deep": None,  # flags without a value
    "--raw": None, "--ignore-case": None, "--fixed-strings": None, "--invert-match": None,
    "--count": None, "--files-with-matches": None, "--no-clip": None, "--output": "jsonl",
    "--text": None, "--path-template": "{what}.log", "--path-regex": r"(?P<what>p)\.log$",
    "--recursive": None, "--skip-unmatched": None, "--dry-run": None,
    "--source-endpoint-url": "", "--source-profile": "",
    "--yes": None, "--older-than": "400d",
    "--once": None, "--log-format": "json", "--rescan": "0.5s", "--grace": "5s",
    "--path": "/var/log/x.log", "--sort": "time",
    "--every": "1h", "--pattern": "no-such-text",  # hist: the small lake's lines have no time
    "--after-context": "1", "--before-context": "1", "--context": "1",
}
FORMAT_VALUES = {"list": "json", "catalog": "json", "push": "lines", "read": "lines",
                 "import": "lines", "enqueue": "lines", "recipe": "nginx",
                 "hist": "lines"}
OUTPUT_VALUES = {"list": "json", "catalog": "json", "read": "jsonl", "spool": "json",
                 "hist": "csv"}


def cli_options():
    """Each (command, --option) of the command table, as the CLI's parser has it."""
    sub = subparsers(build_parser())
    assert list(sub) == list(COMMANDS)
    for name, command in sub.items():
        for action in command._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    yield name, flag


def setting_values(lake_url: str, tmp_path) -> dict[str, str]:
    """A value for each setting's option that works in the small lake at ``lake_url``."""
    return {"--storage-url": lake_url, "--cache-dir": str(tmp_path / "c3"),
            "--fetch-dir": str(tmp_path / "f3"), "--concurrency": "3", "--progress": "off",
            "--part-concurrency": "2",
            "--s3-retry-mode": "adaptive", "--endpoint-url": os.environ.get("AWS_ENDPOINT_URL", ""),
            "--aws-profile": "", "--aws-region": "us-east-1", "--s3-sse": "AES256",
            "--log-level": "warning",  # debug is tested in test_security (a subprocess)
            "--s3-sse-kms-key-id": "alias/datalake-test",
            "--s3-expected-bucket-owner": "123456789012",
            "--s3-connect-timeout": "3s", "--s3-read-timeout": "4", "--stale-age": "2d",
            "--s3-data-plane": "boto3",
            "--dask-scheduler": "", "--default-where": "web01",
            "--spool-dir": str(tmp_path / "spool3"),
            "--spool-max-bytes": "10MiB",
            "--gcs-endpoint-url": "http://127.0.0.1:9",  # only gs:// lakes use it
            "--azure-endpoint-url": "http://127.0.0.1:9"}


def command_args(command: str, flag: str | None, filled, tmp_path) -> list[str]:
    """What ``command`` needs beside ``flag`` to run in the small lake (``flag`` None: the
    setting options, which every command takes alike)."""
    args = {"push": [str(write(tmp_path / "p.log", "p")), "--what", "p", "--where", "h",
                     "--start", "2015-03-20", "--data-version", "0"],
            "fetch": ["--what", "nginx"], "latest": ["--what", "nginx"],
            "cat": [filled[0].id], "grep": ["web01"], "format": ["list"],
            "read": [] if flag == "--format" else ["--format", "nginx"] if flag == "--sort"
            else ["--format", "lines"],
            "enqueue": [str(write(tmp_path / "q.log", "q")), "--what", "q", "--where", "h",
                        "--start", "2015-03-20", "--data-version", "0"],
            "upload": ["--once"], "recipe": ["logrotate"],
            "hist": ["--pattern", "no-such-text", "--format", "lines"],
            "rm": ["--what", "nginx", "--dry-run"],  # a dry run: both faces see the same
            "expire": ["--older-than", "1d", "--dry-run"]}.get(command, [])
    if flag in ("--what", "--where", "--start", "--data-version") and command in ("push",
                                                                              "enqueue"):
        args = [a for i, a in enumerate(args) if a != flag and (i == 0 or args[i - 1] != flag)]
    if flag == "--what" and command in ("fetch", "latest"):
        args = []
    if command == "import":  # keys the template does not match: the same report twice
        source = tmp_path / "imp"
        write(source / "p.log", "p")
        args = [str(source)] + ([] if flag in ("--path-template", "--path-regex") else
                                ["--path-template", "{where}/{what}.nomatch"])
    return args


@pytest.mark.parametrize("lake_url", lake_kinds(selected_backends(), slow=True), indirect=True)
def test_every_cli_option_is_accepted_by_the_magic(ip, filled, lake_url, tmp_path, request, capsys):
    """Parity: each option of each command parses and runs the same in %lake and the CLI
    (cli.main in this process: the entry point has its own smoke test in test_cli).  A
    command's own options run one at a time; its setting options run together on one
    line (both faces turn them into settings alike, in commands.run)."""
    from datalake_nb.config import SETTINGS
    settings = setting_values(lake_url, tmp_path)
    setting_flags = {s.flag for s in SETTINGS if s.flag}
    # --aws-profile: a named profile must exist in ~/.aws (the empty value is boto3's
    # default); --source-*: an S3 source's own (test_import imports through them).
    skipped = {"--aws-profile", "--source-endpoint-url", "--source-profile"}
    on_weed = "seaweedfs" in request.node.name
    checked = set()

    def same_on_both_faces(line: list[str]) -> None:
        magic_value = ip.run_line_magic("lake", " ".join(map(repr_arg, line)))
        capsys.readouterr()
        code = main(line)
        stdout, stderr = capsys.readouterr()
        assert code == 0, (line, stderr)
        assert shown_by_the_cli(line, magic_value) == comparable(line, stdout), line  # the same value

    options: dict[str, list[str]] = {}
    for command, flag in cli_options():
        options.setdefault(command, []).append(flag)
    for command, flags in options.items():
        for flag in flags:
            if flag in setting_flags or flag in skipped:
                continue
            value = (str(tmp_path / "dest") if flag == "--dest" else FORMAT_VALUES[command]
                     if flag == "--format" else OUTPUT_VALUES[command] if flag == "--output"
                     else OPTION_VALUES[flag])
            same_on_both_faces([command, *command_args(command, flag, filled, tmp_path), flag,
                                *([] if value is None else [value])])
            checked.add((command, flag))
        together = [f for f in flags if f in setting_flags and f not in skipped
                    and f != "--s3-sse-kms-key-id"]
        same_on_both_faces([command, *command_args(command, None, filled, tmp_path),
                            *(word for f in together for word in (f, settings[f]))])
        checked.update((command, f) for f in together)
        if "--s3-sse-kms-key-id" in flags and not (command == "push" and on_weed):
            # a KMS key goes with aws:kms only (weed mini has no KMS: SSE-KMS writes fail
            # there, see test_security)
            same_on_both_faces([command, *command_args(command, None, filled, tmp_path),
                                "--s3-sse", "aws:kms", "--s3-sse-kms-key-id",
                                settings["--s3-sse-kms-key-id"]])
            checked.add((command, "--s3-sse-kms-key-id"))
    kms_on_weed = {("push", "--s3-sse-kms-key-id")} if on_weed else set()
    assert checked | kms_on_weed == {(c, f) for c, f in cli_options() if f not in skipped}


def shown_by_the_cli(line: list[str], value: object) -> str:
    """What the CLI prints for the value ``%lake`` returned for ``line``: the value turned
    back into the command's own (where the notebook face changed it), then shown by the
    command table's terminal face."""
    args = parse(line)
    command = COMMANDS[args.command]
    if args.command == "cat":
        return str(value)
    if args.command in ("list", "rm", "expire") and isinstance(value, pd.DataFrame):  # same rows?
        ids = "\n".join(value["id"])
        return ids + "\n" if ids else ""
    if args.command == "list" and args.output == "json":
        return "".join(json.dumps(row) + "\n" for row in value)
    if args.command == "list":
        return value if args.output == "csv" else "".join(f"{url}\n" for url in value)
    if args.command == "grep" and args.files:
        return "".join(f"{record_id}\n" for record_id in value)
    if args.command == "grep" and args.count:
        return "".join(f"{row.where}:{row.what}:{row.count}\n" for row in value.itertuples())
    if args.command == "push" and not isinstance(value, list):
        value = [value]
    if args.command == "config":
        value = [tuple(row) for row in value.itertuples(index=False)]
    out = io.StringIO()
    command.show(value, args, out)
    return out.getvalue()


def comparable(line: list[str], stdout: str) -> str:
    """The CLI's output, with what ``shown_by_the_cli`` cannot rebuild left out: the table
    of ``list`` becomes its ids, ``grep -c`` lines lose the file's start."""
    args = parse(line)
    if args.command in ("rm", "expire") or (args.command == "list" and args.output == "table"):
        return "".join(f"{record_id}\n" for record_id in re.findall(r"^([0-9a-f]{32})  ", stdout, re.M))
    if args.command == "grep" and args.count:
        return "".join(f"{where}:{what}:{count}\n" for where, what, _, count in
                       (row.split(":") for row in stdout.splitlines()))
    return stdout


def repr_arg(text: str) -> str:
    import shlex
    return shlex.quote(text)
