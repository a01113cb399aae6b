"""The one argument definition shared by the ``datalake`` CLI and ``%lake``.

``parse(argv)`` gives a Namespace; ``execute(args)`` runs it against a Lake
and returns Python values (records, paths, ...).  Each face renders them its
own way, so an option added here exists in both.
"""
from __future__ import annotations

import argparse
import os
import re
from typing import Any, Callable, Sequence

from . import logs
from .core import times
from .config import SETTINGS, Config, config_files, resolve
from .core.errors import InvalidInput

FORMATS = ("table", "json", "csv", "url")
TIME_OPTIONS = ("--start", "--end")
_DATE_U = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)$")


class UsageProblem(InvalidInput):
    """A malformed command line (unknown option, missing value, ...); field is the program."""

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageProblem(self.prog, f"{message} (see {self.prog} --help)")


def _settings_epilog() -> str:
    lines = ["configuration (argument > environment variable > config file):"]
    for setting in SETTINGS:
        flag = setting.flag or "(no option)"
        lines.append(f"  {setting.name:<24} {flag:<16} {setting.help}")
    files = ", ".join(str(p) for p, _ in config_files({})[:2])
    lines += ["", f"config files hold NAME=value lines: {files}, then $DATALAKE_CONFIG.",
              "", "times: " + times.HELP + "."]
    return "\n".join(lines)


def _settings_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = parent.add_argument_group("configuration")
    for setting in SETTINGS:
        if setting.flag:
            group.add_argument(setting.flag, dest=setting.name, metavar="VALUE",
                               choices=setting.choices, help=f"{setting.help} [{setting.name}]")
    return parent


def _filters(parser: argparse.ArgumentParser, what_required: bool = False) -> None:
    group = parser.add_argument_group("filters")
    group.add_argument("--what", required=what_required,
                       help="program(s) that made the files, comma-separated: nginx,syslog")
    group.add_argument("--where", help="host(s) the files came from, comma-separated")
    group.add_argument("--start", help="only files that cover time at or after this")
    group.add_argument("--end", help="only files that cover time at or before this")
    group.add_argument("--work-id", dest="work_id", help="only files with this work id")


