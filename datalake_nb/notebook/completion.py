"""Tab completion for ``%lake`` / ``%%lake``: the subcommands, each command's options (from
the command table's parsers), an option's choices, and the lake's whats and wheres.

A Tab must never wait on the network: the names come from a catalog read in a background
thread and kept per session lake (``CatalogCache``).  A Tab waits for it at most
``WAIT_S`` the first time, then offers what is cached, and a stale cache is refreshed
behind the user's back while the old names are offered.
"""
from __future__ import annotations

import argparse
import re
import threading
import time
from typing import Any, Callable

from ..commands import COMMANDS, build_parser, subparsers, use_parser
from ..config import BY_NAME

WAIT_S = 0.5      # the longest a Tab waits for a catalog not read yet
FRESH_S = 60.0    # a catalog older than this is read again (in the background)
MAGIC_ONLY = ("use", "pick")
OUT_OPTIONS = ("-o", "--out")
NAME_OPTIONS = ("--what", "--where")
MATCHER_ID = "datalake_nb.lake"

Catalog = dict[str, list[str]]


class CatalogCache:
    """A lake's ``{what: [wheres]}``, read by ``load`` in a background thread.

    ``get`` never blocks longer than ``wait``; a failed read (no network, no lake) counts as
    an empty catalog until the next refresh, so completion stays quiet and quick.
    """

    def __init__(self, load: Callable[[], Catalog], fresh_s: float = FRESH_S):
        self._load, self.fresh_s = load, fresh_s
        self._names: Catalog = {}
        self._read_at = float("-inf")
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._tried = False  # a Tab has waited for the first read once: never again

    def get(self, wait: float = WAIT_S) -> Catalog:
        """The names cached; only the call that starts the very first read waits for it
        (up to ``wait``): against a lake that hangs, every later Tab answers at once."""
        started = self.prefetch()
        if started is not None and self._read_at == float("-inf") and not self._tried:
            self._tried = True
            started.join(wait)
        return self._names

    def prefetch(self) -> threading.Thread | None:
        """Start a read in the background if the names are stale and none is running; the
        thread started, or None."""
        with self._lock:
            stale = time.monotonic() - self._read_at > self.fresh_s
            if stale and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._refresh, daemon=True,
                                                name="datalake-catalog")
                self._thread.start()
                return self._thread
        return None

    def invalidate(self) -> None:
        """The lake changed (a push): read the catalog again at the next Tab."""
        with self._lock:
            self._read_at = float("-inf") if not self._names else time.monotonic() - self.fresh_s - 1

    def _refresh(self) -> None:
        try:
            names = self._load()
        except Exception:  # the command itself will say what is wrong; a Tab stays quiet
            names = None
        with self._lock:
            if names is not None:
                self._names = {what: sorted(wheres) for what, wheres in names.items()}
            self._read_at = time.monotonic()


def _parsers() -> dict[str, argparse.ArgumentParser]:
    return {**subparsers(build_parser("%lake")), "use": use_parser()}


def _options(parser: argparse.ArgumentParser) -> list[str]:
    """The command's own options first (in the order of its help), then the settings."""
    own, settings = [], []
    for action in parser._actions:
        flags = [f for f in action.option_strings if f.startswith("--") and f != "--help"]
        if action.dest in BY_NAME:
            settings.extend(flags)  # not in a command's help (config -h explains them)
        elif action.help != argparse.SUPPRESS:  # not an old name kept a while (list --format)
            own.extend(flags)
    return own + settings + ["--out"]


