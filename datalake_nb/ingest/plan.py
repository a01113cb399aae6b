"""A push's plan: every file with its finished metadata, before anything is uploaded.

What the user gave is completed here: times from the content (``content_times``) where
none were given.  Every file is checked, and its content read when that is needed, before
the first upload, so a file without times stops the push with nothing archived.
"""
from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path
from typing import Any, Iterable

from ..engine import push as pushing
from ..stores.base import Store
from .content_times import format_for, is_mtime, mtime_ms, resolve_times

PathLike = str | os.PathLike[str]


def items_of(items: Iterable[PathLike | dict[str, Any]], shared: dict[str, Any]
             ) -> list[dict[str, Any]]:
    """Each item as a dict: a path takes ``shared``; a dict's own fields win over them."""
    return [{**shared, **item} if isinstance(item, dict) else {**shared, "path": item}
            for item in items]


def plan(items: list[dict[str, Any]], store: Store,
         format: Any = None) -> list[tuple[Path, dict[str, Any]]]:
    """(path, validated fields) of each item, times completed: an item without ``start``
    takes its times from its content (``end`` too, unless given), read with ``format``
    or the lake's format of its what and data version.  An item with ``start`` and no
    ``end`` stays a snapshot, as before, unless ``end_from_content`` is set in it (its
    start came from its path).  Files are read in parallel (a thread per core: parsing
    releases the GIL)."""
    paths = [pushing.checked_path(item.get("path")) for item in items]
    wanted = {(item.get("what"), item.get("data_version")) for item in items if _reads(item)}
    found = {key: format_for(format, store=store, what=key[0], data_version=key[1])
             for key in wanted}  # one lookup of the mapping per pair, before the threads

    def completed(pair: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
        path, item = pair
        item = {k: v for k, v in item.items() if k != "end_from_content"}
        start, end = item.get("start"), item.get("end")
        if _reads(pair[1]):
            fmt = found[(item.get("what"), item.get("data_version"))]
            got = resolve_times(path, start, end, found=fmt)
            item.update(start=got.start, end=got.end)
        elif is_mtime(start) or is_mtime(end):
            item.update(start=mtime_ms(path) if is_mtime(start) else start,
                        end=mtime_ms(path) if is_mtime(end) else end)
        return item

    pairs = list(zip(paths, items))
    reading = sum(map(_reads, items))
    if reading > 1:
        workers = max(1, min(reading, os.cpu_count() or 1))
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            done = list(pool.map(completed, pairs))
    else:
        done = [completed(pair) for pair in pairs]
    return [(path, pushing.checked_fields({k: v for k, v in item.items() if k != "path"}))
            for path, item in zip(paths, done)]


def _reads(item: dict[str, Any]) -> bool:
    """Whether an item's times come from its content: no start, or a start from its path
    and no end.  (A start given without an end is a snapshot: an instant.)"""
    return item.get("start") is None or (item.get("end") is None
                                         and bool(item.get("end_from_content")))
