"""grep -c: the number of matching lines of each file, with grep's one meaning
(``grep.py``), at GNU grep's pace where that is exact (``gnugrep.py``): a plain,
case-sensitive text in an uncompressed file is counted by ``grep -c -F`` with nothing
read into Python; every other file goes through ``grep.grep``."""
from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path

from . import gnugrep
from .compression import codec_of
from ..core.metadata import Record


def count_matches(pattern: str, records: list[Record], paths: list[Path], url_of,
                  ignore_case: bool = False, fixed: bool = False,
                  invert: bool = False) -> list[tuple[Record, int]]:
    """(record, count) of each file with at least one matching line, in the records'
    order.  ``paths``: the records' verified cached files; ``url_of`` as for grep."""
    literal = gnugrep.exact_literal(pattern, ignore_case, fixed, invert)
    counted: dict[str, int | None] = {}
    plain = [(rec, path) for rec, path in zip(records, paths)
             if literal is not None and codec_of(rec.ext or rec.url or "") is None]
    if plain:
        workers = min(len(plain), os.cpu_count() or 1)
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:  # grep runs outside the GIL
            for (rec, _), n in zip(plain, pool.map(lambda item: gnugrep.count(item[1], literal),
                                                    plain)):
                counted[rec.id] = n
    rest = [(rec, path) for rec, path in zip(records, paths) if counted.get(rec.id) is None]
    if rest or literal is None:  # (literal None: grep.grep checks the pattern, even for no files)
        from . import grep as grepping
        search = grepping.Search.make(pattern, ignore_case, fixed, invert)
        found = grepping.grep(search, [rec for rec, _ in rest], [path for _, path in rest], {},
                              url_of)
        counted.update(found["id"].value_counts(sort=False).items())
    return [(rec, n) for rec in records if (n := counted.get(rec.id) or 0) > 0]