def _takes_value(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    for action in parser._actions:
        if flag in action.option_strings and action.nargs != 0:
            return action
    return None


def candidates(words: list[str], current: str, catalog: Callable[[], Catalog]) -> list[str] | None:
    """What may complete ``current`` after the words of a ``%lake`` line; None when the
    place is not one this completer knows (a path, an id: left to IPython's own)."""
    if not words:
        return [c for c in [*COMMANDS, *MAGIC_ONLY] if c.startswith(current)]
    parser = _parsers().get(words[0])
    if parser is None:
        return None
    if current.startswith("--") and "=" in current:  # --what=ngi
        flag, _, current = current.partition("=")
        words = [*words, flag]
    elif current.startswith("-"):
        given = set(words)
        return [o for o in _options(parser) if o.startswith(current) and o not in given]
    previous = words[-1] if len(words) > 1 else ""
    if previous in OUT_OPTIONS:
        return None
    action = _takes_value(parser, previous)
    if action is None:
        return None
    chosen, _, fragment = current.rpartition(",")
    if previous in NAME_OPTIONS:
        names = _names(previous, words, catalog())
    elif action.choices:
        names = list(action.choices)
    else:
        return None
    taken = set(chosen.split(",")) if chosen else set()
    return [n for n in names if n.startswith(fragment) and n not in taken]


def _names(flag: str, words: list[str], catalog: Catalog) -> list[str]:
    """The whats, or the wheres (of the whats already on the line, if any)."""
    if flag == "--what":
        return sorted(catalog)
    whats: set[str] = set()
    for i, word in enumerate(words[:-1]):
        if word == "--what":
            whats.update(words[i + 1].split(","))
        elif word.startswith("--what="):
            whats.update(word.partition("=")[2].split(","))
    return sorted({w for what, wheres in catalog.items() if not whats or what in whats
                   for w in wheres})


_LINE_MAGIC = re.compile(r"(?:^|[^\w%])%lake\s(.*)$")
_COMMENT = re.compile(r"(?:^|\s)#.*$")


def lake_text(full_text: str, cursor_line: int, until_cursor: str) -> str | None:
    """The ``%lake`` arguments before the cursor (a cell magic's header and body lines
    joined, comments dropped), or None when the cursor is not in a %lake line or cell."""
    lines = full_text.split("\n")
    if lines and lines[0].lstrip().startswith("%%lake"):
        if cursor_line == 0:  # the header: what follows %%lake
            header = until_cursor.lstrip()
            return header[len("%%lake"):] if header.startswith("%%lake ") else None
        head = [_COMMENT.sub("", line) for line in lines[:cursor_line]]
        head[0] = head[0].lstrip()[len("%%lake"):]
        return " ".join([*head, until_cursor])
    found = _LINE_MAGIC.search(until_cursor)
    return None if found is None else found.group(1)


def complete_line(text: str, catalog: Callable[[], Catalog]) -> tuple[list[str], str] | None:
    """(candidates, the fragment they replace) for the %lake arguments ``text``."""
    words = text.split()
    current = "" if not text or text[-1].isspace() else words.pop()
    found = candidates(words, current, catalog)
    if found is None:
        return None
    return found, current.rpartition("=")[2].rpartition(",")[2]


def matcher(catalog: Callable[[], Catalog]) -> Any:
    """An IPython (API v2) matcher for %lake lines; it hides the other matchers' guesses
    (Python names, files) where it has completions of its own."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher(identifier=MATCHER_ID)
    def lake_matcher(context: Any) -> dict[str, Any]:
        text = lake_text(context.full_text, context.cursor_line, context.text_until_cursor)
        found = None if text is None else complete_line(text, catalog)
        if not found:
            return {"completions": [], "suppress": False}
        names, fragment = found
        offered = [SimpleCompletion(n, type="lake") for n in names]
        # A place this completer knows (an option, a --what name) with nothing to offer
        # (no catalog yet, a lake that hangs): nothing, not IPython's guesses of Python
        # names.  IPython suppresses the other matchers only for a result that has
        # completions (by its len()), so "nothing" is a list that says it has one.
        return {"completions": offered or _Nothing(), "matched_fragment": fragment,
                "suppress": True, "ordered": True}

    return lake_matcher


class _Nothing(list):  # type: ignore[type-arg]
    """No completions that still count as some: IPython then hides the other matchers'."""

    def __len__(self) -> int:
        return 1


def register(shell: Any, catalog: Callable[[], Catalog]) -> None:
    """Add the %lake matcher to the shell's completer (once)."""
    unregister(shell)
    shell.Completer.custom_matchers.append(matcher(catalog))


def unregister(shell: Any) -> None:
    completer = getattr(shell, "Completer", None)
    if completer is not None:
        completer.custom_matchers[:] = [m for m in completer.custom_matchers
                                        if getattr(m, "matcher_identifier", None) != MATCHER_ID]
