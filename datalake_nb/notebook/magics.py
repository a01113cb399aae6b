"""``%lake`` / ``%%lake``: the CLI's commands in a notebook, returning Python objects.

Parser, commands and help come from the command table (``datalake_nb.commands``),
so every option exists in both.  Results are values, not printouts: ``list`` gives a
DataFrame, ``fetch`` a list of paths, ``push`` the record.  Mistakes raise
``UsageError``, other failures ``LakeFailure`` (one line, no traceback), so "Run All"
stops at the cell that is wrong; errors are worded here from their fields
(``%lake push: path: ...``), never by editing another face's text.
"""
from __future__ import annotations

import html
import shlex
import textwrap
import threading
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Unicode, observe

from ..commands import (COMMANDS, Session, UsageProblem, build_parser, command_name,
                        normalize_argv, prefixed, run, settings_from, use_parser)
from ..config import BY_NAME, Config, resolve
from ..core.redact import redact_url
from ..core.errors import DatalakeError, InvalidInput, NotFound
from ..engine.pool import Interrupted
from ..engine.progress import Progress, TqdmProgress
from .completion import CatalogCache


class LakeFailure(DatalakeError):
    """A failure that is not the user's mistake (the network, credentials, damaged bytes).

    IPython shows it as its one line (``_render_traceback_``) instead of a long traceback;
    the cell still fails, so Run All stops.  The original error is its ``__cause__``.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class Remark(str):
    """A one-line remark beside a value (why a list is empty), shown in the cell's output."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        return f'<div style="color: #8a6d3b">{html.escape(self)}</div>'

MAGIC_ONLY = """\
notebook-only forms:
  %lake use URL [settings]      switch this session's lake: %lake use s3://my-bucket/logs
                                --endpoint-url http://127.0.0.1:9000 (settings: as every command's)
  %lake pick                    a LakePicker widget on this session's lake
  df = %lake list ...           the value comes back; or %lake list ... -o NAME (--out) stores it
  %%lake list -o df             a cell: more options in the body, one or more per line,
  --what nginx                  with # comments; {python_var} and $var are expanded
  --start -1d   # yesterday on
  Tab completes commands, options, and --what / --where names from the lake's catalog."""


def full_help() -> str:
    """``%lake?``: each command in a line or two (what it returns, one example), the
    notebook forms, then where to read more; a command's options are in ``%lake CMD -h``
    and the settings, once, in ``%lake config -h``."""
    width = max(len(c.name) for c in COMMANDS.values())
    indent = " " * (width + 4)
    lines = ["%lake COMMAND [options]: the datalake command line in a notebook; each command",
             "returns a value (a DataFrame, paths, a Record) instead of printing it.", "",
             "commands (%lake COMMAND -h: the options of one):"]
    for c in COMMANDS.values():  # what it returns in short (its -h says more), an example
        returns = c.returns.partition(" (")[0]
        lines.append(f"  {c.name:<{width}}  {c.notebook_help or c.help}: returns {returns}")
        lines.append(indent + textwrap.shorten(f"%lake {c.example}", 99 - len(indent),
                                               placeholder=" ..."))
    lines += ["", MAGIC_ONLY, "",
              "A mistake (bad option, unknown name or id) raises UsageError; a failure (network,",
              "credentials, damaged bytes) is one line too. Either stops Run All.", "",
              "settings: --storage-url, --endpoint-url, --cache-dir, ... on any command (%lake "
              "config -h",
              "explains them); for the session: %lake use, or %config LakeMagics.storage_url = "
              "'s3://b/p'.",
              "more: docs/notebooks.md, docs/cli.md; the Python API: help(datalake_nb.Lake)."]
    return "\n".join(lines)


