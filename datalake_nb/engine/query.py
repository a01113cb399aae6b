"""Queries: which listings answer a Query (data listings by span class, or where entries
for a few wheres, or work entries), run on the pool; latest, get, the catalog, and why a
query found nothing."""
from __future__ import annotations

import dataclasses
import difflib
import functools
from typing import Any, Callable, Iterable, Iterator

from ..core import layout
from ..core.errors import NotFound
from ..core.metadata import Record, validate_id, validate_name
from ..core.query import Query
from ..stores.base import Entry, Store
from ..stores.local import LocalStore
from .pool import Pool

WHERE_INDEX_MAX = 8  # wheres a query finds through their where entries; more: data listings
Listing = Callable[[], Iterable[Record]]  # one listing's records, yielded as its pages arrive


def in_order(rec: Record) -> tuple[Any, ...]:
    """The order of ``records`` and ``list``: by start, then end, what, where, id."""
    return (rec.start, rec.stop, rec.what, rec.where, rec.id)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
    return f" (known: {shown})"


class Index:
    """The lake's keys read as records: ``store``'s listings, ``pool.concurrency`` at a time."""

    def __init__(self, store: Store, pool: Pool):
        self.store, self.pool = store, pool

    def located(self, rec: Record) -> Record:
        return dataclasses.replace(rec, url=self.store.url_for(layout.data_key(rec)))

    def require_lake(self) -> None:
        """Reading a local folder that is not there is a mistake (a typo'd path), not an
        empty lake.  (On S3 that would cost a request: an empty answer says it instead.)"""
        if isinstance(self.store, LocalStore) and not self.store.exists():
            raise NotFound(f"no lake at {self.store.root}: nothing was ever pushed there (a "
                           "push creates it); check the storage URL")

    # -- records --------------------------------------------------------------------

    def records(self, query: Query) -> list[Record]:
        """The records that match, sorted by start (the list() rows, as Records)."""
        found = [r for part in self.pool.map(lambda listing: [r for r in listing()
                                                               if query.keeps(r)],
                                             self.listings(query))
                 for r in part]
        return sorted(found, key=in_order)

    def listings(self, query: Query) -> list[Listing]:
        """The listings that answer ``query`` (they may run in parallel); each record they
        give must still pass ``query.keeps``."""
        self.require_lake()
        if query.work_id is not None:
            return [functools.partial(self._by_work, query)]
        whats = list(query.whats) if query.whats is not None else self.store.list_dirs(layout.DATA)
        found = self._by_where(whats, query)
        return ([functools.partial(iter, recs) for recs in found.values()]
                + [functools.partial(self._scanned, scan)
                   for w in whats if w not in found for scan in layout.plan(w, query.start,
                                                                             query.end)])

    def _by_work(self, query: Query) -> Iterator[Record]:
        for entry in self.store.list(layout.work_prefix(query.work_id or "")):
            rec = layout.parse_work_key(entry.key)
            if rec is not None and (query.whats is None or rec.what in query.whats):
                yield self.located(rec)

    def _by_where(self, whats: list[str], query: Query) -> dict[str, list[Record]]:
        """{what: its records from the query's wheres} for the whats whose where entries
        can be trusted (see _indexed).  Empty without a where filter or with more than
        WHERE_INDEX_MAX wheres (then filtering the data listings costs less)."""
        wheres = query.wheres
        if wheres is None or len(wheres) > WHERE_INDEX_MAX:
            return {}
        pairs = [(what, where) for what in whats for where in wheres]
        scans = [(what, scan) for what, where in pairs
                 for scan in layout.plan(what, query.start, query.end, where)]
        untrusted, listed = self._with_marks(pairs, lambda job: list(self._scanned(job[1])),
                                             scans)
        found: dict[str, list[Record]] = {what: [] for what in whats if what not in untrusted}
        seen: set[str] = set()  # a damaged lake may hold two entries for one record
        for (what, _), recs in zip(scans, listed):
            for rec in recs if what in found else ():
                if rec.id not in seen:
                    seen.add(rec.id)
                    found[what].append(rec)
        return found

    def _with_marks(self, pairs: list[tuple[str, str]], work: Callable[[Any], Any],
                    items: list[Any]) -> tuple[set[str], list[Any]]:
        """``work(item)`` for each item, run together with a HEAD of each (what, where)
        pair's catalog entry, so the question "can its where entries be trusted?" costs no
        round trip of its own (the work is wasted on a lake from before where entries).
        Returns the whats of the pairs that cannot, and the results in order."""
        jobs = [(True, pair) for pair in pairs] + [(False, item) for item in items]
        results = self.pool.map(lambda job: self._indexed(layout.catalog_key(*job[1])) if job[0]
                                else work(job[1]), jobs)
        untrusted = {what for (what, _), trusted in zip(pairs, results) if not trusted}
        return untrusted, results[len(pairs):]

    def _indexed(self, catalog_key: str) -> bool:
        """Whether the pair's where entries can be trusted to be complete: its catalog entry
        says so, or there is none (no data of the pair, or the pair's first push stopped
        after its upload: that record is found by where once the push is repeated or
        ``check --repair`` runs).  A 0-byte one is a lake's from before where entries, or
        was written by an older version."""
        mark = self.store.head(catalog_key)
        return mark is None or mark.size == len(layout.INDEXED)

    def _scanned(self, scan: layout.Scan) -> Iterator[Record]:
        for entry in self.store.list(scan.prefix, scan.start_after, scan.stop):
            rec = self._record_of(entry)
            if rec is not None:
                yield rec

    def _record_of(self, entry: Entry) -> Record | None:
        """The record a listed data object or where entry names (None: a key the lake
        never writes)."""
        if entry.key.startswith(layout.WHERE):
            rec = layout.parse_where_key(entry.key)
            return rec and self.located(rec)
        return layout.parse_data_key(entry.key, size=entry.size, url=self.store.url_for(entry.key))

    # -- one record -----------------------------------------------------------------

    def get(self, record_id: str) -> Record:
        """The record with this id (one small listing per what)."""
        validate_id(record_id)
        self.require_lake()
        scans = [s for s in (layout.scan_for_id(w, record_id)
                             for w in self.store.list_dirs(layout.DATA)) if s]
        for part in self.pool.map(lambda scan: list(self._scanned(scan)), scans):
            for rec in part:
                if rec.id == record_id:
                    return rec
        raise NotFound(f"no record with id {record_id} in {self.store.url}")

    def latest(self, what: str, wheres: list[str] | None, shown_where: Any = None) -> Record:
        """The record of ``what`` (from ``wheres``) with the latest start; of records with
        the same start, the longest; of the same start and end, the later push (S3's
        LastModified, a local file's mtime)."""
        validate_name("what", what)
        self.require_lake()
        found = self._latest_by_where(what, wheres)
        if found is None:
            found = [pair for part in self.pool.map(
                lambda index: self._latest_in(layout.class_prefix(what, index), wheres),
                range(len(layout.SPAN_CLASSES))) for pair in part]
        elif len(found) > 1:  # the push time of a tie is its data object's, not its where entry's
            top = max((rec.start, rec.stop) for rec, _ in found)
            tied = [rec for rec, _ in found if (rec.start, rec.stop) == top]
            if len(tied) > 1:
                found = [(rec, getattr(self.store.head(layout.data_key(rec)), "modified", None))
                         for rec in tied]
        if not found:
            raise NotFound(f"no {what} files" + (f" from {shown_where}" if shown_where else "")
                           + f" in {self.store.url}")
        return max(found, key=lambda pair: (pair[0].start, pair[0].stop, pair[1] or 0,
                                            pair[0].id))[0]

    def _latest_by_where(self, what: str, wheres: list[str] | None
                         ) -> list[tuple[Record, int | None]] | None:
        """latest()'s candidates found through the where entries, or None when a pair's
        cannot be trusted (or with no or too many wheres)."""
        if not wheres or len(wheres) > WHERE_INDEX_MAX:
            return None
        walks = [f"{layout.where_prefix(what, where)}{name}/" for where in wheres
                 for name, _ in layout.SPAN_CLASSES]
        untrusted, parts = self._with_marks([(what, where) for where in wheres],
                                            lambda prefix: self._latest_in(prefix, wheres), walks)
        return None if untrusted else [pair for part in parts for pair in part]

    def _latest_in(self, prefix: str, wheres: list[str] | None) -> list[tuple[Record, int | None]]:
        """The records of one span class (its data/ or a where's prefix) on its newest day
        with a match (with their push times), found by walking the class's year/month/day
        folders from the newest back: a few listings, however big or old the lake.  With a
        where filter, the rest of a month is one ranged listing after its newest day had no
        match."""
        for year in self._dirs_desc(prefix):
            for month in self._dirs_desc(year):
                days = self._dirs_desc(month)
                found = self._matching(self.store.list(days[0]), wheres) if days else []
                if not found and wheres is not None and len(days) > 1:
                    found = self._matching(self.store.list(month, stop=days[0]), wheres)
                elif not found:
                    for day in days[1:]:
                        if found := self._matching(self.store.list(day), wheres):
                            break
                if found:
                    return found
        return []

    def _dirs_desc(self, prefix: str) -> list[str]:
        """The date folders (digits only) under ``prefix``, newest first."""
        return [f"{prefix}{name}/" for name in sorted(self.store.list_dirs(prefix), reverse=True)
                if name.isdigit()]

    def _matching(self, entries: Iterable[Any], wheres: list[str] | None
                  ) -> list[tuple[Record, int | None]]:
        out = []
        for entry in entries:
            rec = self._record_of(entry)
            if rec is not None and (wheres is None or rec.where in wheres):
                out.append((rec, entry.modified))
        return out

    # -- the catalog ----------------------------------------------------------------

    def catalog(self) -> dict[str, list[str]]:
        """{what: [wheres]} for everything the lake holds (entries the lake would not
        write, like a where of '..', are skipped: `datalake check` reports them)."""
        self.require_lake()
        out: dict[str, list[str]] = {}
        for entry in self.store.list(layout.CATALOG):
            pair = layout.parse_catalog_key(entry.key)
            if pair is not None:
                out.setdefault(pair[0], []).append(pair[1])
        return out

    def explain_empty(self, whats: list[str], wheres: list[str]) -> str | None:
        """Why a query may have found nothing, in one line (or None): a what or where the
        catalog does not know (with a did-you-mean), or a lake that holds nothing yet."""
        catalog = self.catalog()
        if not catalog:
            there = "nothing is stored" if not self.store.exists() else "no files are listed"
            return f"{there} under {self.store.url}: no lake there yet (check the storage URL)"
        hints = [f"no what {w!r} in this lake{did_you_mean(w, catalog)}"
                 for w in whats if w not in catalog]
        known_whats = [w for w in whats if w in catalog]
        if whats and not known_whats:  # every what is unknown: its wheres say nothing more
            return "; ".join(hints)
        known = sorted({w for name, found in catalog.items()
                        if not known_whats or name in known_whats for w in found})
        hints += [f"no where {w!r} for {'/'.join(known_whats) or 'any what'}"
                  f"{did_you_mean(w, known)}" for w in wheres if w not in known]
        return "; ".join(hints) or None
