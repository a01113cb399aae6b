"""``%lake`` / ``%%lake``: the CLI's commands in a notebook, returning Python objects.

The parser is the CLI's (``commands.build_parser``), so every option exists in
both.  Results are values, not printouts: ``list`` gives a DataFrame,
``fetch`` a list of paths, ``push`` the record(s).  Mistakes raise
``UsageError`` so "Run All" stops at the cell that is wrong.
"""
from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Unicode, observe

from ..commands import build_parser, execute, parse, settings_from
from ..core.errors import DatalakeError, InvalidInput

MAGIC_ONLY = """\
notebook-only forms:
  %lake use URL                 switch this session's lake (s3://bucket/prefix or a folder)
  %lake pick                    a LakePicker widget on this session's lake
  %lake list ... -o NAME        also store the result in the variable NAME (-o or --out)
  %%lake list -o df             the cell body holds more options, one or more per line,
  --what nginx                  with # comments
  --start -1d   # yesterday on

Results: list -> DataFrame (--format json: list of dicts, url: list of URLs, csv: text),
fetch -> list of paths, push -> Record (or a list),
latest -> Record, catalog -> dict, cat -> text, config -> DataFrame,
check -> a Report (.ok, .findings, .to_frame()).
{python_var} and $var are expanded in the line and the cell body.
Defaults: %config LakeMagics.storage_url = 's3://bucket/prefix' (also cache_dir)."""


def full_help() -> str:
    """The CLI's help for every command, as the docstring ``%lake?`` shows."""
    parser = build_parser("%lake")
    parts = [parser.format_help(), MAGIC_ONLY]
    subparsers = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in subparsers.items():
        parts.append(f"\n--- %lake {name} ---\n" + sub.format_help())
    return "\n".join(parts)


def split_out(argv: list[str]) -> tuple[list[str], str | None]:
    """Take -o/--out NAME off the argument list."""
    out, rest, i = None, [], 0
    while i < len(argv):
        token = argv[i]
        if token in ("-o", "--out"):
            if i + 1 >= len(argv) or not argv[i + 1].isidentifier():
                raise UsageError(f"%lake: {token} needs a Python variable name")
            out = argv[i + 1]
            i += 2
            continue
        if token.startswith("--out="):
            out = token.split("=", 1)[1]
        else:
            rest.append(token)
        i += 1
    return rest, out


def to_value(args: Any, result: Any) -> Any:
    """What a command gives back in a notebook."""
    command = args.command
    if command == "list":
        if args.format == "json":
            return [rec.to_json() for rec in result]
        if args.format == "url":
            return [rec.url for rec in result]
        if args.format == "csv":
            import io
            from ..cli import write_csv
            buffer = io.StringIO()
            write_csv(result, buffer)
            return buffer.getvalue()
        from ..frame import to_frame
        return to_frame(result)
    if command == "config":
        import pandas as pd
        return pd.DataFrame(result, columns=["name", "value", "source"])
    if command == "cat":
        texts = []
        for stream in result:
            with stream:
                texts.append(stream.read().decode("utf-8", errors="replace"))
        return "".join(texts)
    return result


@magics_class
class LakeMagics(Magics):
    storage_url = Unicode("", help="Default lake for %lake (else the usual configuration).").tag(config=True)
    cache_dir = Unicode("", help="Cache folder for fetched files.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any):
        super().__init__(shell, **kwargs)
        self._lake: Any = None

    @observe("storage_url", "cache_dir")
    def _settings_changed(self, change: Any) -> None:
        self._lake = None

    @property
    def session_lake(self) -> Any:
        """The lake %lake talks to: made on first use, switched by ``%lake use``."""
        if self._lake is None:
            from ..lake import Lake
            self._lake = Lake(self.storage_url or None, cache_dir=self.cache_dir or None)
        return self._lake

    @line_cell_magic
    def lake(self, line: str, cell: str | None = None) -> Any:
        try:
            argv = shlex.split(line, comments=True)
            for body_line in (cell or "").splitlines():  # expanded line by line, as the line is
                expanded = self.shell.var_expand(body_line) if self.shell else body_line
                argv += shlex.split(expanded, comments=True)
        except ValueError as exc:
            raise UsageError(f"%lake: {exc}") from None
        argv, out = split_out(argv)
        try:
            value = self._run(argv)
        except InvalidInput as exc:
            raise UsageError(str(exc).replace("datalake", "%lake", 1)) from None
        except DatalakeError as exc:
            raise UsageError(f"%lake: {exc}") from None
        if out and self.shell is not None:
            self.shell.user_ns[out] = value
        return value

    def _run(self, argv: list[str]) -> Any:
        if argv[:1] == ["use"]:
            if len(argv) != 2:
                raise UsageError("%lake use: give exactly one URL: s3://bucket/prefix or a folder")
            from ..lake import Lake
            self._lake = Lake(argv[1], cache_dir=self.cache_dir or None)
            return None
        if argv[:1] == ["pick"]:
            if len(argv) != 1:
                raise UsageError("%lake pick: takes no options")
            from .picker import LakePicker
            return LakePicker(self.session_lake)
        try:
            args = parse(argv, prog="%lake")
        except SystemExit:  # --help printed the help
            return None
        if settings_from(args):  # options like --storage-url: a lake just for this command
            return to_value(args, execute(args))
        if args.command == "config":
            return to_value(args, self.session_lake.config.describe())
        return to_value(args, execute(args, lambda config: self.session_lake))


LakeMagics.lake.__doc__ = full_help()
