"""``%lake`` / ``%%lake``: the CLI's commands in a notebook, returning Python objects.

Parser, commands and help come from the command table (``datalake_nb.commands``),
so every option exists in both.  Results are values, not printouts: ``list`` gives a
DataFrame, ``fetch`` a list of paths, ``push`` the record.  Mistakes raise
``UsageError`` so "Run All" stops at the cell that is wrong; errors are worded here
from their fields (``%lake push: path: ...``), never by editing another face's text.
"""
from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Unicode, observe

from ..commands import (COMMANDS, Session, UsageProblem, build_parser, configure_logging, parse,
                        settings_from, subparsers)
from ..config import Config, resolve
from ..core.errors import DatalakeError, InvalidInput
from ..progress import Progress, TqdmProgress

MAGIC_ONLY = """\
notebook-only forms:
  %lake use URL                 switch this session's lake (s3://bucket/prefix or a folder)
  %lake pick                    a LakePicker widget on this session's lake
  %lake list ... -o NAME        also store the result in the variable NAME (-o or --out)
  %%lake list -o df             the cell body holds more options, one or more per line,
  --what nginx                  with # comments
  --start -1d   # yesterday on

Options like --concurrency or --storage-url change only what they name, for one command,
on top of this session's settings (%lake use, %config LakeMagics...).
{python_var} and $var are expanded in the line and the cell body.
Defaults: %config LakeMagics.storage_url = 's3://bucket/prefix' (also cache_dir)."""


def full_help() -> str:
    """The CLI's help for every command, and what each returns, as ``%lake?`` shows."""
    parser = build_parser("%lake")
    results = ["Results:"] + [f"  {c.name:<8} -> {c.returns}" for c in COMMANDS.values()]
    parts = [parser.format_help(), MAGIC_ONLY, "\n".join(results)]
    for name, sub in subparsers(parser).items():
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


def notebook_progress(config: Config) -> Progress | bool:
    """A tqdm.auto bar (a widget in a notebook) unless DATALAKE_PROGRESS is off."""
    return False if config["DATALAKE_PROGRESS"] == "off" else TqdmProgress()


@magics_class
class LakeMagics(Magics):
    storage_url = Unicode("", help="Default lake for %lake (else the usual configuration).").tag(config=True)
    cache_dir = Unicode("", help="Cache folder for fetched files.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any):
        super().__init__(shell, **kwargs)
        self._lake: Any = None
        self._used: str | None = None  # the URL of `%lake use`, until storage_url is set again

    @observe("storage_url", "cache_dir")
    def _settings_changed(self, change: Any) -> None:
        if change["name"] == "storage_url":
            self._used = None
        self._lake = None

    def session_settings(self) -> dict[str, Any]:
        """This session's settings by name: `%lake use` or storage_url, and cache_dir."""
        return {"DATALAKE_STORAGE_URL": self._used or self.storage_url or None,
                "DATALAKE_CACHE_DIR": self.cache_dir or None}

    @property
    def session_lake(self) -> Any:
        """The lake %lake talks to: made on first use, switched by ``%lake use``."""
        if self._lake is None:
            from ..lake import Lake
            self._lake = Lake(config=resolve(self.session_settings()))
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
        name = "%lake" + (f" {argv[0]}" if argv and argv[0] in {*COMMANDS, "use", "pick"} else "")
        try:
            value = self._run(argv)
        except UsageProblem as exc:  # the parser's own words; its field is "%lake COMMAND"
            raise UsageError(f"{exc.field}: {exc.problem}") from None
        except InvalidInput as exc:
            raise UsageError(f"{name}: {exc.field}: {exc.problem}") from None
        except DatalakeError as exc:
            raise UsageError(f"{name}: {exc}") from None
        if out and self.shell is not None:
            self.shell.user_ns[out] = value
        return value

    def _run(self, argv: list[str]) -> Any:
        if argv[:1] == ["use"]:
            if len(argv) != 2:
                raise UsageError("%lake use: give exactly one URL: s3://bucket/prefix or a folder")
            from ..lake import Lake
            settings = {**self.session_settings(), "DATALAKE_STORAGE_URL": argv[1]}
            self._lake = Lake(config=resolve(settings))  # a bad URL fails here, not later
            self._used = argv[1]
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
        command = COMMANDS[args.command]
        flags = settings_from(args)
        if flags:  # only what the flags name changes, on top of this session's settings
            session = Session(resolve({**self.session_settings(), **flags}))
        else:
            session = Session(self.session_lake.config, lake=self.session_lake)
        session.progress = lambda: notebook_progress(session.config)
        configure_logging(session.config)
        return command.notebook(command.run(session, args), args)


LakeMagics.lake.__doc__ = full_help()
