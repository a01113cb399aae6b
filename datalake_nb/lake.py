"""The Lake: the one client behind the Python API, the CLI and the notebook magics."""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import difflib
import functools
import io
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Iterator, Sequence

from .cache import Cache, readable_name, remove_temp_files, temp_file
from .check import Report, check
from .config import Config, resolve
from .core import layout, times
from .core.errors import DatalakeError, IntegrityError, InvalidInput, NotFound
from .core.metadata import (Record, check_ext, check_fields, check_hash, check_id, check_name,
                            check_order, check_work_id, ext_of)
from .frame import row_fields, to_frame
from .hashing import (HashedUpload, VerifiedFile, VerifiedStream, content_hash, corrupt_message,
                      hash_open_file)
from .listing import Listing
from .progress import Progress, ProgressArg, as_progress
from .stores.base import Buffer, Entry, LocalStore, Store
from .stores.factory import open_store

if TYPE_CHECKING:
    import pandas as pd


Names = str | Sequence[str] | None
PathLike = str | os.PathLike[str]
SMALL_FILE = 16 << 20  # read into memory once, hashed and sent as those very bytes
GRACE_S = 2.0  # after Ctrl-C, how long transfers in flight get to abort and clean up


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or the kernel's Interrupt) stopped a push or fetch; the message says what
    was finished.  Queued work was not started, transfers in flight were abandoned."""


class _Cancelled(Exception):
    """Raised inside a worker, from its progress callback, once the user interrupted."""


_NOT_STARTED = object()  # what ``_each`` gives for an item skipped after another one failed




def split_names(field: str, value: Names) -> list[str] | None:
    """'a,b' or ['a', 'b'] -> ['a', 'b'] (validated); None -> None (no filter)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [check_name(field, item.strip() if isinstance(item, str) else item) for item in items]
    return list(dict.fromkeys(names))


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
    return f" (known: {shown})"


WHERE_INDEX_MAX = 8  # wheres a query finds through their where entries; more: data listings


