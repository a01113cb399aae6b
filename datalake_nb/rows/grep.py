"""grep over verified cached files, defined once: a line is the bytes up to a newline
without one final CR (``formats.split_lines``), and it matches when Python's ``re``
finds the pattern in it.

GNU grep, when installed, is only a prefilter, and one that cannot drop a line Python
would match: from the parsed pattern come literal strings that every match must contain
(``required_literals``: ``' 500 '`` from ``" 500 "``, ``login`` or ``health`` from
``login|health``), ``grep -F`` finds the lines holding one of them, byte for byte, and
Python's ``re`` decides on each.  A pattern without such a literal, and ``invert``, are
searched by Python alone.
"""
from __future__ import annotations

import dataclasses
import mmap
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

try:
    import re._parser as sre_parse  # Python 3.11+
    import re._constants as sre_constants
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

from . import formats
from .gnugrep import GREP
from .compression import codec_of
from .read import (Locate, combine, content, end_of, label, parsing_pool,
                   provenance_categories, start_of, with_provenance)
from ..core.errors import InvalidInput
from ..core.metadata import Record


def compile_pattern(pattern: str, ignore_case: bool = False, fixed: bool = False) -> re.Pattern[str]:
    """Python ``re`` syntax (``fixed``: the text as it is); one-line InvalidInput if bad."""
    if not isinstance(pattern, str) or pattern == "" and not fixed:
        raise InvalidInput("pattern", f"expected a non-empty regular expression, got {pattern!r}")
    try:
        return re.compile(re.escape(pattern) if fixed else pattern,
                          re.MULTILINE | (re.IGNORECASE if ignore_case else 0))
    except re.error as exc:
        raise InvalidInput("pattern", f"{pattern!r} is not a valid regular expression: "
                                      f"{exc}") from None


@dataclasses.dataclass(frozen=True)
class Search:
    """What to look for, checked once (``make``) before any file is chosen or fetched."""

    pattern: str
    regex: re.Pattern[str]
    ignore_case: bool = False
    fixed: bool = False
    invert: bool = False

    @classmethod
    def make(cls, pattern: str, ignore_case: bool = False, fixed: bool = False,
             invert: bool = False) -> "Search":
        return cls(pattern, compile_pattern(pattern, ignore_case, fixed), ignore_case, fixed,
                   invert)

    @property
    def literals(self) -> tuple[list[str], bool] | None:
        """([literals], case-insensitive) for the prefilter, or None: see
        ``required_literals``."""
        return required_literals(self.regex)

    @property
    def whole_text(self) -> bool:
        """Whether one search over the whole text finds every line that matches on its
        own (see ``line_safe``)."""
        return line_safe(self.regex)


# -- what every match must contain --------------------------------------------------

_LITERAL, _NOT_LITERAL = sre_constants.LITERAL, sre_constants.NOT_LITERAL
_SUBPATTERN, _BRANCH = sre_constants.SUBPATTERN, sre_constants.BRANCH
_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
            getattr(sre_constants, "POSSESSIVE_REPEAT", sre_constants.MAX_REPEAT)}
_ATOMIC = getattr(sre_constants, "ATOMIC_GROUP", None)
_UNSAFE_AT = {sre_constants.AT_BEGINNING_STRING, sre_constants.AT_END_STRING}
_ASSERTS = {sre_constants.ASSERT, sre_constants.ASSERT_NOT}
_FOLDS_BEYOND_ASCII = set("iIkKsS")  # re.I matches ı İ, K (Kelvin), ſ with these


def required_literals(regex: re.Pattern[str]) -> tuple[list[str], bool] | None:
    """Literal strings one of which every match of ``regex`` contains, and whether they
    are to be found ignoring (ASCII) case; None when there are none to be sure of.

    Only characters whose bytes are the same wherever they occur count: not U+FFFD (a bad
    byte reads as one), a NUL, a CR or a line end, nor a lone surrogate; and under
    IGNORECASE only ASCII characters that fold to ASCII alone (not i, k, s)."""
    parsed = sre_parse.parse(regex.pattern, regex.flags)
    folding = bool(parsed.state.flags & re.IGNORECASE) or _any_flag(parsed, re.IGNORECASE)
    found = _needs(list(parsed), folding)
    if not found or any(len(text) < 2 for text in found):
        return None
    return found, folding


