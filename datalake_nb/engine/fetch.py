"""Fetch: records' bytes into the verified cache (downloaded once per hash, checked before
they are kept) and placed at their destinations, each file whole."""
from __future__ import annotations

import contextlib
import errno
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..core import layout
from ..core.errors import DatalakeError, IntegrityError, InvalidInput
from ..core.metadata import Record, validate_ext, validate_fields, validate_hash
from ..output import row_fields
from ..stores.base import Store
from .background import BackgroundListing
from .cache import Cache, readable_name, temp_file
from .hashing import VerifiedFile, corrupt_message
from .pool import Interrupted, Pool, counted
from .progress import Progress, ProgressArg, opened
from .query import Listing, in_order


def resolve(items: Any, get: Callable[[str], Record]) -> list[Record]:
    """Records from a DataFrame, Records, JSON dicts, or ids (looked up with ``get``)."""
    if hasattr(items, "iterrows"):
        items = [row for _, row in items.iterrows()]
    elif isinstance(items, (str, Record, dict)):
        items = [items]
    out = []
    for item in items:
        if isinstance(item, Record):
            out.append(item)
        elif isinstance(item, str):
            out.append(get(item))
        elif hasattr(item, "get"):
            out.append(from_row(item))
        else:
            raise InvalidInput("fetch", f"cannot fetch {item!r}: give ids, records or a list() frame")
    return out


def from_row(row: Any) -> Record:
    """The record of one list() row (a Series) or JSON dict, checked against its id."""
    try:
        fields = validate_fields(**row_fields(row))
        url = str(row["url"])
        ext = row.get("ext")
        if ext is None:  # a JSON record (list --output json) has no ext: its URL ends with it
            tail = url.rsplit("/", 1)[-1].partition(".")[2]
            ext = "." + tail if tail else ""
        rec = layout.build_record(fields, validate_hash(row["hash"]), validate_ext(ext),
                                  size=int(row["size"]), url=url)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput("fetch", f"not a row of Lake.list(): {exc}") from None
    if rec.id != row["id"]:
        raise InvalidInput("fetch", f"row {row['id']!r} does not match its fields; "
                                    "pass rows from Lake.list() unchanged")
    return rec


def download(store: Store, cache: Cache, rec: Record, advance: Callable[[int], None]) -> str:
    """Download into a temporary file that hashes the bytes in order as they arrive
    (parts may come in parallel), and move it into the cache only if the hash is the
    record's: the file is never read a second time."""
    key = layout.data_key(rec)
    folder = cache.entry(rec.hash).rpartition("/")[0]
    # Closed on any error (late writes are refused); read-only from the start, so
    # adding it to the cache is one utime and one rename through the open fd.
    with temp_file(folder, mode=0o444) as tmp, VerifiedFile(tmp.fd) as sink:
        store.get_file(key, sink, advance, rec.size)
        actual, _ = sink.result()
        if actual != rec.hash:
            raise IntegrityError(corrupt_message(store.url_for(key), rec, actual))
        return cache.add_open(tmp, rec)


def cached(store: Store, cache: Cache, pool: Pool, records: Sequence[Record],
           progress: ProgressArg, cancel: threading.Event | None = None) -> list[Path]:
    """Each record's verified file in the cache, in order; what is missing is downloaded
    in parallel (and ``progress`` told of it)."""
    found: dict[str, str | Path | None] = {}
    missing = []
    for rec in records:
        if rec.hash not in found:
            found[rec.hash] = cache.find(rec)
            if found[rec.hash] is None:
                missing.append(rec)
    total = sum(r.size or 0 for r in missing)
    with opened(progress, total, len(missing), "fetch") as bar:
        paths = pool.each(lambda r, advance: counted(bar, download(store, cache, r, advance)),
                          missing, bar.advance, "file(s) downloaded", cancel)
    found.update((rec.hash, path) for rec, path in zip(missing, paths))
    return [Path(found[r.hash]) for r in records]  # type: ignore[arg-type]


def fetch_records(store: Store, cache: Cache, pool: Pool, records: list[Record], folder: str,
                  progress: ProgressArg, cancel: threading.Event | None = None) -> list[Path]:
    """Place ``records`` under ``folder``; the local paths in order."""
    placing = Placing(store, cache, folder)
    jobs = [placing.plan(rec) for rec in records]
    try:
        with opened(progress, placing.bytes, placing.files, "fetch") as bar, placing:
            placing.bar = bar
            placed = pool.each(placing.run, jobs, bar.advance, "file(s) fetched", cancel)
    except Interrupted as exc:
        exc.paths = placing.placed()  # each whole: the caller may use them
        raise
    return [Path(p) for p in placed]


