"""The command table: every command of ``datalake`` and ``%lake``, in one place.

Each ``Command`` holds its arguments, ``run(session, args) -> value`` (which calls the
engine), and how each face shows the value: ``show`` writes it to a terminal and gives
the exit status, ``notebook`` turns it into what ``%lake`` returns.  The CLI's parser,
``%lake`` (and its ``%lake?`` help) and the parity test are all built from ``COMMANDS``,
so adding a command is one entry here.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import re
import shutil
import textwrap
from typing import Any, Callable, Sequence, TextIO

from . import hints, logs
from .config import SETTINGS, Config, brief
from .core import times
from .core.errors import InvalidInput
from .core.metadata import Record
from .core.redact import password_of
from .output import (human_size, json_line, records_table, same_bytes_remark, table,
                     write_csv)
from .engine.progress import ProgressArg

LIST_OUTPUTS = ("table", "json", "csv", "url")  # --output of list
TIME_OPTIONS = ("--start", "--end")
FILTERS = ("what", "where", "start", "end", "work_id")
_DATE_U = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)$")


class UsageProblem(InvalidInput):
    """A malformed command line (unknown option, missing value, ...); field is the program."""

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageProblem(self.prog, f"{message} (see {self.prog} --help)")


class Session:
    """What a command runs against: a resolved configuration, and its Lake, made on first
    use unless the face hands in one it keeps (the ``%lake`` session lake).  ``progress``
    makes the progress callback of each long operation (the face decides how it looks)."""

    def __init__(self, config: Config, lake: Any = None,
                 progress: Callable[[], ProgressArg] = lambda: None):
        self.config, self._lake, self.progress = config, lake, progress

    @property
    def lake(self) -> Any:
        if self._lake is None:
            from .lake import Lake  # `datalake config` and `--help` never need one
            self._lake = Lake(config=self.config)
        return self._lake


@dataclasses.dataclass(frozen=True)
class Command:
    name: str
    help: str                                          # one line in `datalake --help`
    description: str                                   # the command's own --help
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Session, argparse.Namespace], Any]  # calls the engine, returns a value
    show: Callable[[Any, argparse.Namespace, TextIO], int]  # terminal: write; exit status
    notebook: Callable[[Any, argparse.Namespace], Any] = lambda value, args: value
    returns: str = ""                                  # what %lake gives back (for %lake?)
    example: str = ""                                  # one typical use, without the program
    # A one-line remark beside the value (why a list is empty): the CLI writes it on stderr,
    # %lake shows it in the cell's output; each face puts its own name in front.
    remark: Callable[[Any, argparse.Namespace], "str | None"] = lambda value, args: None
    notebook_help: str = ""  # ``help`` in notebook words, where the CLI's says "print"


# -- arguments ----------------------------------------------------------------

def _filters(parser: argparse.ArgumentParser, what_required: bool = False) -> None:
    group = parser.add_argument_group("filters")
    group.add_argument("--what", required=what_required,
                       help="program(s) that made the files, comma-separated: nginx,syslog")
    group.add_argument("--where", help="host(s) the files came from, comma-separated")
    group.add_argument("--start", help="only files that cover time at or after this")
    group.add_argument("--end", help="only files that cover time at or before this")
    group.add_argument("--work-id", dest="work_id", help="only files with this work id")


def _push_arguments(push: argparse.ArgumentParser) -> None:
    push.add_argument("paths", nargs="+", metavar="PATH",
                      help="file(s) to archive (folders too, with --recursive)")
    push.add_argument("--what", help="program that made the file (no extension); required "
                      "unless the path template gives it")
    push.add_argument("--where", help="host or place the file came from (default: "
                      "DATALAKE_DEFAULT_WHERE; without it, required)")
    push.add_argument("--start", help="time of the first event, or mtime (the file's "
                      "modification time); default: the earliest event time in the file, read "
                      "with --format (or the lake's format)")
    push.add_argument("--end", help="time of the last event, or mtime; default: the latest "
                      "event time in the file when --start is left out, else none (a snapshot)")
    push.add_argument("--data-version", dest="data_version",
                      help="version of the file's format; required unless the path template "
                           "gives it")
    push.add_argument("--work-id", dest="work_id", help="application id to find the file by later")
    push.add_argument("--format", dest="format_name", metavar="FORMAT",
                      help="the files' parser (their times are read with it), also recorded "
                           "in the lake for this what and data version: auto, lines, nginx, "
                           "syslog, jsonl, csv, ... (see `format`)")
    paths = push.add_argument_group("many files: metadata from their paths")
    pattern = paths.add_mutually_exclusive_group()
    pattern.add_argument("--path-template", dest="path_template", metavar="TEMPLATE",
                         help="fields from the end of each path: {what}, {where}, {work_id}, "
                              "{data_version}, {start:%%Y-%%m-%%d}, {end:...}, {_} (any text in "
                              "one segment), e.g. '{where}/{what}/{what}.log-{start:%%Y%%m%%d}.gz'; "
                              "options given win over the path, the path over the content")
    pattern.add_argument("--path-regex", dest="path_regex", metavar="REGEX",
                         help="a Python regular expression with named groups of those names")
    paths.add_argument("-r", "--recursive", action="store_true",
                       help="push every file under each folder PATH")
    paths.add_argument("--skip-unmatched", dest="skip_unmatched", action="store_true",
                       help="skip (and count) files the template does not match (without "
                            "it: nothing is pushed, exit 2)")
    paths.add_argument("--dry-run", dest="dry_run", action="store_true",
                       help="show the records it would push; upload nothing")


def _import_arguments(imp: argparse.ArgumentParser) -> None:
    imp.add_argument("source", metavar="SOURCE",
                     help="the archive: s3://bucket/prefix or a local folder (only read)")
    pattern = imp.add_mutually_exclusive_group(required=True)
    pattern.add_argument("--path-template", dest="path_template", metavar="TEMPLATE",
                         help="fields from the end of each key, as in push: "
                              "'{where}/{what}/{what}.log-{start:%%Y%%m%%d}.gz'")
    pattern.add_argument("--path-regex", dest="path_regex", metavar="REGEX",
                         help="a Python regular expression with named groups (what, where, ...)")
    for flag, dest, text in (("--what", "what", "program that made the files"),
                             ("--where", "where", "host they came from"),
                             ("--start", "start", "start of every file (default: key, content)"),
                             ("--end", "end", "end of every file (default: key, content)"),
                             ("--data-version", "data_version", "version of their format"),
                             ("--work-id", "work_id", "work id of every file")):
        imp.add_argument(flag, dest=dest, help=f"{text}; wins over the key")
    imp.add_argument("--format", dest="format_name", metavar="FORMAT",
                     help="the parser of the files, for their times (also recorded in the lake)")
    imp.add_argument("--source-endpoint-url", dest="source_endpoint_url", metavar="URL",
                     help="S3 endpoint of the source (default: AWS's, or $AWS_ENDPOINT_URL)")
    imp.add_argument("--source-profile", dest="source_profile", metavar="PROFILE",
                     help="AWS profile with the source's credentials (default: the usual chain)")


def _import(session: Session, args: argparse.Namespace) -> Any:
    return session.lake.import_archive(
        args.source, path_template=args.path_template, path_regex=args.path_regex,
        format=args.format_name, source_endpoint_url=args.source_endpoint_url,
        source_profile=args.source_profile, progress=session.progress(), what=args.what,
        where=args.where, start=args.start, end=args.end, data_version=args.data_version,
        work_id=args.work_id)


def _output(parser: argparse.ArgumentParser, choices: Sequence[str], help: str) -> None:
    """--output (what the text looks like; --format names the parser everywhere), and its
    old name --format, kept hidden for one release: ``run`` warns when it is used."""
    parser.add_argument("--output", choices=choices, default=choices[0], help=help)
    parser.add_argument("--format", dest="old_output", choices=choices, help=argparse.SUPPRESS)


def _list_arguments(lst: argparse.ArgumentParser) -> None:
    _filters(lst)
    _output(lst, LIST_OUTPUTS, "table (for people), json (one object per line), csv, url")


def _fetch_arguments(fetch: argparse.ArgumentParser) -> None:
    fetch.add_argument("ids", nargs="*", metavar="ID", help="record ids (instead of filters)")
    _filters(fetch)
    fetch.add_argument("--dest", help="folder to write into (default: DATALAKE_FETCH_DIR)")


def _latest_arguments(latest: argparse.ArgumentParser) -> None:
    latest.add_argument("--what", required=True, help="program that made the file")
    latest.add_argument("--where", help="host(s), comma-separated")


def _cat_arguments(cat: argparse.ArgumentParser) -> None:
    cat.add_argument("ids", nargs="+", metavar="ID", help="record ids")
    cat.add_argument("--raw", action="store_true",
                     help="the stored bytes as they are (default: .gz, .bz2, .xz decompressed)")


def _grep_arguments(grep: argparse.ArgumentParser) -> None:
    grep.add_argument("pattern", metavar="PATTERN",
                      help="a regular expression (Python re syntax), or text with -F")
    _filters(grep)
    options = grep.add_argument_group("matching and output (as GNU grep's)")
    options.add_argument("-i", "--ignore-case", dest="ignore_case", action="store_true",
                         help="ignore case")
    options.add_argument("-F", "--fixed-strings", dest="fixed", action="store_true",
                         help="PATTERN is plain text, not a regular expression")
    options.add_argument("-v", "--invert-match", dest="invert", action="store_true",
                         help="the lines that do not match")
    options.add_argument("-a", "--text", dest="text", action="store_true",
                         help="print the lines of a binary file (one with a NUL byte) too, "
                              "not 'Binary file ... matches'")
    for short, long, dest, words in (("-A", "--after-context", "after", "after"),
                                     ("-B", "--before-context", "before", "before"),
                                     ("-C", "--context", "context", "before and after")):
        options.add_argument(short, long, dest=dest, type=int, metavar="NUM",
                             help=f"NUM lines of context {words} each match ('--' between "
                                  "groups; context lines as where:what:start-N-line)")
    shown = options.add_mutually_exclusive_group()
    shown.add_argument("-c", "--count", dest="count", action="store_true",
                       help="per file with a match: where:what:start:count")
    shown.add_argument("-l", "--files-with-matches", dest="files", action="store_true",
                       help="only the ids of the files with a match (for `cat` or `fetch`)")


def _read_arguments(read: argparse.ArgumentParser) -> None:
    _filters(read)
    read.add_argument("--format", dest="format_name", metavar="FORMAT",
                      help="the parser (default: the lake's format of each file's what and data "
                           "version, else lines)")
    read.add_argument("--output", choices=("csv", "jsonl"), default="csv",
                      help="csv (default) or jsonl, on standard output")
    read.add_argument("--no-clip", dest="clip", action="store_false",
                      help="keep the lines whose time is outside --start/--end")
    read.add_argument("--sort", choices=("time",),
                      help="time: merge the files' rows into one timeline (rows without a "
                           "time last); default: file by file")


def _hist_arguments(hist: argparse.ArgumentParser) -> None:
    _filters(hist)
    hist.add_argument("--every", metavar="WIDTH",
                      help="bin width: 10s, 1min, 5m, 1h, 1d (default: chosen for about 60 bins)")
    hist.add_argument("-e", "--pattern", metavar="PATTERN",
                      help="count the lines that match this regular expression (as grep) "
                           "instead of all lines")
    hist.add_argument("-i", "--ignore-case", dest="ignore_case", action="store_true",
                      help="with --pattern: ignore case")
    hist.add_argument("-F", "--fixed-strings", dest="fixed", action="store_true",
                      help="with --pattern: plain text, not a regular expression")
    hist.add_argument("--format", dest="format_name", metavar="FORMAT",
                      help="the parser that reads each line's time (default: the lake's format "
                           "of each file's what and data version)")
    hist.add_argument("--output", choices=("bars", "csv"), default="bars",
                      help="bars (time, where, count and a bar; for people) or csv")


def _hist(session: Session, args: argparse.Namespace) -> Any:
    if (args.ignore_case or args.fixed) and args.pattern is None:
        raise InvalidInput("--pattern", "-i and -F need a --pattern to match")
    return session.lake.histogram(pattern=args.pattern, every=args.every,
                                  format=args.format_name, ignore_case=args.ignore_case,
                                  fixed=args.fixed, **_filter_values(args))


def _show_hist(frame: Any, args: argparse.Namespace, out: TextIO) -> int:
    if args.output == "csv":
        frame.assign(time=frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(out, index=False)
        return 0
    from .rows.histogram import bars
    return _lines(bars(frame), out)


def _hist_value(frame: Any, args: argparse.Namespace) -> Any:
    """The counts; in a notebook the picture is shown first (a PNG, whatever the backend)."""
    from IPython.display import Image, display

    from .plot import histogram, png
    display(Image(png(histogram, frame)))
    return frame


def _hist_remark(frame: Any, args: argparse.Namespace) -> str | None:
    untimed = frame.attrs.get("untimed", 0)
    return f"{untimed:,} line(s) without a time were not counted" if untimed else None


def _format_arguments(fmt: argparse.ArgumentParser) -> None:
    fmt.add_argument("action", choices=("set", "list", "detect"),
                     help="set WHAT DATA_VERSION FORMAT [NAME=VALUE ...], list the lake's "
                          "formats, or detect FILE|ID: the format a file's first lines are in")
    fmt.add_argument("values", nargs="*", metavar="WHAT DATA_VERSION FORMAT [NAME=VALUE]",
                     help="for set: which files, the parser that reads them, and its "
                          "parameters (e.g. log_format='$remote_addr - ...' for nginx)")


def _catalog_arguments(catalog: argparse.ArgumentParser) -> None:
    _output(catalog, ("table", "json"), "table or json")


def _check_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("--repair", action="store_true", help="write missing index entries and "
                       "delete index entries whose data is gone (never data)")
    check.add_argument("--delete-orphans", dest="delete_orphans", action="store_true",
                       help="delete keys that are no record (data the lake cannot list)")
    check.add_argument("--deep", action="store_true", help="also read every object: compare its "
                       "stored JSON record (S3) and hash its bytes (downloads the whole lake)")


def _confirm_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true",
                        help="remove them (needed when more than one file matches)")
    parser.add_argument("--dry-run", dest="dry_run", action="store_true",
                        help="only show what would be removed")


def _rm_arguments(rm: argparse.ArgumentParser) -> None:
    rm.add_argument("ids", nargs="*", metavar="ID", help="record ids (instead of filters)")
    _filters(rm)
    _confirm_options(rm)


def _expire_arguments(expire: argparse.ArgumentParser) -> None:
    expire.add_argument("--older-than", dest="older_than", required=True, metavar="DURATION",
                        help="remove files whose end is longer ago than this: 400d, 12h")
    expire.add_argument("--what", help="only files of these program(s), comma-separated")
    expire.add_argument("--where", help="only files from these host(s), comma-separated")
    _confirm_options(expire)


def _enqueue_arguments(enqueue: argparse.ArgumentParser) -> None:
    enqueue.add_argument("paths", nargs="+", metavar="PATH", help="file(s) to queue")
    enqueue.add_argument("--what", required=True, help="program that made the file")
    enqueue.add_argument("--where", required=True, help="host or place the file came from")
    enqueue.add_argument("--start", help="time of the first event, or mtime; default: read "
                         "from the content with --format (or the lake's format)")
    enqueue.add_argument("--end", help="time of the last event, or mtime (as push)")
    enqueue.add_argument("--data-version", dest="data_version", required=True,
                         help="version of the file's format")
    enqueue.add_argument("--work-id", dest="work_id", help="application id")
    enqueue.add_argument("--format", dest="format_name", metavar="FORMAT",
                         help="the files' parser: their times are read with it now, and it "
                              "is recorded in the lake when the first one is pushed")


def _upload_arguments(upload: argparse.ArgumentParser) -> None:
    upload.add_argument("--once", action="store_true", help="try each queued file once and "
                        "exit (1 when any stayed queued or failed): for cron")
    upload.add_argument("--log-format", dest="log_format", choices=("text", "json"),
                        default="text", help="one line per file on stderr: text or json")
    upload.add_argument("--rescan", default="1s", metavar="DURATION",
                        help="how often the queue folder is looked at (default 1s)")
    upload.add_argument("--grace", default="20s", metavar="DURATION",
                        help="on SIGTERM, how long pushes in flight may take to finish "
                             "(default 20s); the others stay queued")


def _spool_arguments(spool: argparse.ArgumentParser) -> None:
    spool.add_argument("--output", choices=("table", "json"), default="table",
                       help="table or json")


def _recipe_arguments(recipe: argparse.ArgumentParser) -> None:
    recipe.add_argument("name", choices=("logrotate", "systemd", "cron"),
                        help="which recipe to print")
    recipe.add_argument("--path", help="the log file logrotate rotates")
    recipe.add_argument("--what", help="what the files are")
    recipe.add_argument("--where", help="host (default: $(hostname -s), at rotation)")
    recipe.add_argument("--data-version", dest="data_version", help="their data version")
    recipe.add_argument("--format", dest="format_name", metavar="FORMAT",
                        help="their parser (default: auto)")


# -- run: one engine call each -------------------------------------------------

def _filter_values(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k, None) for k in FILTERS}


def _push(session: Session, args: argparse.Namespace) -> list[Any]:
    if args.format_name is not None:
        from .rows import formats
        formats.get(args.format_name)  # an unknown format stops the push before any upload
    return session.lake.push_paths(
        args.paths, path_template=args.path_template, path_regex=args.path_regex,
        recursive=args.recursive, skip_unmatched=args.skip_unmatched, dry_run=args.dry_run,
        what=args.what, where=args.where, start=args.start, end=args.end,
        data_version=args.data_version, work_id=args.work_id, format=args.format_name,
        progress=session.progress())


def _show_push(records: Any, args: argparse.Namespace, out: TextIO) -> int:
    if getattr(records, "dry_run", False):
        return _lines([records_table(records)] if records else [], out)
    return _json_records(records, args, out)


def _push_remark(records: Any, args: argparse.Namespace) -> str | None:
    skipped = getattr(records, "skipped", [])
    parts = []
    if getattr(records, "dry_run", False):
        parts.append(f"dry run: {len(records)} file(s) would be pushed, nothing was uploaded")
    if skipped:
        parts.append(f"skipped {len(skipped)} file(s) that do not match the path pattern")
    return "; ".join(parts) or None


def _grep(session: Session, args: argparse.Namespace) -> Any:
    if args.count:
        return session.lake.count_matches(args.pattern, ignore_case=args.ignore_case,
                                          fixed=args.fixed, invert=args.invert,
                                          **_filter_values(args))
    around = {} if args.files else {  # -l lists the files with a match only
        "before": args.before, "after": args.after, "context": args.context}
    return session.lake.grep(args.pattern, ignore_case=args.ignore_case, fixed=args.fixed,
                             invert=args.invert, **around, **_filter_values(args))


def _format(session: Session, args: argparse.Namespace) -> Any:
    lake = session.lake
    if args.action == "set":
        if len(args.values) < 3:
            raise InvalidInput("format set", "give WHAT DATA_VERSION FORMAT [NAME=VALUE ...], "
                                             "e.g. `format set nginx 1 nginx`")
        params = {}
        for item in args.values[3:]:
            name, equals, value = item.partition("=")
            if not equals or not name:
                raise InvalidInput("format set", f"{item!r}: a parameter is NAME=VALUE, e.g. "
                                                 "log_format='$remote_addr - ...'")
            params[name] = value
        lake.set_format(*args.values[:3], **params)
    elif args.action == "detect":
        if len(args.values) != 1:
            raise InvalidInput("format detect", "give one FILE (a local path) or ID (a record)")
        return _detect(lake, args.values[0])
    elif args.values:
        raise InvalidInput("format list", "takes no values")
    return lake.formats()


def _detect(lake: Any, item: str) -> Any:
    """The format of a local file (decompressed by extension) or of a record's file."""
    from .rows import formats
    from .rows.compression import open_decompressed
    if os.path.exists(item):
        with open_decompressed(open(item, "rb"), item) as stream:
            return formats.detect(stream.read(1 << 20))
    try:
        stream = lake.open(item, decompress=True)
    except InvalidInput:
        raise InvalidInput("format detect", f"{item!r} is no file here and no record id") from None
    with stream:
        return formats.detect(stream.read(1 << 20))