def _usable(code: int, folding: bool) -> bool:
    char = chr(code)
    if char in "\0\n\r\ufffd" or 0xD800 <= code <= 0xDFFF:
        return False
    return not folding or (code < 128 and char not in _FOLDS_BEYOND_ASCII)


def _needs(items: list[Any], folding: bool) -> list[str] | None:
    """A disjunction of literals every match of this sequence contains (the best of the
    ones it offers), or None."""
    candidates: list[list[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(["".join(run)])
            run.clear()

    for op, arg in items:
        if op is _LITERAL and _usable(arg, folding):
            run.append(chr(arg))
            continue
        flush()
        inner: list[str] | None = None
        if op is _SUBPATTERN:
            inner = _needs(list(arg[-1]), folding)
        elif op is _ATOMIC:
            inner = _needs(list(arg), folding)
        elif op in _REPEATS and arg[0] >= 1:
            inner = _needs(list(arg[2]), folding)
        elif op is _BRANCH:
            branches = [_needs(list(b), folding) for b in arg[1]]
            if all(branches):
                inner = sorted({text for b in branches for text in b})  # type: ignore[union-attr]
        if inner:
            candidates.append(inner)
    flush()
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)))


def _children(op: Any, arg: Any) -> list[Any]:
    """The sub-patterns inside one parsed item."""
    if op is _SUBPATTERN:
        return [arg[-1]]
    if op is _BRANCH:
        return list(arg[1])
    if op in _REPEATS:
        return [arg[2]]
    if op in _ASSERTS:
        return [arg[1]]
    if op is _ATOMIC:
        return [arg]
    if op is sre_constants.GROUPREF_EXISTS:
        return [part for part in arg[1:] if part is not None]
    return []


def _any_flag(parsed: Any, flag: int) -> bool:
    """Whether a scoped group ``(?i:...)`` anywhere in the pattern adds ``flag``."""
    return any((op is _SUBPATTERN and arg[1] & flag)
               or any(_any_flag(child, flag) for child in _children(op, arg))
               for op, arg in parsed)


def line_safe(regex: re.Pattern[str]) -> bool:
    """Whether a match of ``regex`` on a line on its own is a match at the same place in
    the whole text: not when it uses \\A or \\Z, a lookaround (which sees past the line's
    end in the text) or turns MULTILINE off."""

    def walk(items: Any) -> bool:
        for op, arg in items:
            if op is sre_constants.AT and arg in _UNSAFE_AT or op in _ASSERTS:
                return False
            if op is _SUBPATTERN and arg[2] & re.MULTILINE:
                return False
            if not all(walk(child) for child in _children(op, arg)):
                return False
        return True

    return walk(list(sre_parse.parse(regex.pattern, regex.flags)))


# -- Python's answer ----------------------------------------------------------------

def matching_lines(text: str, pattern: re.Pattern[str], invert: bool = False,
                   whole_text: bool = True) -> tuple[list[int], list[str]]:
    """(line numbers, lines) of ``text`` (lines joined by '\\n') that match (``invert``:
    that do not).  ``whole_text``: one search over the whole text, each hit checked
    against its own line (only for a ``line_safe`` pattern); else line by line."""
    if invert or not whole_text:
        lines = text.split("\n")
        search = pattern.search
        picked = [(n, line) for n, line in enumerate(lines, 1) if bool(search(line)) != invert]
        return [n for n, _ in picked], [line for _, line in picked]
    numbers, found = [], []
    pos, counted, line_no = 0, 0, 1
    search, find, rfind, count = pattern.search, text.find, text.rfind, text.count
    while pos <= len(text):
        m = search(text, pos)
        if m is None:
            break
        begin = rfind("\n", 0, m.start()) + 1 if m.start() > pos else pos
        end = find("\n", begin)
        end = len(text) if end < 0 else end
        line = text[begin:end]
        if search(line):
            line_no += count("\n", counted, begin)
            counted = begin
            numbers.append(line_no)
            found.append(line)
        pos = end + 1
    return numbers, found


