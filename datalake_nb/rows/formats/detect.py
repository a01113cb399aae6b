"""Which format a file is in, from its first lines (``detect``), and ``format="auto"``.

Like lnav, with no configuration: each built-in parser reads the first lines (up to 100
that are not empty) and the one that parses the most of them, at least 90%, wins.  A line
counts as parsed when it is not unparsed and, for a format with times, has one: so a CSV
reader, which takes nearly any text as a one-column table, wins only with a time column.
Formats with times come first; of equal shares, the more specific (earlier in CANDIDATES).
"""
from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from ...core.errors import InvalidInput
from .base import get, parse, raw_lines

# The more specific first: docker lines are JSON lines too, clf lines nginx lines.
CANDIDATES = ("docker", "nginx", "syslog", "jsonl", "logfmt", "csv", "clf")
SAMPLE_LINES = 100
SAMPLE_BYTES = 1 << 20
THRESHOLD = 0.9


class Detection(NamedTuple):
    format: str           # the winner, or "lines" when none parses 90%
    share: float          # of the sample lines it parsed
    lines: int            # sample lines (not empty)
    scores: pd.DataFrame  # format, parsed, timed, share: every candidate


def sample(data: bytes) -> bytes:
    """The first lines that are not empty (up to SAMPLE_LINES, in about SAMPLE_BYTES); a
    header line, if the file has one, is the first of them."""
    head = data[:SAMPLE_BYTES]
    if len(data) > SAMPLE_BYTES:
        head = head[:head.rfind(b"\n") + 1] or head
    kept = [line for line in raw_lines(head) if line.strip()][:SAMPLE_LINES]
    return b"\n".join(kept) + b"\n" if kept else b""


def detect(data: bytes, start: pd.Timestamp | None = None,
           end: pd.Timestamp | None = None) -> Detection:
    """The format of a file whose (first) bytes are ``data``."""
    head = sample(data)
    rows = []
    for name in CANDIDATES:
        try:
            frame = parse(get(name), head, start=start, end=end, warn=False)
        except InvalidInput:
            continue
        fields = [c for c in frame.columns if c not in ("line_number", "unparsed")]
        if name == "csv" and len(fields) < 2:
            continue  # one column: any text reads so
        total = len(frame)
        good = frame["unparsed"].isna() if "unparsed" in frame.columns else \
            pd.Series(True, index=frame.index)
        timed = "time" in frame.columns
        if timed:
            good &= frame["time"].notna()
        rows.append({"format": name, "parsed": int(good.sum()), "lines": total, "timed": timed,
                     "share": float(good.sum()) / total if total else 0.0})
    scores = pd.DataFrame(rows, columns=["format", "parsed", "lines", "timed", "share"])
    order = scores.assign(rank=range(len(scores))).sort_values(
        ["timed", "share", "rank"], ascending=[False, False, True])
    winner = order[order["share"] >= THRESHOLD].head(1)
    lines = len(raw_lines(head))
    scores = order.drop(columns="rank").reset_index(drop=True)
    if winner.empty:
        return Detection("lines", 1.0 if lines else 0.0, lines, scores)
    row = winner.iloc[0]
    return Detection(str(row["format"]), float(row["share"]), lines, scores)


class Auto:
    """``format="auto"``: each file in the format ``detect`` finds in its first lines
    (``lines`` when none reads 90% of them); ``attrs["format"]`` says which."""

    __name__ = "auto"
    params: dict[str, str] = {}

    def __call__(self, data: bytes, start: pd.Timestamp | None = None,
                 end: pd.Timestamp | None = None) -> pd.DataFrame:
        found = detect(data, start, end)
        frame = parse(get(found.format), data, start=start, end=end)
        frame.attrs = dict(frame.attrs)
        frame.attrs["format"] = found.format
        return frame
