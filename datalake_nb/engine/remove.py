"""Remove: the end of a file's life (``datalake rm``, ``expire``, ``Lake.remove``).

A record has up to four keys (data object, where entry, catalog entry of its pair, work
entry); a push writes them in that order, so no reader sees an entry whose data is
missing.  A remove undoes them in the mirror order, behind a marker:

1. ``removing/<size>/<the data key without "data/">`` (0 bytes): the intent, written
   first.  ``check`` reads it as "this record is going away": it does not ask for the
   record's missing entries back (which would undo the remove) but reports
   ``unfinished-remove``, and ``check --repair`` finishes the steps below.
2. the work entry, 3. the where entry (queries by work id, then by where, stop finding
   it; plain listings still list it and its bytes are still there);
4. the data object (now no query lists it);
5. the marker;
6. per (what, where) pair whose last record went: its catalog entry (a remove killed
   before this leaves a ``dangling-catalog-entry`` that ``check --repair`` deletes).

So at every point of a remove, as of a push, every row a query lists can be fetched,
and a remove killed anywhere is found by ``check`` and finished by ``check --repair``.
Each step is a delete that may find its key gone already: doing a remove twice (or
finishing one) is safe.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

from ..config import duration_seconds
from ..core import layout
from ..core.errors import DatalakeError, InvalidInput
from ..core.metadata import Record
from ..stores.base import Store
from .pool import Pool

REMOVING = "removing/"


def marker_key(rec: Record) -> str:
    """The key that says ``rec`` is being removed (it holds the size, which the where and
    work keys need, so a marker alone is enough to finish the remove)."""
    return f"{REMOVING}{rec.size or 0}/{layout.data_key(rec)[len(layout.DATA):]}"


def parse_marker_key(key: str) -> Record | None:
    """The record a marker names (with its size), or None if the lake never writes it."""
    if not key.startswith(REMOVING):
        return None
    size, _, rest = key[len(REMOVING):].partition("/")
    if not size.isdigit():
        return None
    rec = layout.parse_data_key(layout.DATA + rest, size=int(size))
    return rec if rec is not None and marker_key(rec) == key else None


@dataclasses.dataclass
class Removed:
    """What a remove did: the records whose keys are all gone, and the pairs whose
    catalog entry went with their last record."""
    records: list[Record]
    pairs: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def remove_records(store: Store, pool: Pool, records: list[Record],
                   advance: Callable[[int], None] | None = None) -> Removed:
    """Remove each record (the steps in the module's docstring), ``pool.concurrency`` at
    a time; then delete the catalog entry of each pair that has no record left."""
    def one(rec: Record, step: Callable[[int], None]) -> Record:
        rec = stored_size(store, rec)
        finish_remove(store, rec, write_marker=True)
        step(0)
        return rec

    done = pool.each(one, list(records), advance or (lambda n: None), "file(s) removed")
    pairs = sorted({(rec.what, rec.where) for rec in records})
    emptied = [pair for pair in pairs if drop_catalog_if_empty(store, *pair)]
    return Removed(done, emptied)


def stored_size(store: Store, rec: Record) -> Record:
    """``rec`` with its data object's size (a list() row or a Record from elsewhere may
    carry none, or a wrong one; the where and work keys hold the stored size)."""
    try:
        entry = store.head(layout.data_key(rec))
    except DatalakeError as exc:
        raise DatalakeError(f"remove {rec.id}: {exc}; nothing of it was removed") from None
    return rec if entry is None else dataclasses.replace(rec, size=entry.size)


def finish_remove(store: Store, rec: Record, write_marker: bool) -> None:
    """Steps 1-5 for one record (``check --repair`` calls it with the marker written).
    The record's ``size`` must be the stored one (a listing's or the marker's)."""
    size = rec.size or 0
    marker = marker_key(rec)
    try:
        if write_marker:
            store.put_bytes(marker, b"")
        if rec.work_id is not None:
            store.delete(layout.work_key(rec, size))
        store.delete(layout.where_key(rec, size))
        store.delete(layout.data_key(rec))
        store.delete(marker)
    except (DatalakeError, OSError) as exc:
        raise DatalakeError(f"remove {rec.id}: {exc}; 'datalake check --repair' finishes "
                            "the remove") from None


def drop_catalog_if_empty(store: Store, what: str, where: str) -> bool:
    """Delete the pair's catalog entry when no record of it is left; whether it did.

    The pair's where entries answer when its catalog entry says they are complete
    (INDEXED); else the what's data listing is read.  A push of the same pair that runs
    at this very moment can lose its catalog entry (``check`` reports it, ``--repair``
    writes it; queries by where still find its file)."""
    key = layout.catalog_key(what, where)
    mark = store.head(key)
    if mark is None:
        return False
    if mark.size == len(layout.INDEXED):
        if _first(store.list(layout.where_prefix(what, where))):
            return False
    elif any(rec is not None and rec.where == where
             for rec in (layout.parse_data_key(e.key) for e in store.list(f"{layout.DATA}{what}/"))):
        return False
    store.delete(key)
    return True


def _first(entries: Iterable[object]) -> bool:
    for _ in entries:
        return True
    return False


def confirmed(records: list[Record], yes: bool, dry_run: bool, how: str) -> bool:
    """Whether to go on and remove ``records`` (False: a dry run).  More than one file
    needs ``yes``: without it nothing is removed and the InvalidInput says how to look
    first (``how`` names the face's way to say yes)."""
    if dry_run:
        return False
    if len(records) > 1 and not yes:
        raise InvalidInput("yes", f"{len(records)} files match and nothing was removed: look "
                                  f"at them with a dry run, then give {how} to remove them")
    return True


def older_than_cutoff(older_than: str | float, now: int) -> int:
    """The end time (UTC ms) before which a file has expired: ``now`` - ``older_than`` (a
    duration: ``400d``, ``12h``, or seconds)."""
    seconds = duration_seconds("older-than", older_than)
    if seconds <= 0:
        raise InvalidInput("older-than", f"{older_than!r}: give a positive duration, e.g. 400d")
    return now - int(seconds * 1000)