def build_parser(prog: str = "datalake") -> Parser:
    settings = _settings_parent()
    common = dict(parents=[settings], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser = Parser(prog=prog, description="Archive log files with uniform metadata in S3 or a "
                    "local folder; list, fetch and read them back.", epilog=_settings_epilog(),
                    **common)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    push = sub.add_parser("push", help="archive files", description="Archive files with metadata; "
                          "prints each record as one JSON line.", **common)
    push.add_argument("paths", nargs="+", metavar="PATH", help="file(s) to archive")
    push.add_argument("--what", required=True, help="program that made the file (no extension)")
    push.add_argument("--where", required=True, help="host or place the file came from")
    push.add_argument("--start", required=True, help="time of the first event in the file")
    push.add_argument("--end", help="time of the last event (omit for a snapshot)")
    push.add_argument("--data-version", dest="data_version", required=True,
                      help="version of the file's format")
    push.add_argument("--work-id", dest="work_id", help="application id to find the file by later")

    lst = sub.add_parser("list", help="list archived files", description="List the files that "
                         "match, sorted by start.", **common)
    _filters(lst)
    lst.add_argument("--format", choices=FORMATS, default="table",
                     help="table (for people), json (one object per line), csv, url")

    fetch = sub.add_parser("fetch", help="download files", description="Download matching files "
                           "(or the given ids), verify their hashes, print one path per line.",
                           **common)
    fetch.add_argument("ids", nargs="*", metavar="ID", help="record ids (instead of filters)")
    _filters(fetch)
    fetch.add_argument("--dest", help="folder to write into (default: DATALAKE_FETCH_DIR)")

    latest = sub.add_parser("latest", help="the newest file of a what", description="Print the "
                            "record of the newest file of --what (from --where).", **common)
    latest.add_argument("--what", required=True, help="program that made the file")
    latest.add_argument("--where", help="host(s), comma-separated")

    cat = sub.add_parser("cat", help="print files to stdout", description="Write the content of "
                         "the files with these ids to standard output.", **common)
    cat.add_argument("ids", nargs="+", metavar="ID", help="record ids")

    catalog = sub.add_parser("catalog", help="which whats and wheres exist",
                             description="Print each what and the wheres it came from.", **common)
    catalog.add_argument("--format", choices=("table", "json"), default="table",
                         help="table or json")

    check = sub.add_parser("check", help="find (and repair) damage", description="Compare the "
                           "data objects with the index entries and report what disagrees: data "
                           "without a record, missing or dangling work/catalog entries; exit "
                           "status 1 while problems are left.", **common)
    check.add_argument("--repair", action="store_true", help="write missing index entries and "
                       "delete index entries whose data is gone (never data)")
    check.add_argument("--delete-orphans", dest="delete_orphans", action="store_true",
                       help="delete keys that are no record (data the lake cannot list)")
    check.add_argument("--deep", action="store_true", help="also read every object: compare its "
                       "stored JSON record (S3) and hash its bytes (downloads the whole lake)")

    sub.add_parser("config", help="show the effective settings", description="Print every "
                   "setting, its value and where it came from (secrets are never shown).",
                   **common)
    return parser


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """Let time options take values that look like options ('-2h') or span
    several words (the output of `date -u`, unquoted as in the seed's example)."""
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        token = items[i]
        if token in TIME_OPTIONS and i + 1 < len(items):
            value, words = items[i + 1], items[i + 1:i + 7]
            if len(words) == 6 and _DATE_U.match(value) and words[4] in ("UTC", "GMT"):
                out.append(f"{token}={' '.join(words)}")
                i += 7
                continue
            if value.startswith("-") and value[1:2].isdigit():
                out.append(f"{token}={value}")
                i += 2
                continue
        out.append(token)
        i += 1
    return out


def parse(argv: Sequence[str], prog: str = "datalake") -> argparse.Namespace:
    return build_parser(prog).parse_args(normalize_argv(argv))


def settings_from(args: argparse.Namespace) -> dict[str, Any]:
    return {s.name: getattr(args, s.name) for s in SETTINGS if s.flag and hasattr(args, s.name)}


def secrets(config: Config) -> list[str]:
    """The values no output may show: secret settings, and a session token if there is one."""
    values = [config[s.name] or "" for s in SETTINGS if s.secret]
    return [*values, os.environ.get("AWS_SESSION_TOKEN", "")]


def execute(args: argparse.Namespace, lake_factory: Callable[..., Any] | None = None) -> Any:
    """Run a parsed command; returns records, paths, a catalog or config rows."""
    config = resolve(settings_from(args))
    logs.configure(config["DATALAKE_LOG_LEVEL"] or "warning", secrets(config))
    if args.command == "config":
        return config.describe()
    if lake_factory is None:
        from .lake import Lake
        lake = Lake(config=config)
    else:
        lake = lake_factory(config)
    filters = {k: getattr(args, k, None) for k in ("what", "where", "start", "end", "work_id")}
    if args.command == "push":
        paths = args.paths[0] if len(args.paths) == 1 else args.paths  # one path: one record
        return lake.push(paths, what=args.what, where=args.where, start=args.start,
                         end=args.end, data_version=args.data_version, work_id=args.work_id)
    if args.command == "list":
        return lake.records(**filters)
    if args.command == "fetch":
        if args.ids and any(v is not None for v in filters.values()):
            raise InvalidInput("fetch", "give either ids or filters, not both")
        if not args.ids and all(v is None for v in filters.values()):
            raise InvalidInput("fetch", "give ids or at least one of --what, --where, --start, "
                                        "--end, --work-id (fetching the whole lake is not a default)")
        return lake.fetch(args.ids or lake.records(**filters), dest=args.dest)
    if args.command == "latest":
        return lake.latest(args.what, args.where)
    if args.command == "cat":
        return [lake.open(record_id) for record_id in args.ids]
    if args.command == "catalog":
        return lake.catalog()
    if args.command == "check":
        return lake.check(repair=args.repair, delete_orphans=args.delete_orphans, deep=args.deep)
    raise AssertionError(f"unknown command {args.command}")