# -- GNU grep, the prefilter --------------------------------------------------------

def candidates(source: Path | bytes, literals: list[str],
               ignore_case: bool) -> list[tuple[int, bytes]] | None:
    """(line number, raw line) of the lines of a file (or of bytes given on grep's stdin)
    that hold one of ``literals``, byte for byte (ASCII case ignored with
    ``ignore_case``), by ``grep -F`` in the C locale; None without a grep."""
    if GREP is None:
        return None
    args: list[str | bytes] = [GREP, "-n", "-a", "-h", "-F", "--color=never"]
    args += ["-i"] * ignore_case
    for text in literals:
        args += ["-e", text.encode()]
    if isinstance(source, Path):
        args += ["--", str(source)]
    try:
        proc = subprocess.run(args, input=None if isinstance(source, Path) else source,
                              capture_output=True, env={**os.environ, "LC_ALL": "C"})
    except OSError:
        return None
    if proc.returncode == 1:
        return []
    if proc.returncode != 0:
        return None
    out = []
    for row in proc.stdout.split(b"\n")[:-1]:
        number, _, line = row.partition(b":")
        out.append((int(number), line[:-1] if line.endswith(b"\r") else line))
    return out


def is_binary(source: Path | bytes) -> bool:
    """Whether the content holds a NUL byte (GNU grep's sign of a binary file)."""
    if isinstance(source, bytes):
        return b"\0" in source
    with open(source, "rb") as f:
        try:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
                return view.find(b"\0") >= 0
        except ValueError:  # an empty file cannot be mapped
            return False


# -- grep ---------------------------------------------------------------------------

def context_lines(matches: list[int], total: int, before: int, after: int) -> list[int]:
    """The line numbers grep -B ``before`` -A ``after`` prints around ``matches`` (sorted),
    in order, each once, within lines 1..``total``."""
    shown: list[int] = []
    for number in matches:
        begin = max(1, number - before, shown[-1] + 1 if shown else 1)
        shown.extend(range(begin, min(total, number + after) + 1))
    return shown


