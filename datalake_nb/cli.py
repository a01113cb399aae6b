"""The ``datalake`` command line: parse, run, print.  Exit 2 for user mistakes."""
from __future__ import annotations

import csv
import json
import shutil
import sys
from typing import Any, Sequence, TextIO

from .core import times
from .commands import UsageProblem, execute, parse
from .core.errors import DatalakeError, InvalidInput
from .core.metadata import Record

CSV_COLUMNS = ["id", "what", "where", "start", "end", "work_id", "data-version", "hash",
               "size", "url", "version"]


def _human_size(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
                     for row in [header, *rows])


def write_csv(records: list[Record], out: TextIO) -> None:
    writer = csv.DictWriter(out, CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rec.to_json() for rec in records)


def print_records(records: list[Record], fmt: str) -> None:
    out = sys.stdout
    if fmt == "json":
        for rec in records:
            out.write(json.dumps(rec.to_json()) + "\n")
    elif fmt == "url":
        for rec in records:
            out.write(f"{rec.url}\n")
    elif fmt == "csv":
        write_csv(records, out)
    else:
        rows = [[r.id, r.what, r.where, times.iso(r.start), "-" if r.end is None else times.iso(r.end),
                 _human_size(r.size), r.work_id or "-"] for r in records]
        if rows:
            out.write(_table(rows, ["ID", "WHAT", "WHERE", "START", "END", "SIZE", "WORK_ID"]) + "\n")
        total = sum(r.size or 0 for r in records)
        out.write(f"{len(records)} file(s), {_human_size(total)}\n")


def render(args: Any, result: Any) -> None:
    command = args.command
    if command == "config":
        sys.stdout.write(_table([list(r) for r in result], ["NAME", "VALUE", "SOURCE"]) + "\n")
    elif command == "push":
        records = result if isinstance(result, list) else [result]
        for rec in records:
            sys.stdout.write(json.dumps(rec.to_json()) + "\n")
    elif command == "list":
        print_records(result, args.format)
    elif command == "latest":
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    elif command == "fetch":
        for path in result:
            sys.stdout.write(f"{path}\n")
    elif command == "cat":
        for stream in result:
            with stream:
                shutil.copyfileobj(stream, sys.stdout.buffer, 1 << 20)
        sys.stdout.flush()
    elif command == "check":
        sys.stdout.write(f"{result}\n")
    elif command == "catalog":
        if args.format == "json":
            sys.stdout.write(json.dumps(result) + "\n")
        else:
            rows = [[what, ",".join(wheres)] for what, wheres in sorted(result.items())]
            sys.stdout.write(_table(rows, ["WHAT", "WHERES"]) + "\n" if rows else "")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse(argv)
        result = execute(args)
        render(args, result)
        if args.command == "check" and not result.ok:
            return 1
    except UsageProblem as exc:
        sys.stderr.write(f"{exc.field}: error: {exc.problem}\n")
        return 2
    except InvalidInput as exc:
        sys.stderr.write(f"datalake: error: {exc}\n")
        return 2
    except DatalakeError as exc:
        sys.stderr.write(f"datalake: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("datalake: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the local lake, cache or destination: disk full, no permission
        sys.stderr.write(f"datalake: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