def using(lake: Any, flags: dict[str, Any]) -> str:
    """``s3://b/x (endpoint http://..., --aws-profile dev)``: the lake and what it was told."""
    told = [f"endpoint {lake.store.endpoint}"] if getattr(lake.store, "endpoint", None) else []
    told += [f"{BY_NAME[name].flag} {redact_url(str(value))}" for name, value in flags.items()
             if name != "AWS_ENDPOINT_URL"]
    return lake.url + (f" ({', '.join(told)})" if told else "")


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
        self._use_settings: dict[str, Any] = {}  # the setting options of that `%lake use`
        self._catalog: CatalogCache | None = None  # names for Tab completion, per session lake
        self._making = threading.Lock()  # the session lake is made once (completion's thread)

    @observe("storage_url", "cache_dir")
    def _settings_changed(self, change: Any) -> None:
        if change["name"] == "storage_url":
            self._used, self._use_settings = None, {}
        self._switch(None)

    def _switch(self, lake: Any) -> None:
        self._lake, self._catalog = lake, None

    def session_settings(self) -> dict[str, Any]:
        """This session's settings by name: `%lake use` or storage_url, and cache_dir."""
        return {"DATALAKE_STORAGE_URL": self._used or self.storage_url or None,
                "DATALAKE_CACHE_DIR": self.cache_dir or None, **self._use_settings}

    @property
    def session_lake(self) -> Any:
        """The lake %lake talks to: made on first use, switched by ``%lake use``."""
        with self._making:
            if self._lake is None:
                from ..lake import Lake
                self._lake = Lake(config=resolve(self.session_settings()))
            return self._lake

    def completion_names(self) -> dict[str, list[str]]:
        """The session lake's {what: [wheres]} for Tab completion: cached, read in the
        background, never a wait over completion.WAIT_S."""
        return self._catalog_cache().get()

    def _catalog_cache(self) -> CatalogCache:
        cache = self._catalog
        if cache is None:
            cache = self._catalog = CatalogCache(lambda: self.session_lake.catalog())
        return cache

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
        name = "%lake use" if argv[:1] == ["use"] else "%lake pick" if argv[:1] == ["pick"] \
            else command_name(argv, "%lake")
        try:
            value = self._run(argv, name)
        except UsageProblem as exc:  # the parser's own words; its field is "%lake COMMAND"
            raise UsageError(f"{exc.field}: {exc.problem}") from None
        except InvalidInput as exc:
            raise UsageError(prefixed(name, f"{exc.field}: {exc.problem}")) from None
        except NotFound as exc:  # asked for what is not there: an id, a lake folder (a typo)
            raise UsageError(prefixed(name, str(exc))) from None
        except (DatalakeError, OSError) as exc:  # not the user's doing: one line, still fails
            raise LakeFailure(prefixed(name, str(exc))) from exc
        except KeyboardInterrupt as exc:  # one line (Interrupted's _render_traceback_),
            stopped = Interrupted(prefixed(name, str(exc) or "interrupted"))
            stopped.paths = getattr(exc, "paths", [])  # with the files a fetch placed
            if out and self.shell is not None and stopped.paths:
                self.shell.user_ns[out] = stopped.paths  # -o NAME: what was fetched
            raise stopped from None
        if out and self.shell is not None:
            self.shell.user_ns[out] = value
        return value

    def _use(self, argv: list[str]) -> None:
        """``%lake use URL [settings]``: the new lake, or an error that says which lake is
        still in use (never a silent fall-back to the old one)."""
        try:
            args = use_parser().parse_args(normalize_argv(argv))
        except SystemExit:  # -h printed the help
            return None
        except UsageProblem as exc:
            raise UsageError(f"{exc.field}: {exc.problem}; {self._still_using()}") from None
        flags = settings_from(args)
        settings = {**self.session_settings(), **flags, "DATALAKE_STORAGE_URL": args.url}
        try:
            from ..lake import Lake
            lake = Lake(config=resolve(settings))  # a bad URL or setting fails here
        except InvalidInput as exc:
            raise UsageError(f"%lake use: {exc.field}: {exc.problem}; "
                             f"{self._still_using()}") from None
        except (DatalakeError, OSError) as exc:
            raise LakeFailure(f"%lake use: {exc}; {self._still_using()}") from exc
        self._used, self._use_settings = args.url, flags
        self._switch(lake)
        self._catalog_cache().prefetch()  # the names are there by the first Tab
        print(f"now using {using(lake, flags)}")
        return None

    def _still_using(self) -> str:
        """Which lake the session keeps after a failed ``use``."""
        if self._lake is not None:
            return f"still using {self._lake.url}"
        try:
            return f"still using {resolve(self.session_settings())['DATALAKE_STORAGE_URL']}"
        except DatalakeError:
            return "no lake is in use (the session's settings are not valid)"

    def _run(self, argv: list[str], name: str) -> Any:
        if argv[:1] == ["use"]:
            return self._use(argv[1:])
        if argv[:1] == ["pick"]:
            if len(argv) != 1:
                raise UsageError("%lake pick: takes no options")
            from .picker import LakePicker
            return LakePicker(self.session_lake)

        def session_for(flags: dict[str, Any]) -> Session:
            if flags:  # only what the flags name changes, on top of this session's settings
                session = Session(resolve({**self.session_settings(), **flags}))
            else:
                session = Session(self.session_lake.config, lake=self.session_lake)
            session.progress = lambda: notebook_progress(session.config)
            return session

        try:
            ran = run(argv, "%lake", session_for)
        except SystemExit:  # --help printed the help
            return None
        if self._catalog is not None:  # a push may have added names: the next Tab reads
            self._catalog.invalidate()  # them again in the background (one listing)
        if ran.remark:
            from IPython.display import display
            display(Remark(f"{name}: {ran.remark}"))
        return ran.command.notebook(ran.value, ran.args)


LakeMagics.lake.__doc__ = full_help()
