"""A push's plan: every file with its finished metadata, before anything is uploaded.

What the user gave is completed here: times from the content (``content_times``) where
none were given.  Every file is checked, and its content read when that is needed, before
the first upload, so a file without times stops the push with nothing archived.
"""
from __future__ import annotations

import concurrent.futures
import os
import re
from pathlib import Path
from typing import Any, Iterable

from ..core.errors import InvalidInput
from ..core.metadata import is_name, validate_name
from ..engine import push as pushing
from ..stores.base import Store
from .content_times import format_for, is_mtime, mtime_ms, resolve_times

PathLike = str | os.PathLike[str]


def items_of(items: Iterable[PathLike | dict[str, Any]], shared: dict[str, Any]
             ) -> list[dict[str, Any]]:
    """Each item as a dict: a path takes ``shared``; a dict's own fields win over them."""
    return [{**shared, **item} if isinstance(item, dict) else {**shared, "path": item}
            for item in items]


def plan(items: list[dict[str, Any]], store: Store, format: Any = None,
         default_where: str | None = None, formats: dict[Any, Any] | None = None,
         ) -> list[tuple[Path, dict[str, Any]]]:
    """(path, validated fields) of each item, times completed: an item without ``start``
    takes its times from its content (``end`` too, unless given), read with ``format``
    or the lake's format of its what and data version.  An item with ``start`` and no
    ``end`` stays a snapshot, as before, unless ``end_from_content`` is set in it (its
    start came from its path and a format is known).  Files are read in parallel (a thread per core: parsing
    releases the GIL).  ``default_where`` (DATALAKE_DEFAULT_WHERE) is the where of an
    item that has none.  ``formats``: the formats looked up so far, by (what, data
    version), kept between calls (an import plans one object at a time)."""
    items = [with_where(item, default_where) for item in items]
    paths = [pushing.checked_path(item.get("path")) for item in items]
    wanted = {(item.get("what"), item.get("data_version")) for item in items if _reads(item)}
    known = {} if formats is None else formats
    for key in wanted - known.keys():  # one lookup of the mapping per pair, before the threads
        known[key] = format_for(format, store=store, what=key[0], data_version=key[1])
    found = {key: known[key] for key in wanted}

    def completed(pair: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
        path, item = pair
        item = {k: v for k, v in item.items() if k != "end_from_content"}
        start, end = item.get("start"), item.get("end")
        fmt = found.get((item.get("what"), item.get("data_version")))
        if _reads(pair[1]) and (fmt is not None or start is None):
            got = resolve_times(path, start, end, found=fmt, given_from="the path" if
                                pair[1].get("end_from_content") else "given")
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


def with_where(item: dict[str, Any], default_where: str | None) -> dict[str, Any]:
    """The item with its where (its what checked first, as a missing one is also a
    missing option, said so): its own, else the configured default (checked as a where
    is, the error naming the setting); an item with neither is an error saying both."""
    if item.get("what") is None:
        raise InvalidInput("what", "is required; give --what (what=), or a --path-template "
                                   "with {what}")
    if item.get("where") is not None:
        return item
    if not default_where:
        raise InvalidInput("where", "is required; give --where (where=), or set "
                                    "DATALAKE_DEFAULT_WHERE for the pushes of this host")
    if not is_name("where", default_where):
        try:
            validate_name("where", default_where)
        except InvalidInput as exc:
            raise InvalidInput("DATALAKE_DEFAULT_WHERE", f"{exc.problem}; set it to a where "
                                                         f"the lake allows, e.g. "
                                                         f"{as_name(default_where)!r}") from None
    return {**item, "where": default_where}


def as_name(text: str) -> str:
    """A name the lake allows made from ``text`` (each other character a '-'), to suggest."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:64] or "-"


def _reads(item: dict[str, Any]) -> bool:
    """Whether an item's times come from its content: no start, or a start from its path
    and no end.  (A start given without an end is a snapshot: an instant.)"""
    return item.get("start") is None or (item.get("end") is None
                                         and bool(item.get("end_from_content")))