class Lake:
    """A datalake at one root URL (S3 or a local folder).

    One way to configure it, never two silently: ``Lake(url, cache_dir=...)`` resolves
    those with the environment and config files (argument > environment > files; no URL
    means the embedded lake under the user's data directory); ``Lake(config=...)``
    takes a configuration already resolved (``config.resolve``), and then ``url`` or
    ``cache_dir`` as well is an error.  ``store=`` injects the Store (tests wrap one to
    count or spoil calls): it replaces the configured URL, so it excludes ``url``.
    ``progress`` is the default of push / push_many / fetch: False (no bar), True (a
    ``tqdm.auto`` bar) or a ``datalake_nb.progress.Progress``.
    """

    def __init__(self, url: str | None = None, *, config: Config | None = None,
                 store: Store | None = None, cache_dir: PathLike | None = None,
                 progress: ProgressArg = False):
        if config is not None and (url is not None or cache_dir is not None):
            raise InvalidInput("Lake", "give url/cache_dir or a resolved config=, not both "
                                       "(put them into the config with config.resolve)")
        if store is not None and url is not None:
            raise InvalidInput("Lake", "give url or store=, not both")
        self.config = config or resolve({"DATALAKE_STORAGE_URL": url,
                                         "DATALAKE_CACHE_DIR": cache_dir})
        self.concurrency = int(self.config["DATALAKE_CONCURRENCY"] or 8)
        self.store = store or open_store(self.config)
        self.cache = Cache(self.config["DATALAKE_CACHE_DIR"])
        as_progress(progress)  # a bad value fails here, not at the first push
        self.progress = progress

    @property
    def url(self) -> str:
        return self.store.url

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"

    # -- push ---------------------------------------------------------------

    def push(self, path: PathLike, *, what: str, where: str, start: Any, end: Any = None,
             data_version: str, work_id: str | None = None,
             progress: ProgressArg = None) -> Record:
        """Archive one file; returns its record (``push_many`` archives several)."""
        if not isinstance(path, (str, bytes, os.PathLike)) and hasattr(path, "__iter__"):
            raise InvalidInput("path", f"push takes one file path, got a {type(path).__name__}; "
                                       "use push_many for several files")
        return self.push_many([path], what=what, where=where, start=start, end=end,
                              data_version=data_version, work_id=work_id, progress=progress)[0]

    def push_many(self, items: Iterable[PathLike | dict[str, Any]], *,
                  progress: ProgressArg = None, **shared: Any) -> list[Record]:
        """Archive several files; returns their records in order.  An item is a path (its
        metadata are the ``shared`` keywords: what=, where=, start=, ...) or a dict with
        ``path`` and its own fields, which win over ``shared``.  Every item is checked
        before any upload."""
        items = [{**shared, **item} if isinstance(item, dict) else {**shared, "path": item}
                 for item in items]
        planned = [(self._check_path(item.get("path")), self._check_item(item)) for item in items]
        total = sum(p.stat().st_size for p, _ in planned)
        cataloged = _Cataloged()  # per call: a repair elsewhere may drop entries
        with self._progress(progress, total, len(planned), "push") as bar:
            return self._each(lambda job, advance: _counted(bar, self._push_one(
                *job, cataloged, advance)), planned, bar.advance, "file(s) archived")

    @staticmethod
    def _check_item(item: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in item.items() if k != "path"}
        allowed = {"what", "where", "start", "end", "data_version", "work_id"}
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise InvalidInput("push", f"unknown field(s) {', '.join(unknown)}; allowed: path, "
                                       + ", ".join(sorted(allowed)))
        for name in ("what", "where", "start", "data_version"):
            if name not in fields:
                raise InvalidInput(name, "is required")
        return check_fields(**fields)

    def _check_path(self, path: Any) -> Path:
        allowed = "give a readable regular file (an empty one is fine)"
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise InvalidInput("path", f"expected a file path, got {path!r}; {allowed}")
        p = Path(path)
        try:
            if not p.exists():
                raise InvalidInput("path", f"{str(p)!r} does not exist; {allowed}")
            if not p.is_file():
                raise InvalidInput("path", f"{str(p)!r} is not a regular file; {allowed}")
            with open(p, "rb"):  # really opened: os.access() says yes to root, and on NFS
                pass
        except OSError as exc:
            raise InvalidInput("path", f"{str(p)!r} is not readable ({exc.strerror}); "
                                       f"{allowed}") from None
        return p

    def _push_one(self, path: Path, fields: dict[str, Any], cataloged: "_Cataloged",
                  advance: Callable[[int], None]) -> Record:
        """Upload the where entry, the data object (the record), then the other entries.

        The bytes sent are the bytes hashed: a small file is read once into memory; a big
        one is read again for the upload and checked against its hash before the object
        appears.  Every key is only created if absent (a conditional write), so a push
        never overwrites, and a roll-back only ever deletes what this push created: the
        same key may hold an earlier or concurrent identical push that succeeded.  The
        where entry goes first: a push killed after its upload then leaves a complete
        record, not one that queries by where miss (killed before, it leaves a where entry
        without data: a row that cannot be fetched, which ``check --repair`` removes).
        """
        try:
            # One open: a file renamed over the path meanwhile is not read.  A small file's
            # bytes count against the store's memory for transfers until they are sent.
            with open(path, "rb", buffering=0) as src, contextlib.ExitStack() as held:
                found = os.fstat(src.fileno()).st_size
                if found < SMALL_FILE:
                    body: Buffer | HashedUpload = held.enter_context(
                        self.store.read_whole(src, found, advance))
                    digest = content_hash()
                    digest.update(body)
                    hash_hex, size = digest.hexdigest(), len(body)
                else:
                    hash_hex, size = hash_open_file(src)
                    src.seek(0)
                    body = HashedUpload(src, hash_hex, size, str(path))
                rec = layout.build_record(fields, hash_hex, ext_of(path.name), size=size)
                key, where_key = layout.data_key(rec), layout.where_key(rec, size)
                meta = {"datalake-record": json.dumps(rec.to_json())}
                listed = self._put_entry(where_key)
                try:
                    if not isinstance(body, HashedUpload):
                        created = self.store.put_bytes(key, body, meta, if_absent=True)
                        sent = size  # reported below: a cancel raised there must roll it back
                    else:
                        created = self.store.put_file(key, body, meta, advance, size=size,
                                                      if_absent=True)
                        sent = 0
                except BaseException as exc:
                    raise (self._unlist(where_key, key, exc) if listed else exc) from None
        except OSError as exc:  # reading the file; a local lake: disk full, no permission
            raise DatalakeError(f"{path}: {exc}; nothing was archived") from None
        try:
            advance(sent)  # interrupted while the upload was finishing: roll it back
            self._write_entries(rec, size, cataloged)
        except BaseException as exc:
            raise self._roll_back(rec, path, exc, created) from None
        return self._located(rec, key)

    def _write_entries(self, rec: Record, size: int, cataloged: "_Cataloged") -> None:
        """The pair's catalog entry, then the work entry.  The catalog entry says INDEXED
        when this pair's first push wrote where entries: a lake written before them keeps
        its 0-byte entries (queries then filter data listings) until ``check --repair``
        indexes it."""
        pair = (rec.what, rec.where)
        if pair not in cataloged.pairs:
            with cataloged.lock:  # one file in flight writes it; the others wait, not retry
                if pair not in cataloged.pairs:
                    self._put_entry(layout.catalog_key(*pair), layout.INDEXED)
                    cataloged.pairs.add(pair)
        if rec.work_id is not None:
            self._put_entry(layout.work_key(rec, size))

    def _put_entry(self, key: str, body: bytes = b"") -> bool:
        """Create an index entry if absent; whether this call created it.  One that fails
        but exists already (an earlier or concurrent push wrote the same key) is done, not
        an error."""
        try:
            return self.store.put_bytes(key, body, if_absent=True)
        except DatalakeError:
            if not self._exists(key):
                raise
            return False

    def _exists(self, key: str) -> bool:
        try:
            return self.store.head(key) is not None
        except DatalakeError:
            return False

    def _unlist(self, where_key: str, key: str, exc: BaseException) -> BaseException:
        """After the data upload failed: remove the where entry this push wrote for it,
        unless the data is there after all (its answer was lost) or that is unknown."""
        try:
            if self.store.head(key) is not None:
                return exc
            self.store.delete(where_key)
        except (DatalakeError, OSError) as undo:
            return DatalakeError(f"{exc}; its where entry {where_key} may be left without "
                                 f"data ({undo}): run 'datalake check --repair'")
        return exc

    def _roll_back(self, rec: Record, path: Path, exc: BaseException,
                   created: bool) -> BaseException:
        """After a later step failed: remove the data object, then its where entry, if this
        push created it, so no half-made record stays visible.  One that was there before
        belongs to an earlier push and stays.  The error to raise says what happened."""
        failure = isinstance(exc, (DatalakeError, OSError))
        if isinstance(exc, _Cancelled) or not failure:
            outcome = None
        elif not created:
            outcome = (f"{path}: {exc}; its data object was archived before and is kept: push "
                       "it again or run 'datalake check --repair' to complete its index entries")
        else:
            outcome = f"{path}: {exc}; nothing was archived (push it again)"
        if created:
            for name, key in (("data object", layout.data_key(rec)),
                              ("where entry", layout.where_key(rec, rec.size or 0))):
                try:
                    self.store.delete(key)
                except (DatalakeError, OSError) as undo:
                    if not failure:
                        return exc
                    return DatalakeError(
                        f"{path}: {exc}; removing its {name} failed too ({undo}), so the "
                        "record may show without its index entries: push it again or run "
                        "'datalake check --repair'")
        return exc if outcome is None else DatalakeError(outcome)

    def _located(self, rec: Record, key: str) -> Record:
        return dataclasses.replace(rec, url=self.store.url_for(key))

    # -- query --------------------------------------------------------------

    def _require_lake(self) -> None:
        """Reading a local folder that is not there is a mistake (a typo'd path), not an
        empty lake.  (On S3 that would cost a request: an empty answer says it instead.)"""
        if isinstance(self.store, LocalStore) and not self.store.exists():
            raise NotFound(f"no lake at {self.store.root}: nothing was ever pushed there (a "
                           "push creates it); check the storage URL")

    def records(self, what: Names = None, where: Names = None, start: Any = None,
                end: Any = None, work_id: str | None = None) -> list[Record]:
        """The records that match, sorted by start (the list() rows, as Records)."""
        listings, keep = self._plan(what, where, start, end, work_id)
        found = [r for part in self._each(lambda listing, _: [r for r in listing() if keep(r)],
                                           listings, lambda n: None, "listings done")
                 for r in part]
        return sorted(found, key=_in_order)

    def _plan(self, what: Names, where: Names, start: Any, end: Any, work_id: str | None
              ) -> tuple[list[Callable[[], Iterable[Record]]], Callable[[Record], bool]]:
        """A query's listings (each yields records as its pages arrive; they may run in
        parallel) and the test a listed record must pass.  Bad input fails here, before
        anything is listed."""
        whats, wheres = split_names("what", what), split_names("where", where)
        qs = None if start is None else times.to_ms(start, "start")
        qe = None if end is None else times.to_ms(end, "end")
        check_order(qs, qe)
        check_work_id(work_id)
        self._require_lake()
        listings: list[Callable[[], Iterable[Record]]]
        if work_id is not None:
            def by_work() -> Iterator[Record]:
                for entry in self.store.list(layout.work_prefix(work_id)):
                    rec = layout.parse_work_key(entry.key)
                    if rec is not None and (whats is None or rec.what in whats):
                        yield self._located(rec, layout.data_key(rec))
            listings = [by_work]
        else:
            if whats is None:
                whats = self.store.list_dirs(layout.DATA)
            found = self._by_where(whats, wheres, qs, qe)
            listings = [functools.partial(iter, recs) for recs in found.values()]
            listings += [functools.partial(self._scanned, scan)
                         for w in whats if w not in found for scan in layout.plan(w, qs, qe)]

        def keep(r: Record) -> bool:
            return ((wheres is None or r.where in wheres)
                    and (qe is None or r.start <= qe) and (qs is None or r.stop >= qs))
        return listings, keep

    def _by_where(self, whats: list[str], wheres: list[str] | None, qs: int | None,
                  qe: int | None) -> dict[str, list[Record]]:
        """{what: its records from ``wheres``} for the whats whose where entries can be
        trusted (see _indexed).  Empty without a where filter or with more than
        WHERE_INDEX_MAX wheres (then filtering the data listings costs less)."""
        if wheres is None or len(wheres) > WHERE_INDEX_MAX:
            return {}
        pairs = [(what, where) for what in whats for where in wheres]
        scans = [(what, scan) for what, where in pairs for scan in layout.plan(what, qs, qe, where)]
        untrusted, listed = self._with_marks(pairs, lambda job: self._scan(job[1]), scans)
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
        results = self._each(lambda job, _: self._indexed(layout.catalog_key(*job[1])) if job[0]
                             else work(job[1]), jobs, lambda n: None, "listings done")
        untrusted = {what for (what, _), trusted in zip(pairs, results) if not trusted}
        return untrusted, results[len(pairs):]

    def _indexed(self, catalog_key: str) -> bool:
        """Whether the pair's where entries can be trusted to be complete: its catalog entry
        says so, or there is none (no data of the pair, or a push that stopped before
        writing it, which wrote its where entry first).  A 0-byte one is a lake's from
        before where entries, or was written by an older version."""
        mark = self.store.head(catalog_key)
        return mark is None or mark.size == len(layout.INDEXED)

    def _scan(self, scan: layout.Scan) -> list[Record]:
        return list(self._scanned(scan))

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
            return rec and self._located(rec, layout.data_key(rec))
        return layout.parse_data_key(entry.key, size=entry.size, url=self.store.url_for(entry.key))

    def list(self, what: Names = None, where: Names = None, start: Any = None,
             end: Any = None, work_id: str | None = None) -> "pd.DataFrame":
        """A DataFrame of the matching files, one row each, sorted by start.

        Columns: id, what, where, start, end (UTC timestamps), work_id,
        data-version, hash, size, url, version.  A file matches when its
        [start, end] overlaps [start, end] of the query.
        """
        frame = to_frame(self.records(what, where, start, end, work_id))
        if frame.empty:
            frame.attrs["hint"] = self.explain_empty(what, where)
        return frame

    def explain_empty(self, what: Names = None, where: Names = None) -> str | None:
        """Why a query may have found nothing, in one line (or None): a what or where the
        catalog does not know (with a did-you-mean), or a lake that holds nothing yet."""
        catalog = self.catalog()
        if not catalog:
            there = "nothing is stored" if not self.store.exists() else "no files are listed"
            return f"{there} under {self.url}: no lake there yet (check the storage URL)"
        whats = split_names("what", what) or []
        hints = [f"no what {w!r} in this lake{_did_you_mean(w, catalog)}"
                 for w in whats if w not in catalog]
        known = sorted({w for name, wheres in catalog.items() if not whats or name in whats
                        for w in wheres})
        hints += [f"no where {w!r} for {'/'.join(whats) or 'any what'}{_did_you_mean(w, known)}"
                  for w in split_names("where", where) or [] if w not in known]
        return "; ".join(hints) or None

    def latest(self, what: str, where: Names = None) -> Record:
        """The record of ``what`` (from ``where``) with the latest start; of records with
        the same start, the longest; of the same start and end, the later push (S3's
        LastModified, a local file's mtime)."""
        check_name("what", what)
        wheres = split_names("where", where)
        self._require_lake()
        found = self._latest_by_where(what, wheres)
        if found is None:
            found = [pair for part in self._each(
                lambda index, _: self._latest_in(layout.class_prefix(what, index), wheres),
                range(len(layout.SPAN_CLASSES)), lambda n: None, "listings done") for pair in part]
        elif len(found) > 1:  # the push time of a tie is its data object's, not its where entry's
            top = max((rec.start, rec.stop) for rec, _ in found)
            tied = [rec for rec, _ in found if (rec.start, rec.stop) == top]
            if len(tied) > 1:
                found = [(rec, getattr(self.store.head(layout.data_key(rec)), "modified", None))
                         for rec in tied]
        if not found:
            raise NotFound(f"no {what} files" + (f" from {where}" if where else "")
                           + f" in {self.url}")
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

    def check(self, repair: bool = False, delete_orphans: bool = False, deep: bool = False,
              stale_age: str | float | None = None) -> "Report":
        """Find damage: data without a record, missing or dangling index entries, leftovers
        of killed writes (and with ``deep`` corrupt bytes); ``repair`` fixes the index and
        removes leftovers older than ``stale_age`` (default DATALAKE_STALE_AGE, 1 day),
        ``delete_orphans`` removes what is no record.  See ``datalake_nb.check``."""
        self._require_lake()
        return check(self.store, repair=repair, delete_orphans=delete_orphans, deep=deep,
                     concurrency=self.concurrency, cache_root=self.cache.root,
                     progress=as_progress(self.progress),
                     stale_age=stale_age or self.config["DATALAKE_STALE_AGE"] or "1d")

    def catalog(self) -> dict[str, list[str]]:
        """{what: [wheres]} for everything the lake holds (entries the lake would not
        write, like a where of '..', are skipped: `datalake check` reports them)."""
        self._require_lake()
        out: dict[str, list[str]] = {}
        for entry in self.store.list(layout.CATALOG):
            pair = layout.parse_catalog_key(entry.key)
            if pair is not None:
                out.setdefault(pair[0], []).append(pair[1])
        return out

    def timeline(self, frame: "pd.DataFrame | None" = None, **filters: Any) -> Any:
        """A picture of coverage (one row per where, colour by what) so gaps stand out.

        Draws ``frame`` (a list() DataFrame), else ``self.list(**filters)``, over at
        least the query's start..end; returns the matplotlib Axes.  See ``datalake_nb.notebook.timeline.timeline``.
        """
        from .notebook.timeline import timeline
        return timeline(self.list(**filters) if frame is None else frame,
                        start=filters.get("start"), end=filters.get("end"))

    def get(self, record_id: str) -> Record:
        """The record with this id (one small listing per what)."""
        check_id(record_id)
        self._require_lake()
        scans = [s for s in (layout.scan_for_id(w, record_id)
                             for w in self.store.list_dirs(layout.DATA)) if s]
        for part in self._each(lambda scan, _: self._scan(scan), scans, lambda n: None,
                                "listings done"):
            for rec in part:
                if rec.id == record_id:
                    return rec
        raise NotFound(f"no record with id {record_id} in {self.url}")

    # -- read ---------------------------------------------------------------

    def open(self, item: "str | Record", *, decompress: bool = False) -> BinaryIO:
        """A readable binary stream of one file, without downloading it first (with
        ``decompress``, the content of a .gz, .bz2 or .xz file)."""
        rec = self._resolve([item])[0]
        key = layout.data_key(rec)
        stream = VerifiedStream(self.store.open(key), rec, self.store.url_for(key))
        if decompress:
            from .compression import open_decompressed
            return open_decompressed(io.BufferedReader(stream), rec.ext)
        return stream

    def fetch(self, items: Any = None, dest: PathLike | None = None, *, what: Names = None,
              where: Names = None, start: Any = None, end: Any = None,
              work_id: str | None = None, progress: ProgressArg = None,
              cancel: threading.Event | None = None) -> list[Path]:
        """Download files into ``dest``: ``items`` (a DataFrame from list(), records, or
        ids), or the files a query matches (the keywords of ``list``).

        Every file's hash is verified before it is placed; files already in the local
        cache are not downloaded again.  Each file is placed as soon as it is verified,
        while others download; a query's downloads start on the listing's first page (a
        query by up to WHERE_INDEX_MAX wheres lists its where entries first: they are few).
        Returns the local paths in the order given (a query's: the order of ``list``).
        Setting ``cancel`` (from another thread: a widget's Cancel button) stops it as
        Ctrl-C does: ``Interrupted``, whose message counts the files placed (each whole).
        """
        query = {"what": what, "where": where, "start": start, "end": end, "work_id": work_id}
        asked = any(value is not None for value in query.values())
        if items is not None and asked:
            raise InvalidInput("fetch", "give items (ids, records or a list() frame) or query "
                                        "keywords (what=, where=, ...), not both")
        if items is None and not asked:
            raise InvalidInput("fetch", "give items (ids, records or a list() frame) or at "
                                        "least one of what=, where=, start=, end=, work_id=")
        folder = os.fspath(dest if dest is not None else self.config["DATALAKE_FETCH_DIR"] or ".")
        placing = _Placing(self, folder)
        try:
            if items is not None:
                jobs = [placing.plan(rec) for rec in self._resolve(items)]
                with self._progress(progress, placing.bytes, placing.files, "fetch") as bar:
                    placing.bar = bar
                    placed = self._each(placing.run, jobs, bar.advance, "file(s) fetched",
                                        cancel)
                order: Iterable[int] = range(len(placed))
            else:
                listings, keep = self._plan(**query)
                with self._progress(progress, 0, 0, "fetch") as bar, \
                        Listing(listings, keep, self.concurrency, cancel) as listed:
                    placing.bar = bar  # told of each file to download as the listing finds it
                    placed = self._each(placing.run, map(placing.plan, listed), bar.advance,
                                        "file(s) fetched", cancel, total=listed.total)
                order = sorted(range(len(placed)), key=lambda i: _in_order(placing.jobs[i][0]))
        except Interrupted:
            placing.finish()  # the files it counts as fetched are all in place
            raise
        except BaseException:
            placing.undo()
            raise
        placing.finish()
        return [Path(placed[i]) for i in order]

    def cached(self, records: Sequence[Record], *, progress: ProgressArg = None,
               cancel: threading.Event | None = None) -> list[Path]:
        """Each record's verified file in the local cache, in order: what is missing is
        downloaded in parallel and its hash checked first (the cache's files are read-only;
        ``fetch`` places them, ``read`` and ``grep`` parse them where they are)."""
        found: dict[str, str | Path | None] = {}
        missing = []
        for rec in records:
            if rec.hash not in found:
                found[rec.hash] = self.cache.find(rec)
                if found[rec.hash] is None:
                    missing.append(rec)
        total = sum(r.size or 0 for r in missing)
        with self._progress(progress, total, len(missing), "fetch") as bar:
            paths = self._each(lambda r, advance: _counted(bar, self._download(r, advance)),
                               missing, bar.advance, "file(s) downloaded", cancel)
        found.update((rec.hash, path) for rec, path in zip(missing, paths))
        return [Path(found[r.hash]) for r in records]  # type: ignore[arg-type]

    def _download(self, rec: Record, advance: Callable[[int], None]) -> str:
        """Download into a temporary file that hashes the bytes in order as they arrive
        (parts may come in parallel), and move it into the cache only if the hash is the
        record's: the file is never read a second time."""
        key = layout.data_key(rec)
        folder = self.cache.entry(rec.hash).rpartition("/")[0]
        # Closed on any error (late writes are refused); read-only from the start, so
        # adding it to the cache is one utime and one rename through the open fd.
        with temp_file(folder, mode=0o444) as tmp, VerifiedFile(tmp.fd) as sink:
            self.store.get_file(key, sink, advance, rec.size)
            actual, _ = sink.result()
            if actual != rec.hash:
                raise IntegrityError(corrupt_message(self.store.url_for(key), rec, actual))
            return self.cache.add_open(tmp, rec)

    def _resolve(self, items: Any) -> list[Record]:
        """Records from a DataFrame, Records, JSON dicts, or ids."""
        if hasattr(items, "iterrows"):
            items = [row for _, row in items.iterrows()]
        elif isinstance(items, (str, Record, dict)):
            items = [items]
        out = []
        for item in items:
            if isinstance(item, Record):
                out.append(item)
            elif isinstance(item, str):
                out.append(self.get(item))
            elif hasattr(item, "get"):
                out.append(self._from_row(item))
            else:
                raise InvalidInput("fetch", f"cannot fetch {item!r}: give ids, records or a list() frame")
        return out

    def _from_row(self, row: Any) -> Record:
        try:
            fields = check_fields(**row_fields(row))
            url = str(row["url"])
            ext = row.get("ext")
            if ext is None:  # a JSON record (list --format json) has no ext: its URL ends with it
                tail = url.rsplit("/", 1)[-1].partition(".")[2]
                ext = "." + tail if tail else ""
            rec = layout.build_record(fields, check_hash(row["hash"]), check_ext(ext),
                                      size=int(row["size"]), url=url)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput("fetch", f"not a row of Lake.list(): {exc}") from None
        if rec.id != row["id"]:
            raise InvalidInput("fetch", f"row {row['id']!r} does not match its fields; "
                                        "pass rows from Lake.list() unchanged")
        return rec

    # -- helpers ------------------------------------------------------------

    def _each(self, work: Callable[[Any, Callable[[int], None]], Any], items: Iterable[Any],
              advance: Callable[[int], None], done: str,
              cancel: threading.Event | None = None,
              total: Callable[[float], int | None] | None = None) -> list[Any]:
        """``work(item, progress)`` for every item on the pool; the results in order.

        ``items`` may be an iterator (a listing still running): each item is queued as it
        comes, and after an interrupt ``total(deadline)`` says how many it gives in all
        (None: unknown by then; it gets GRACE_S of its own).  Ctrl-C (or setting ``cancel``) stops it: queued
        items are cancelled, and work in flight stops at its next progress report (an
        upload is abandoned, a download discarded), with GRACE_S to clean up; threads
        stuck on the network are not waited for.  The first error stops it too (also one
        raised by ``items``): items not started are cancelled, those in flight end (what
        they finished stays), and that error is raised.
        """
        cancelled = cancel if cancel is not None else threading.Event()

        def progress(n: int) -> None:
            if cancelled.is_set():
                raise _Cancelled()
            advance(n)

        failed = threading.Event()  # once set, no worker starts another item
        # Items queued and not ended, and an event set when that reaches 0 or one fails:
        # the main thread waits on one event, not on every future (each such wait costs
        # a lock per pending future: ~5 ms for 2,000, ten times a second).
        count_lock, settled = threading.Lock(), threading.Event()
        outstanding = 0

        def run(item: Any) -> Any:
            nonlocal outstanding
            try:
                if failed.is_set():
                    return _NOT_STARTED
                return progress(0) or work(item, progress)
            except BaseException:
                failed.set()
                raise
            finally:
                with count_lock:
                    outstanding -= 1
                    if outstanding == 0 or failed.is_set():
                        settled.set()

        pool = concurrent.futures.ThreadPoolExecutor(self.concurrency)
        futures: list[concurrent.futures.Future[Any]] = []
        source = iter(items)
        try:
            # inside the try: Ctrl-C may come while work is being queued
            while not (failed.is_set() or cancelled.is_set()):
                try:
                    item = next(source)
                except StopIteration:
                    break
                with count_lock:
                    outstanding += 1
                futures.append(pool.submit(run, item))
            while not cancelled.is_set():  # a set ``cancel`` is seen within 0.1 s
                settled.clear()
                with count_lock:
                    if outstanding == 0 or failed.is_set():
                        break
                settled.wait(0.1)
            if cancelled.is_set():
                raise KeyboardInterrupt  # cancelled: stopped as Ctrl-C stops it
            for future in futures:
                future.cancel()  # after an error: those not started yet
            concurrent.futures.wait(futures)
        except KeyboardInterrupt:
            cancelled.set()
            for future in futures:
                future.cancel()
            concurrent.futures.wait(futures, timeout=GRACE_S)
            remove_temp_files()  # of transfers still running: they are not waited for
            finished = sum(1 for f in futures if f.done() and not f.cancelled()
                           and f.exception() is None and f.result() is not _NOT_STARTED)
            if isinstance(items, Sequence):
                count = str(len(items))
            else:
                found = total(time.monotonic() + GRACE_S) if total is not None else len(futures)
                count = str(found) if found is not None else f"at least {len(futures)}"
            raise Interrupted(f"interrupted: {finished} of {count} {done}; "
                              "nothing else was written") from None
        except BaseException:  # ``items`` failed (a listing): the work in flight ends first
            failed.set()
            for future in futures:
                future.cancel()
            concurrent.futures.wait(futures)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for future in futures:
            if not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]

    @contextlib.contextmanager
    def _progress(self, arg: ProgressArg, total: int, files: int, desc: str) -> Iterator[Progress]:
        """The caller's progress callback (else the Lake's default), started and closed."""
        bar = as_progress(self.progress if arg is None else arg)
        bar.start(total, files, desc)
        try:
            yield bar
        finally:
            bar.close()


    # -- rows: read, grep, formats, Dask (datalake_nb.reading, datalake_nb.distributed) --

    def read(self, rows: Any = None, *, format: str | None = None, clip: bool = True,
             **query: Any) -> "pd.DataFrame":
        """The parsed lines of the matching files: columns id, what, where, line_number,
        then the format's fields (event time in ``time``, UTC).

        ``rows`` (a list() DataFrame, ids, Records) or the query keywords of ``list``
        choose the files; ``format`` names the parser (default: the lake's mapping, see
        ``set_format``).  With ``clip`` and a ``start``/``end``, rows whose time lies
        outside [start, end] are dropped (both edges inside; lines without a time are
        kept).  Lines that did not parse keep their text in ``unparsed``;
        ``df.attrs["unparsed"]`` counts them.  Files are read through the verified
        cache, in parallel.
        """
        from .reading import read
        return read(self, rows, format=format, clip=clip, **query)

    def grep(self, pattern: str, rows: Any = None, *, ignore_case: bool = False,
             fixed: bool = False, invert: bool = False, **query: Any) -> "pd.DataFrame":
        """Lines of the matching files that match ``pattern`` (Python ``re`` syntax;
        ``fixed``: plain text; ``invert``: lines that do not match), like ``grep -H -n``:
        columns id, what, where, line_number, line (unchanged), and ``time`` when the
        lake knows the file's format.  Files come as for ``read``."""
        from .reading import grep
        return grep(self, pattern, rows, ignore_case=ignore_case, fixed=fixed, invert=invert,
                    **query)

    def set_format(self, what: str, data_version: str, format_name: str) -> None:
        """Record in the lake which format parses ``what`` files of ``data_version``, so
        every reader parses them alike (one small object, formats/<what>/<data-version>)."""
        from .reading import set_format
        set_format(self, what, data_version, format_name)

    def formats(self) -> "pd.DataFrame":
        """The lake's format mapping: columns what, data-version, format."""
        from .reading import formats_frame
        return formats_frame(self)

    def to_dask(self, rows: Any = None, *, format: str | None = None, clip: bool = True,
                **query: Any) -> Any:
        """The rows of ``read`` as a dask DataFrame, one partition per file; workers read
        the objects straight from the store and verify them (``pip install
        'datalake_nb[dask]'``).  See ``datalake_nb.distributed``."""
        from .distributed import to_dask
        return to_dask(self, rows, format=format, clip=clip, **query)