def check_context(value: Any, field: str) -> int:
    """A context length: a whole number, 0 or more (a one-line InvalidInput if not)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(field, f"{value!r}: allowed: a number of lines, 0 or more")
    return value


def lines_around(before: Any, after: Any, context: Any) -> tuple[int | None, int | None]:
    """(before, after) lines to show around each match, as grep -B / -A / -C: ``before``
    and ``after`` win over ``context`` (both); (None, None) when none is asked for."""
    if before is None and after is None and context is None:
        return None, None
    around = 0 if context is None else check_context(context, "context")
    return (check_context(around if before is None else before, "before"),
            check_context(around if after is None else after, "after"))


def grep(search: Search, records: list[Record], paths: list[Path],
         parsers: dict[str, tuple[str, formats.Parser]], url_of: Locate,
         before: int | None = None, after: int | None = None) -> pd.DataFrame:
    """The matching lines of the files (``paths``, verified, in the records' order), like
    ``grep -H -n``; with a ``time`` column when a file's record has a parser in
    ``parsers``.  A line that is not UTF-8 has U+FFFD for its bad bytes in ``line``; its
    bytes as the file holds them are in ``attrs["raw_lines"][(id, line_number)]`` (the CLI
    prints those, as grep does).  ``attrs["binary"]``: the ids of files with a NUL byte
    (the CLI says "Binary file ... matches" for them, as grep does, unless -a).
    ``before`` / ``after``: that many lines of context around each match, as grep -B / -A
    (each line once); given (even 0, as grep -C 0), a ``match`` column says which rows
    matched, and the CLI separates groups with '--'."""
    context = before is not None or after is not None
    before, after = before or 0, after or 0
    regex, invert = search.regex, search.invert
    literals = None if invert else search.literals
    whole_text = search.whole_text
    categories = provenance_categories(records)
    raw: dict[tuple[str, int], bytes] = {}
    binary: set[str] = set()

    def one(item: tuple[Record, Path]) -> pd.DataFrame:
        rec, path = item
        packed = codec_of(rec.ext or rec.url or "") is not None
        source: Path | bytes = content(rec, path, url_of) if packed else path
        hits = None if literals is None else candidates(source, *literals)
        numbers, found = [], []
        if hits is not None:  # Python's re decides on each line grep -F kept
            for number, line_bytes in hits:
                line = line_bytes.decode("utf-8", errors="replace")
                if regex.search(line):
                    numbers.append(number)
                    found.append(line)
                    if "\ufffd" in line:
                        raw[(rec.id, number)] = line_bytes
        else:
            data = source if isinstance(source, bytes) else path.read_bytes()
            if data:
                numbers, found = matching_lines(formats.decode(data), regex, invert, whole_text)
            spoilt = [n for n, line in zip(numbers, found) if "\ufffd" in line]
            if spoilt:  # rare: the file's own bytes of these lines, for the CLI to print
                original = formats.raw_lines(data)
                raw.update({(rec.id, n): original[n - 1] for n in spoilt})
        if found and is_binary(source):
            binary.add(rec.id)
        matched = None
        if found and (before or after):  # the lines around each match, from the whole file
            data = source if isinstance(source, bytes) else path.read_bytes()
            every = formats.split_lines(data)
            hits_at = set(numbers)
            numbers = context_lines(numbers, len(every), before, after)
            found = [every[n - 1] for n in numbers]
            matched = [n in hits_at for n in numbers]
            spoilt = [n for n, line in zip(numbers, found) if "\ufffd" in line]
            if spoilt:
                original = formats.raw_lines(data)
                raw.update({(rec.id, n): original[n - 1] for n in spoilt})
        frame = pd.DataFrame({"line_number": np.array(numbers, dtype="int64"),
                              "line": pd.Series(found, dtype="str")})
        if context:
            frame["match"] = np.array(matched if matched is not None else [True] * len(found),
                                      dtype=bool)
        parser = parsers.get(rec.id, (None, None))[1]
        if parser is not None and found:
            frame["time"] = _times_of(found, _first_line(source, parser), parser, rec)
        return with_provenance(frame, rec, categories)

    with parsing_pool(len(records)) as pool:
        frames = list(pool.map(one, zip(records, paths)))
    if not frames:
        empty = pd.DataFrame({"line_number": pd.Series(dtype="int64"),
                              "line": pd.Series(dtype="str")})
        if context:
            empty["match"] = pd.Series(dtype=bool)
        frames = [with_provenance(empty, None, categories)]
    if any("time" in f.columns for f in frames):
        frames = [f if "time" in f.columns else f.assign(time=pd.Series(pd.NaT, index=f.index,
                                                                        dtype=formats.TIME))
                  for f in frames]
    result = combine(frames)
    result.attrs = {key: value for key, value in (("raw_lines", raw), ("binary", binary))
                    if value}
    return result


def _first_line(source: Path | bytes, parser: formats.Parser) -> str | None:
    """A CSV file's header line (its parser needs it), else None."""
    if not isinstance(parser, formats.Csv):
        return None
    if isinstance(source, Path):
        with open(source, "rb") as f:
            source = f.readline()
    lines = formats.split_lines(source.split(b"\n", 1)[0])
    return lines[0] if lines else ""


def _times_of(found: list[str], header: str | None, parser: formats.Parser,
              rec: Record) -> pd.Series:
    """The format's time of each matched line (parsing just those lines; a CSV file's
    header goes first).  NaT where a line has none."""
    data = "\n".join(([header] if header is not None else []) + found).encode()
    try:
        parsed = formats.parse(parser, data, start=start_of(rec), label=label(rec),
                               end=end_of(rec))
    except InvalidInput:
        parsed = pd.DataFrame()
    nat = pd.Series(pd.NaT, index=range(len(found)), dtype=formats.TIME)
    if "time" not in parsed.columns:
        return nat
    offset = 1 if header is not None else 0
    lookup = pd.Series(parsed["time"].to_numpy(), index=parsed["line_number"].to_numpy() - offset)
    return pd.Series(lookup.reindex(range(1, len(found) + 1)).to_numpy(),
                     dtype=formats.TIME).rename(None)
