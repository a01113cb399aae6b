"""grep over verified cached files: the lines that match a Python ``re`` pattern.

GNU grep (``-P``), when installed, finds candidate lines fast; every candidate is
re-checked with Python's ``re``, whose answer it is.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from . import formats
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


def matching_lines(text: str, pattern: re.Pattern[str], invert: bool = False) -> tuple[list[int], list[str]]:
    """(line numbers, lines) of ``text`` (no trailing newline) that match, as grep finds
    them: one search over the whole text, each hit checked against its own line (a
    pattern may not match across a line end)."""
    if invert:
        lines = text.split("\n") if text else []
        search = pattern.search
        picked = [(n, line) for n, line in enumerate(lines, 1) if not search(line)]
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


def gnu_grep(source: Path | bytes, pattern: str, ignore_case: bool, fixed: bool,
             invert: bool) -> tuple[list[int], list[str]] | None:
    """GNU grep's candidate lines (``-n``) of a file, or of bytes given on its stdin; None
    when there is no GNU grep or it refuses the pattern (then Python's ``re`` scans).
    Perl-compatible syntax (``-P``) is Python's for all but exotic patterns, and the
    caller re-checks every candidate with Python's ``re``."""
    if GREP is None or not gnu_takes(pattern):
        return None
    args: list[str | bytes] = [GREP, "-n", "-a", "-h", "--color=never", "-F" if fixed else "-P"]
    args += ["-i"] * ignore_case + ["-v"] * invert + ["-e", pattern.encode()]
    if isinstance(source, Path):
        args += ["--", str(source)]
    try:
        proc = subprocess.run(args, input=None if isinstance(source, Path) else source,
                              capture_output=True, env={**os.environ, "LC_ALL": "C.UTF-8"})
    except OSError:
        return None
    if proc.returncode == 1:
        return [], []
    if proc.returncode != 0:
        return None
    numbers, found = [], []
    for row in proc.stdout.decode("utf-8", errors="replace").split("\n")[:-1]:
        number, _, line = row.partition(":")
        numbers.append(int(number))
        found.append(line[:-1] if line.endswith("\r") else line)
    return numbers, found


def gnu_takes(pattern: str) -> bool:
    """Whether GNU grep would search for the very pattern Python does.  Not with a NUL (no
    argument can hold one), a line end (grep splits the pattern into several there and keeps
    a CRLF line's CR, so ``-v`` would drop lines), U+FFFD (Python's text has it for a byte
    that is not UTF-8, grep sees the byte) or a lone surrogate (not UTF-8 at all)."""
    if any(char in pattern for char in "\0\n\r\ufffd"):
        return False
    try:
        pattern.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _grep_gnu_path() -> str | None:
    """GNU grep with -P (PCRE), or None."""
    path = shutil.which("grep")
    if path is None:
        return None
    try:
        probe = subprocess.run([path, "-P", "-c", "x"], input=b"x\n", capture_output=True,
                               timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if probe.returncode == 0 else None


GREP = _grep_gnu_path()


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


def grep(search: Search, records: list[Record], paths: list[Path],
         parsers: dict[str, tuple[str, formats.Parser]], url_of: Locate) -> pd.DataFrame:
    """The matching lines of the files (``paths``, verified, in the records' order), like
    ``grep -H -n``; with a ``time`` column when a file's record has a parser in
    ``parsers``.  A line that is not UTF-8 has U+FFFD for its bad bytes in ``line``; its
    bytes as the file holds them are in ``attrs["raw_lines"][(id, line_number)]`` (the CLI
    prints those, as grep does)."""
    regex, invert = search.regex, search.invert
    categories = provenance_categories(records)
    raw: dict[tuple[str, int], bytes] = {}

    def one(item: tuple[Record, Path]) -> pd.DataFrame:
        rec, path = item
        packed = codec_of(rec.ext or rec.url or "") is not None
        data = content(rec, path, url_of) if packed else None
        text: str | None = None
        hits = gnu_grep(data if packed else path, search.pattern, search.ignore_case,
                        search.fixed, invert)
        if hits is not None:  # keep exactly the lines Python's re agrees on
            keep = [bool(regex.search(line)) != invert for line in hits[1]]
            numbers = [n for n, k in zip(hits[0], keep) if k]
            found = [line for line, k in zip(hits[1], keep) if k]
        else:
            data = path.read_bytes() if data is None else data
            text = formats.decode(data)
            numbers, found = matching_lines(text, regex, invert) if data else ([], [])
        frame = pd.DataFrame({"line_number": np.array(numbers, dtype="int64"),
                              "line": pd.Series(found, dtype="str")})
        spoilt = [n for n, line in zip(numbers, found) if "\ufffd" in line]
        if spoilt:  # rare: the file's own bytes of these lines, for the CLI to print
            original = formats.raw_lines(data if data is not None else path.read_bytes())
            raw.update({(rec.id, n): original[n - 1] for n in spoilt})
        parser = parsers.get(rec.id, (None, None))[1]
        if parser is not None and found:
            if text is None and isinstance(parser, formats.Csv):
                text = formats.decode(data if data is not None else path.read_bytes())
            frame["time"] = _times_of(found, text or "", parser, rec)
        return with_provenance(frame, rec, categories)

    with parsing_pool(len(records)) as pool:
        frames = list(pool.map(one, zip(records, paths)))
    if not frames:
        frames = [with_provenance(pd.DataFrame({"line_number": pd.Series(dtype="int64"),
                                                "line": pd.Series(dtype="str")}), None,
                                  categories)]
    if any("time" in f.columns for f in frames):
        frames = [f if "time" in f.columns else f.assign(time=pd.Series(pd.NaT, index=f.index,
                                                                        dtype=formats.TIME))
                  for f in frames]
    result = combine(frames)
    result.attrs = {"raw_lines": raw} if raw else {}
    return result


def _times_of(found: list[str], text: str, parser: formats.Parser, rec: Record) -> pd.Series:
    """The format's time of each matched line (parsing just those lines; a CSV file's
    header goes first).  NaT where a line has none."""
    header = isinstance(parser, formats.Csv)
    data = "\n".join(([text.split("\n", 1)[0]] if header else []) + found).encode()
    try:
        parsed = formats.parse(parser, data, start=start_of(rec), label=label(rec),
                               end=end_of(rec))
    except InvalidInput:
        parsed = pd.DataFrame()
    nat = pd.Series(pd.NaT, index=range(len(found)), dtype=formats.TIME)
    if "time" not in parsed.columns:
        return nat
    offset = 1 if header else 0
    lookup = pd.Series(parsed["time"].to_numpy(), index=parsed["line_number"].to_numpy() - offset)
    return pd.Series(lookup.reindex(range(1, len(found) + 1)).to_numpy(),
                     dtype=formats.TIME).rename(None)