def fetch_listed(store: Store, cache: Cache, pool: Pool, listings: Sequence[Listing],
                 keep: Callable[[Record], bool], folder: str, progress: ProgressArg,
                 cancel: threading.Event | None = None) -> list[Path]:
    """Place what ``listings`` find (that ``keep`` keeps) under ``folder``, downloading as
    the listings' first pages arrive; the local paths in list() order."""
    placing = Placing(store, cache, folder)
    try:
        with opened(progress, 0, 0, "fetch") as bar, placing, \
                BackgroundListing(listings, keep, pool.concurrency, cancel) as listed:
            placing.bar = bar  # told of each file to download as the listing finds it
            placed = pool.each(placing.run, map(placing.plan, listed), bar.advance,
                               "file(s) fetched", cancel, total=listed.total)
    except Interrupted as exc:
        exc.paths = placing.placed(sort=lambda job: in_order(job[0]))
        raise
    order = sorted(range(len(placed)), key=lambda i: in_order(placing.jobs[i][0]))
    return [Path(placed[i]) for i in order]


class _Job:
    __slots__ = ("lock", "cached")

    def __init__(self, cached: str | None):
        self.lock, self.cached = threading.Lock(), cached


class Placing:
    """One fetch's files: each hash is downloaded once (by the first job that finds it
    missing, under its lock) and each record placed by its own job right after, when its
    destination is new (or is that file already).  A destination holding other bytes is
    replaced at the end, once everything is verified; after an error the files this fetch
    linked are removed again: the destination changes only when the fetch succeeds (or,
    interrupted, by the files it finished).  Used as a context manager around the work."""

    def __init__(self, store: Store, cache: Cache, folder: str):
        self.store, self.cache, self.folder = store, cache, folder
        self.bytes = self.files = 0  # to download
        self.bar = Progress()
        self.entries: dict[str, _Job] = {}
        self.jobs: list[tuple[Record, str, _Job]] = []
        self.linked: list[tuple[str, str, list[str]]] = []  # (dest, cached, folders made)
        self.later: list[tuple[str, str]] = []  # (cached, dest): dest holds other bytes
        self.done: set[int] = set()  # id() of the jobs whose file is placed

    def plan(self, rec: Record) -> tuple[Record, str, _Job]:
        """The job of ``rec`` (in the main thread, in order: a hash's first record decides
        whether it is downloaded, and tells the bar)."""
        entry = self.entries.get(rec.hash)
        if entry is None:
            entry = self.entries[rec.hash] = _Job(self.cache.find(rec))
            if entry.cached is None:
                self.bytes += rec.size or 0
                self.files += 1
                self.bar.more(rec.size or 0, 1)
        job = (rec, f"{self.folder}/{readable_name(rec)}", entry)
        self.jobs.append(job)
        return job

    def run(self, job: tuple[Record, str, _Job], progress: Callable[[int], None]) -> str:
        """Download (if no job did) and verify, then place: a placed file is a whole one."""
        rec, target, entry = job
        if entry.cached is None:
            with entry.lock:
                if entry.cached is None:
                    entry.cached = download(self.store, self.cache, rec, progress)
                    self.bar.file_done()
        progress(0)  # interrupted meanwhile: place nothing more
        with _placing_errors(rec, target):
            made = self.cache.place_new(entry.cached, target)
            if made is not None:
                self.linked.append((target, entry.cached, made))
            elif os.path.isdir(target):
                raise IsADirectoryError(errno.EISDIR, "it is a folder")
            elif not _same_file(entry.cached, target):
                self.later.append((entry.cached, target))
        self.done.add(id(job))
        return target

    def placed(self, sort: Callable[[Any], Any] | None = None) -> list[Path]:
        """The paths of the files placed so far (after an interrupt), in the jobs' order
        or by ``sort``."""
        jobs = [job for job in self.jobs if id(job) in self.done]
        return [Path(target) for _, target, _ in (sorted(jobs, key=sort) if sort else jobs)]

    def __enter__(self) -> "Placing":
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if kind is None:
            try:
                self.finish()
            except BaseException:
                self.undo()
                raise
        elif issubclass(kind, Interrupted):
            self.finish()  # the files it counts as fetched are all in place
        else:
            self.undo()

    def finish(self) -> None:
        """Replace the destinations that held other bytes (everything is verified now)."""
        for cached_file, target in self.later:
            with _placing_errors(None, target):
                self.cache.replace(cached_file, target)

    def undo(self) -> None:
        """After an error: remove the files this fetch linked and the folders it made."""
        for target, cached_file, _ in self.linked:
            if _same_file(cached_file, target):
                with contextlib.suppress(OSError):
                    os.unlink(target)
        for folder in sorted({f for _, _, made in self.linked for f in made},
                             key=len, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if empty: another process may have put files there


@contextlib.contextmanager
def _placing_errors(rec: Record | None, target: str) -> Iterator[None]:
    """A file that cannot be placed: one line naming the destination (not a temporary
    file), and the fetch's other files are taken back (``Placing.undo``)."""
    try:
        yield
    except OSError as exc:
        which = f" {rec.id}" if rec is not None else ""
        raise DatalakeError(f"fetch: cannot place{which} at {target}: "
                            f"{exc.strerror or exc}; the destination was left as it was "
                            "(move that away or fetch into another folder)") from None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