class _Cataloged:
    """The (what, where) pairs whose catalog entry one push call has written, and the lock
    that lets one file in flight write each."""

    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()
        self.lock = threading.Lock()


def _in_order(rec: Record) -> tuple[Any, ...]:
    """The order of ``records`` and ``list``: by start, then end, what, where, id."""
    return (rec.start, rec.stop, rec.what, rec.where, rec.id)


class _Placing:
    """One fetch's files: each hash is downloaded once (by the first job that finds it
    missing, under its lock) and each record placed by its own job right after, when its
    destination is new (or is that file already).  A destination holding other bytes is
    replaced at the end, once everything is verified; after an error the files this fetch
    linked are removed again: the destination changes only when the fetch succeeds (or,
    interrupted, by the files it finished)."""

    class Entry:
        __slots__ = ("lock", "cached")

        def __init__(self, cached: str | None):
            self.lock, self.cached = threading.Lock(), cached

    def __init__(self, lake: Lake, folder: str):
        self.lake, self.folder = lake, folder
        self.entries: dict[str, _Placing.Entry] = {}
        self.jobs: list[tuple[Record, str, _Placing.Entry]] = []
        self.bytes = self.files = 0  # to download
        self.bar = Progress()
        self.linked: list[tuple[str, str, list[str]]] = []  # (dest, cached, folders made)
        self.later: list[tuple[str, str]] = []  # (cached, dest): dest holds other bytes

    def plan(self, rec: Record) -> tuple[Record, str, "_Placing.Entry"]:
        """The job of ``rec`` (in the main thread, in order: a hash's first record decides
        whether it is downloaded, and tells the bar)."""
        entry = self.entries.get(rec.hash)
        if entry is None:
            entry = self.entries[rec.hash] = self.Entry(self.lake.cache.find(rec))
            if entry.cached is None:
                self.bytes += rec.size or 0
                self.files += 1
                self.bar.more(rec.size or 0, 1)
        job = (rec, f"{self.folder}/{readable_name(rec)}", entry)
        self.jobs.append(job)
        return job

    def run(self, job: tuple[Record, str, "_Placing.Entry"],
            progress: Callable[[int], None]) -> str:
        """Download (if no job did) and verify, then place: a placed file is a whole one."""
        rec, target, entry = job
        if entry.cached is None:
            with entry.lock:
                if entry.cached is None:
                    entry.cached = self.lake._download(rec, progress)
                    self.bar.file_done()
        progress(0)  # interrupted meanwhile: place nothing more
        made = self.lake.cache.place_new(entry.cached, target)
        if made is not None:
            self.linked.append((target, entry.cached, made))
        elif not _same_file(entry.cached, target):
            self.later.append((entry.cached, target))
        return target

    def finish(self) -> None:
        """Replace the destinations that held other bytes (everything is verified now)."""
        for cached, target in self.later:
            self.lake.cache.replace(cached, target)

    def undo(self) -> None:
        """After an error: remove the files this fetch linked and the folders it made."""
        for target, cached, _ in self.linked:
            if _same_file(cached, target):
                with contextlib.suppress(OSError):
                    os.unlink(target)
        for folder in sorted({f for _, _, made in self.linked for f in made},
                             key=len, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if empty: another process may have put files there


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _counted(bar: Progress, result: Any) -> Any:
    """``result`` of one finished file, after telling ``bar``."""
    bar.file_done()
    return result