class Found(list):  # type: ignore[type-arg]
    """The records a list found, and in one line or None: (when there are none) why, or
    that the same bytes are listed under two data versions."""
    hint: str | None = None


def _list(session: Session, args: argparse.Namespace) -> Found:
    found = Found(session.lake.records(**_filter_values(args)))
    if not found:  # a name the catalog does not know, or no lake there at all
        found.hint = session.lake.explain_empty(args.what, args.where)
    else:
        found.hint = same_bytes_remark((r.hash, r.data_version, r.where, r.what) for r in found)
    return found


def _fetch(session: Session, args: argparse.Namespace) -> list[Any]:
    filters = _filter_values(args)
    if args.ids and any(v is not None for v in filters.values()):
        raise InvalidInput("fetch", "give either ids or filters, not both")
    if not args.ids and all(v is None for v in filters.values()):
        raise InvalidInput("fetch", "give ids or at least one of --what, --where, --start, "
                                    "--end, --work-id (fetching the whole lake is not a default)")
    if args.ids:
        return session.lake.fetch(args.ids, dest=args.dest, progress=session.progress())
    return session.lake.fetch(dest=args.dest, progress=session.progress(), **filters)


def _enqueue(session: Session, args: argparse.Namespace) -> list[Any]:
    if args.format_name is not None:
        from .rows import formats
        formats.get(args.format_name)  # an unknown format: nothing queued
    return session.lake.enqueue(args.paths, what=args.what, where=args.where,
                                start=args.start, end=args.end,
                                data_version=args.data_version, work_id=args.work_id,
                                format=args.format_name)


def _upload(session: Session, args: argparse.Namespace) -> Any:
    """``--once``: every entry tried once.  Else until SIGTERM or SIGINT (then exit 0)."""
    import signal
    import sys
    import threading
    from .config import duration_seconds
    from .engine.upload import Log
    rescan = duration_seconds("rescan", args.rescan)
    grace = duration_seconds("grace", args.grace)
    uploader = session.lake.uploader(Log(sys.stderr, json_lines=args.log_format == "json"))
    if args.once:
        return uploader.run_once()
    stop = threading.Event()
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            handlers[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        uploader.run(stop, rescan=rescan, grace=grace)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return []


def _recipe(session: Session, args: argparse.Namespace) -> str:
    from .recipes import recipe
    config = session.config
    return recipe(args.name, path=args.path, what=args.what, where=args.where,
                  data_version=args.data_version, format=args.format_name,
                  url=config["DATALAKE_STORAGE_URL"] if config.sources.get(
                      "DATALAKE_STORAGE_URL", "default") != "default" else None,
                  spool=config["DATALAKE_SPOOL_DIR"] if config.sources.get(
                      "DATALAKE_SPOOL_DIR", "default") != "default" else None)


@dataclasses.dataclass
class Removal:
    """What rm/expire found, and whether it removed them (``done``); ``needs_yes``: more
    than one file and no --yes, so nothing was removed."""
    records: list[Any]
    done: bool
    needs_yes: bool = False


def _removal(lake: Any, records: list[Any], args: argparse.Namespace) -> Removal:
    """Remove what a dry run found, unless it is one or --yes says so."""
    if args.dry_run or not records:
        return Removal(records, False)
    if len(records) > 1 and not args.yes:
        return Removal(records, False, needs_yes=True)
    return Removal(lake.remove(records, yes=True), True)


def _rm(session: Session, args: argparse.Namespace) -> Removal:
    filters = _filter_values(args)
    if args.ids and any(v is not None for v in filters.values()):
        raise InvalidInput("rm", "give either ids or filters, not both")
    if not args.ids and all(v is None for v in filters.values()):
        raise InvalidInput("rm", "give ids or at least one of --what, --where, --start, --end, "
                                 "--work-id (removing the whole lake is not a default)")
    lake = session.lake
    found = (lake.remove(args.ids, dry_run=True) if args.ids
             else lake.remove(dry_run=True, **filters))
    return _removal(lake, found, args)


def _expire(session: Session, args: argparse.Namespace) -> Removal:
    lake = session.lake
    found = lake.expire(args.older_than, what=args.what, where=args.where, dry_run=True)
    return _removal(lake, found, args)


def _removal_remark(removal: Removal, args: argparse.Namespace) -> str:
    n = len(removal.records)
    if removal.needs_yes:
        return f"{n} files match; nothing was removed: give --yes to remove them"
    if removal.done:
        return f"removed {n} file(s)"
    return f"would remove {n} file(s) (dry run)" if args.dry_run else "no file matches"


# -- show: the terminal --------------------------------------------------------

def _lines(items: Sequence[Any], out: TextIO) -> int:
    out.writelines(f"{item}\n" for item in items)
    return 0


def _json_records(records: Sequence[Any], args: argparse.Namespace, out: TextIO) -> int:
    return _lines([json_line(rec) for rec in records], out)


def _show_list(records: Sequence[Any], args: argparse.Namespace, out: TextIO) -> int:
    if args.output == "json":
        return _json_records(records, args, out)
    if args.output == "url":
        return _lines([rec.url for rec in records], out)
    if args.output == "csv":
        write_csv(records, out)
        return 0
    return _lines([records_table(records)], out)


def _show_cat(streams: Sequence[Any], args: argparse.Namespace, out: TextIO) -> int:
    out.flush()  # the bytes go to the binary stream below the text one
    for stream in streams:
        with stream:
            shutil.copyfileobj(stream, out.buffer, 1 << 20)  # type: ignore[attr-defined]
    out.flush()
    return 0


def _show_catalog(catalog: dict[str, list[str]], args: argparse.Namespace, out: TextIO) -> int:
    if args.output == "json":
        return _lines([json.dumps(catalog)], out)
    rows = [[what, ",".join(wheres)] for what, wheres in sorted(catalog.items())]
    return _lines([table(rows, ["WHAT", "WHERES"])] if rows else [], out)


def _grep_label(row: Any) -> str:
    """where:what:start of a grep row: the file, as grep -H names it (no ':' inside; the
    start is the record id's first 12 hex digits)."""
    return f"{row.where}:{row.what}:{times.compact(int(row.id[:12], 16))}"


def _grep_counts(counted: list[tuple[Record, int]]) -> Any:
    """Matching lines per file (grep -c's DataFrame): where, what, start (the file's,
    UTC), count, id."""
    import pandas as pd
    return pd.DataFrame({"where": [rec.where for rec, _ in counted],
                         "what": [rec.what for rec, _ in counted],
                         "start": pd.to_datetime([rec.start for rec, _ in counted], unit="ms",
                                                 utc=True),
                         "count": pd.Series([n for _, n in counted], dtype="int64"),
                         "id": [rec.id for rec, _ in counted]})


def _grouped(found: Any) -> Any:
    """The rows, with None between groups of lines that are not adjacent in one file
    (where grep -A/-B/-C prints '--')."""
    last = None
    for row in found.itertuples():
        if last is not None and (row.id != last.id or row.line_number != last.line_number + 1):
            yield None
        yield row
        last = row


def _show_grep(found: Any, args: argparse.Namespace, out: TextIO) -> int:
    if args.files:
        _lines(list(dict.fromkeys(found["id"])), out)
    elif args.count:
        _lines([f"{rec.where}:{rec.what}:{times.compact(rec.start)}:{n}" for rec, n in found],
               out)
    else:
        binary = set() if getattr(args, "text", False) else found.attrs.get("binary", set())
        raw = found.attrs.get("raw_lines") or {}
        said: set[str] = set()

        def shown(row: Any) -> bytes | None:
            """A row's output line, as grep prints it (None: its file was said already);
            a row None is the '--' between groups of context."""
            if row is None:
                return b"--\n"
            if row.id in binary:
                if row.id in said:
                    return None
                said.add(row.id)
                return f"Binary file {_grep_label(row)} matches\n".encode()
            line = raw.get((row.id, row.line_number))
            mark = ":" if getattr(row, "match", True) else "-"  # grep's mark of a context line
            text = f"{_grep_label(row)}{mark}{row.line_number}{mark}"
            return (text.encode() + line + b"\n") if line is not None else \
                (text + row.line + "\n").encode()

        context = "match" in found.columns  # -A/-B/-C: '--' between groups, as grep
        if not (raw or binary & set(found["id"]) or context):
            out.writelines(f"{_grep_label(row)}:{row.line_number}:{row.line}\n"
                           for row in found.itertuples())
            return 0 if len(found) else 1
        rows = (shown(row) for row in (_grouped(found) if context else found.itertuples()))
        if hasattr(out, "buffer"):  # lines that are not UTF-8: their own bytes
            out.flush()
            out.buffer.writelines(line for line in rows if line is not None)
            out.buffer.flush()
        else:
            out.writelines(line.decode("utf-8", errors="replace") for line in rows
                           if line is not None)
    return 0 if len(found) else 1  # as grep: 1 when nothing matched


def _show_read(frame: Any, args: argparse.Namespace, out: TextIO) -> int:
    if args.output == "jsonl":
        frame.to_json(out, orient="records", lines=True, date_format="iso", date_unit="ms")
    else:  # times as in list and jsonl: ISO 8601 in UTC, to the millisecond
        import pandas as pd
        frame = frame.assign(**{name: column.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
                                for name, column in frame.items()
                                if isinstance(column.dtype, pd.DatetimeTZDtype)})
        frame.to_csv(out, index=False)
    return 0


def _show_formats(frame: Any, args: argparse.Namespace, out: TextIO) -> int:
    from .rows.formats import Detection, describe
    if isinstance(frame, Detection):
        rows = [[r.format, f"{r.share:.0%}", f"{r.parsed}/{r.lines}", "yes" if r.timed else "no"]
                for r in frame.scores.itertuples()]
        verdict = (f"{frame.format} ({frame.share:.0%} of the first {frame.lines} lines)"
                   if frame.format != "lines" else
                   f"lines (no format reads 90% of the first {frame.lines} lines)")
        return _lines([table(rows, ["FORMAT", "PARSED", "LINES", "TIMES"]), verdict], out)
    rows = [[what, version, describe(name, params if isinstance(params, dict) else None)]
            for what, version, name, params in frame.itertuples(index=False)]
    return _lines([table(rows, ["WHAT", "DATA-VERSION", "FORMAT"])] if rows else [], out)


def _grep_value(found: Any, args: argparse.Namespace) -> Any:
    if args.files:
        return list(dict.fromkeys(found["id"]))
    return _grep_counts(found) if args.count else found


def _show_removal(removal: Removal, args: argparse.Namespace, out: TextIO) -> int:
    _lines([records_table(removal.records)] if removal.records else [], out)
    return 2 if removal.needs_yes else 0


def _show_enqueued(entries: Sequence[Any], args: argparse.Namespace, out: TextIO) -> int:
    return _lines([f"{e.folder}\t{e.record['source']}" for e in entries], out)


def _show_uploaded(outcomes: Sequence[Any], args: argparse.Namespace, out: TextIO) -> int:
    from .engine.upload import stayed
    return 1 if stayed(list(outcomes)) else 0  # each file was logged on stderr already


def _show_spool(status: Any, args: argparse.Namespace, out: TextIO) -> int:
    if args.output == "json":
        return _lines([json.dumps(status.to_json())], out)
    shown = status.to_json()
    age = "-" if shown["oldest_age_s"] is None else f"{shown['oldest_age_s']:g} s"
    rows = [["queued", str(status.queued), human_size(status.queued_bytes), age],
            ["failed", str(status.failed), human_size(status.failed_bytes), "-"]]
    return _lines([table(rows, ["STATE", "FILES", "BYTES", "OLDEST"])], out)


def _show_check(report: Any, args: argparse.Namespace, out: TextIO) -> int:
    _lines([report], out)
    return 0 if report.ok else 1  # problems left: exit 1, so scripts notice


# -- notebook: the value %lake returns ---------------------------------------------

def _list_value(records: Sequence[Any], args: argparse.Namespace) -> Any:
    if args.output == "json":
        return [rec.to_json() for rec in records]
    if args.output == "url":
        return [rec.url for rec in records]
    if args.output == "csv":
        buffer = io.StringIO()
        write_csv(records, buffer)
        return buffer.getvalue()
    from .output import to_frame
    frame = to_frame(records)
    hint = getattr(records, "hint", None)
    if frame.empty:  # as Lake.list() does
        frame.attrs["hint"] = hint
    elif hint:
        frame.attrs["remark"] = hint
    return frame


class Text(str):
    """Text that IPython shows as it is (lines, not a quoted string with \\n); still a str."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _cat_value(streams: Sequence[Any], args: argparse.Namespace) -> Text:
    texts = []
    for stream in streams:
        with stream:
            texts.append(stream.read().decode("utf-8", errors="replace"))
    return Text("".join(texts))


def _config_value(rows: list[tuple[str, str, str]], args: argparse.Namespace) -> Any:
    import pandas as pd
    return pd.DataFrame(rows, columns=["name", "value", "source"])


COMMANDS: dict[str, Command] = {c.name: c for c in [
    Command("push", "archive files", "Archive files with metadata; prints each record as one "
            "JSON line.", _push_arguments, _push, _show_push,
            notebook=lambda records, args: records[0] if len(args.paths) == 1 and len(records) == 1
            and not args.recursive and not args.dry_run else records,
            remark=_push_remark,
            returns="Record (a list of them for several paths)",
            example="push access.log --what nginx --where web01 --start -1h --end now "
                    "--data-version 0"),
    Command("import", "bring an existing archive along", "Push every file of an archive (an "
            "S3 prefix or a folder, made with s3cmd + logrotate or anything else) with the "
            "metadata from its key and content; the source is only read; run again, it pushes "
            "only what is missing.  Prints imported, already there, skipped and why.",
            _import_arguments, _import, lambda report, args, out: _lines([report], out),
            returns="ImportReport (.imported, .already: records; .skipped: {reason: keys})",
            example="import s3://old/logs/ --path-template '{where}/{what}/{_}.gz' "
                    "--data-version 1 --format auto"),
    Command("list", "list archived files", "List the files that match, sorted by start.",
            _list_arguments, _list, _show_list, notebook=_list_value,
            returns="DataFrame (--output json: list of dicts, url: list of URLs, csv: text)",
            example="list --what nginx --where web01 --start -1d",
            remark=lambda found, args: found.hint),
    Command("fetch", "download files", "Download matching files (or the given ids), verify "
            "their hashes, print one path per line.", _fetch_arguments, _fetch,
            lambda paths, args, out: _lines(paths, out), returns="list of paths",
            example="fetch --what nginx --start -1d --dest logs"),
    Command("latest", "the newest file of a what", "Print the record of the newest file of "
            "--what (from --where).", _latest_arguments,
            lambda s, args: s.lake.latest(args.what, args.where),
            lambda rec, args, out: _lines([json_line(rec)], out), returns="Record",
            example="latest --what nginx --where web01"),
    Command("cat", "print files to stdout", "Write the content of the files with these ids "
            "to standard output.", _cat_arguments,
            lambda s, args: [s.lake.open(record_id, decompress=not args.raw)
                             for record_id in args.ids], _show_cat,
            notebook=_cat_value, returns="text (shown as lines)", example="cat ID",
            notebook_help="the content of files"),
    Command("grep", "search the lines of archived files", "Print the lines of the matching "
            "files that match PATTERN, as where:what:start:line_number:line (the log line last "
            "and unchanged, like grep -H -n); exit status 1 when nothing matched.",
            _grep_arguments, _grep, _show_grep, notebook=_grep_value,
            returns="DataFrame (id, what, where, line_number, line[, time][, match with "
                    "-A/-B/-C]; -c: where, what, start, count, id; "
                    "-l: list of ids)", example="grep ' 500 ' --what nginx --start -1d"),
    Command("read", "parse archived files into rows", "Parse the matching files with their "
            "format (see `format`) and print the rows as CSV or JSON lines: time, where, what "
            "first, then the format's fields, then line_number and id; with --start/--end, "
            "rows outside them are dropped.", _read_arguments,
            lambda s, args: s.lake.read(format=args.format_name, clip=args.clip,
                                        sort=args.sort, **_filter_values(args)),
            _show_read, returns="DataFrame", example="read --what nginx --start -1h",
            remark=lambda frame, args: frame.attrs.get("hint")),
    Command("hist", "count lines over time", "Count the lines of the matching files (or, "
            "with --pattern, the lines that match) in each time bin, per where; the time is "
            "each line's own, read with its format (see `format`).", _hist_arguments, _hist,
            _show_hist, notebook=_hist_value, remark=_hist_remark,
            returns="DataFrame (time, where, count), and its bar chart shown",
            example="hist --what nginx --every 5min --pattern ' 50[0-9] '"),
    Command("format", "which parser reads which files", "Record in the lake which format "
            "parses a what's files of one data version (so every reader parses them alike), "
            "list the lake's formats, or detect the format of a file (a local path or a record "
            "id) from its first lines.", _format_arguments, _format, _show_formats,
            returns="DataFrame (what, data-version, format, parameters); detect: a Detection",
            example="format set nginx 1 nginx"),
    Command("catalog", "which whats and wheres exist", "Print each what and the wheres it came "
            "from.", _catalog_arguments, lambda s, args: s.lake.catalog(), _show_catalog,
            returns="dict {what: [wheres]}", example="catalog"),
    Command("check", "find (and repair) damage", "Compare the data objects with the index "
            "entries and report what disagrees: data without a record, missing or dangling "
            "where/work/catalog entries, pairs not yet indexed by where (a lake from before "
            "where entries: --repair migrates it); exit status 1 while problems are left.",
            _check_arguments,
            lambda s, args: s.lake.check(repair=args.repair, delete_orphans=args.delete_orphans,
                                         deep=args.deep),
            _show_check, returns="a Report (.ok, .findings, .to_frame())",
            example="check --repair"),
    Command("rm", "remove files from the lake", "Remove the files with these ids, or those "
            "the filters match: their data and index entries (and this machine's cached "
            "copies). With more than one file it only shows them, unless --yes; --dry-run "
            "shows what would go. A remove stopped half-way is finished by `check --repair`.",
            _rm_arguments, _rm, _show_removal,
            notebook=lambda removal, args: _list_value(removal.records,
                                                       argparse.Namespace(output="table")),
            returns="DataFrame of the files removed (or that would be)",
            example="rm --what nginx --where web01 --start 2026-11-01 --end 2026-11-02 --yes",
            remark=_removal_remark),
    Command("expire", "remove files older than a duration", "Remove the files whose end "
            "(an instant's start) is longer ago than --older-than, as rm does (--yes, "
            "--dry-run). On S3, a lifecycle rule can do it instead (see the README).",
            _expire_arguments, _expire, _show_removal,
            notebook=lambda removal, args: _list_value(removal.records,
                                                       argparse.Namespace(output="table")),
            returns="DataFrame of the files removed (or that would be)",
            example="expire --older-than 400d --yes", remark=_removal_remark),
    Command("enqueue", "queue files for the uploader", "Check files and their metadata now "
            "(times from the content with --format, as push), then place them in the spool "
            "(DATALAKE_SPOOL_DIR) for `upload` to push: a hard link, or a copy fsynced before "
            "it counts. Prints each entry's folder and source. Exit 2 on a mistake, 1 when the "
            "spool is full (DATALAKE_SPOOL_MAX_BYTES); then nothing is queued.",
            _enqueue_arguments, _enqueue, _show_enqueued,
            returns="list of spool entries",
            example="enqueue /var/log/app.log.2.gz --what app --where web01 --data-version 1 "
                    "--format nginx"),
    Command("upload", "push what the spool holds", "Push the spool's files in parallel; an "
            "entry leaves the spool only once its push is confirmed; failures are tried again "
            "with backoff, files that can never be pushed move to failed/ with the reason. "
            "One log line per file on stderr. Runs until SIGTERM (exit 0), or --once.",
            _upload_arguments, _upload, _show_uploaded,
            returns="list of outcomes (--once)", example="upload --once"),
    Command("spool", "what is queued and failed", "Count the spool's queued and failed files, "
            "their bytes and the oldest one's age.", _spool_arguments,
            lambda s, args: s.lake.spool().status(), _show_spool,
            returns="Status (.queued, .queued_bytes, .failed, .failed_bytes, .to_json())",
            example="spool"),
    Command("recipe", "print a logrotate, systemd or cron recipe", "Print a recipe that "
            "works as written: a logrotate block that enqueues each rotated file, a systemd "
            "unit that runs `upload`, a cron line for `upload --once`.", _recipe_arguments,
            _recipe, lambda text, args, out: _lines([text.rstrip("\n")], out),
            notebook=lambda text, args: Text(text), returns="text",
            notebook_help="a logrotate, systemd or cron recipe",
            example="recipe logrotate --path /var/log/nginx/access.log --what nginx "
                    "--format nginx"),
    Command("config", "show the effective settings", "Print every setting, its value and where "
            "it came from (secrets are never shown).", lambda parser: None,
            lambda s, args: s.config.describe(),
            lambda rows, args, out: _lines([table([list(r) for r in rows],
                                                  ["NAME", "VALUE", "SOURCE"])], out),
            notebook=_config_value, returns="DataFrame (name, value, source)",
            example="config"),
]}


# -- the parser, built from the table ---------------------------------------------

WIDTH = 88  # help text is wrapped to this (argparse wraps the options to the terminal)


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False)


def settings_help(prog: str = "datalake") -> str:
    """Every setting once, a line each: its option (or variable) and what it does; then how
    options, variables and config files combine (the help of ``config``)."""
    lines = ["settings (an option beats its environment variable, which beats a config file):"]
    for setting in SETTINGS:
        label = setting.flag or setting.name
        derived = setting.flag and "DATALAKE_" + setting.flag[2:].upper().replace("-", "_")
        name = f" [{setting.name}]" if setting.flag and derived != setting.name else ""
        lines.append(f"  {label:<28} {brief(setting.name)}{name}")
    lines += ["", _wrap("Each option is also a variable: --fetch-dir is DATALAKE_FETCH_DIR (or "
                        "the one in brackets); config files hold NAME=value lines: "
                        "/etc/datalake.conf, ~/.config/datalake/datalake.conf ($XDG_CONFIG_HOME), "
                        f"$DATALAKE_CONFIG. `{prog} config` shows each value and its source; "
                        "docs/configuration.md says more.")]
    return "\n".join(lines)


def settings_pointer(prog: str) -> str:
    """The one line a command's help gives the settings (explained in ``config -h``)."""
    return (f"settings: --storage-url, --endpoint-url, --cache-dir, ... (`{prog} config -h` "
            "explains them)")


def add_settings(parser: argparse.ArgumentParser, title: str = "configuration",
                 brief: bool = False) -> None:
    """The settings' options (--storage-url, ...), in a group after the command's own;
    ``brief``: taken but not shown in the help (``config -h`` explains them, once)."""
    group = parser.add_argument_group(title)
    for setting in SETTINGS:
        if setting.flag:
            group.add_argument(setting.flag, dest=setting.name, metavar="VALUE",
                               default=argparse.SUPPRESS, choices=setting.choices,
                               help=argparse.SUPPRESS if brief else
                               f"{setting.described} [{setting.name}]")


def description(command: Command, prog: str) -> str:
    """A command's help text: in the notebook, what it returns (not what it prints)."""
    if prog.startswith("%"):
        said = command.notebook_help or command.help
        text = f"{said[:1].upper()}{said[1:]}; returns {command.returns}."
        return _wrap(text) + "\n" + textwrap.shorten(f"  e.g. {prog} {command.example}", WIDTH,
                                                      placeholder=" ...")
    return _wrap(command.description)


def build_parser(prog: str = "datalake") -> Parser:
    """The parser of every command in COMMANDS, each with the settings' options after its
    own; the settings are taken everywhere and explained once, in ``config -h``."""
    common: dict[str, Any] = dict(formatter_class=argparse.RawDescriptionHelpFormatter)
    more = f"{prog} COMMAND -h: the options of one command."
    parser = Parser(prog=prog, description="Archive log files with uniform metadata in S3 or a "
                    "local folder; list, fetch and read them back.",
                    epilog="\n".join([settings_pointer(prog), _wrap("times: " + times.HELP),
                                      more]), **common)
    add_settings(parser, brief=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for command in COMMANDS.values():
        config = command.name == "config"
        own = sub.add_parser(command.name, help=command.help,
                             description=description(command, prog),
                             epilog=settings_help(prog) if config else settings_pointer(prog),
                             **common)
        command.arguments(own)
        _filters_first(own)
        usage = own.format_usage().partition(": ")[2].rstrip()
        if usage.count("\n") > 2:  # many options: they are listed below anyway
            positionals = " ".join(a.metavar + (f" [{a.metavar} ...]" if a.nargs == "+" else "")
                                   for a in own._get_positional_actions())
            usage = f"{prog} {command.name} [-h] [options] {positionals}".rstrip()
        own.usage = (usage + " [settings]").replace("%", "%%")  # argparse formats with %
        add_settings(own, "settings", brief=True)
    # after the subparsers: their prog is made from the usage before
    parser.usage = "%(prog)s [-h] COMMAND [options] [settings]"
    return parser


def use_parser(prog: str = "%lake use") -> Parser:
    """``%lake use URL [settings]`` (the notebook's own command): the lake, and any setting
    option the commands take (--endpoint-url, --aws-profile, --cache-dir, ...), kept for
    the session."""
    parser = Parser(prog=prog, description="Switch this session's lake: every later %lake "
                    "command uses URL and the settings given here (until the next use).",
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    epilog="settings: every option of `%lake config?` (--endpoint-url, "
                           "--aws-profile, --cache-dir, ...)")
    parser.add_argument("url", metavar="URL", help="s3://bucket/prefix, gs://..., az://..., "
                        "memory://name or a folder")
    add_settings(parser, "settings (kept for the session)", brief=True)
    parser.usage = "%(prog)s [-h] URL [settings]"
    return parser


def _filters_first(parser: argparse.ArgumentParser) -> None:
    """Show the filters right after the positional arguments, before the other options."""
    groups = parser._action_groups
    groups.sort(key=lambda g: {"positional arguments": 0, "filters": 1}.get(g.title or "", 2))


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's own parser (for help texts and the parity test)."""
    return parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]


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
    args = build_parser(prog).parse_args(normalize_argv(argv))
    if getattr(args, "old_output", None) is not None:
        args.output = args.old_output
    return args


def command_name(argv: Sequence[str], prog: str) -> str:
    """What errors are prefixed with: the program and, when it names one, the command."""
    named = next((token for token in argv if token in COMMANDS), None)
    return f"{prog} {named}" if named else prog


def prefixed(name: str, message: str, label: str = "") -> str:
    """``name: [label: ]message``, with the command said once: ``%lake list`` and ``list:
    no bucket ...`` give ``%lake list: no bucket ...``, not ``%lake list: list: ...``."""
    command = name.rpartition(" ")[2] if " " in name else None
    if command and message.startswith(f"{command}: "):
        message = message[len(command) + 2:]
    return f"{name}: {label}: {message}" if label else f"{name}: {message}"


@dataclasses.dataclass
class Ran:
    """A command that ran: the face shows ``value`` its way and puts ``remark`` beside it."""
    command: Command
    args: argparse.Namespace
    value: Any
    remark: str | None


def run(argv: Sequence[str], prog: str, session_for: Callable[[dict[str, Any]], Session]) -> Ran:
    """The one run path of the CLI and ``%lake``: parse ``argv`` with the table's parser,
    make the session from the settings its options name (``session_for``: each face has
    its own defaults and progress), log as configured, run the command."""
    args = parse(argv, prog)
    command = COMMANDS[args.command]
    session = session_for(settings_from(args))
    configure_logging(session.config)
    with hints.told_by_face():  # the face puts the remark beside the value itself
        value = command.run(session, args)
    remarks = [command.remark(value, args)]
    if getattr(args, "old_output", None) is not None:
        remarks.insert(0, f"warning: --format {args.old_output} is now --output "
                          f"{args.old_output} (--format will name the parser, as in push and read)")
    return Ran(command, args, value, "; ".join(r for r in remarks if r) or None)


def settings_from(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as options on this command line, by setting name."""
    return {s.name: getattr(args, s.name) for s in SETTINGS if s.flag and hasattr(args, s.name)}


def secrets(config: Config) -> list[str]:
    """The values no output may show: secret settings, the password of any URL setting,
    and a session token if there is one."""
    values = [config[s.name] or "" for s in SETTINGS if s.secret]
    passwords = [password_of(config[s.name] or "") for s in SETTINGS]
    return [*values, *passwords, os.environ.get("AWS_SESSION_TOKEN", "")]


def configure_logging(config: Config) -> None:
    """--log-level for this command, with every secret masked."""
    logs.configure(config.value("DATALAKE_LOG_LEVEL"), secrets(config))
