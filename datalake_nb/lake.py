"""The Lake: the one client behind the Python API, the CLI and the notebook magics."""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Iterator, Sequence

from . import layout, times
from .cache import (Cache, HashedUpload, VerifiedStream, corrupt_message, hash_file,
                    hash_open_file, readable_name, temp_path)
from .config import Config, resolve
from .errors import DatalakeError, IntegrityError, InvalidInput, NotFound
from .frame import row_fields, to_frame
from .metadata import (Record, check_ext, check_fields, check_hash, check_id, check_name,
                       check_work_id, content_hash, ext_of)
from .store import Store, open_store

if TYPE_CHECKING:
    import pandas as pd

    from .check import Report

Names = str | Sequence[str] | None
PathLike = str | os.PathLike[str]
BAR_MIN_BYTES, BAR_MIN_FILES = 8 << 20, 20  # smaller work finishes before a bar is worth showing
SMALL_FILE = 16 << 20  # read into memory once, hashed and sent as those very bytes
GRACE_S = 2.0  # after Ctrl-C, how long transfers in flight get to abort and clean up


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or the kernel's Interrupt) stopped a push or fetch; the message says what
    was finished.  Queued work was not started, transfers in flight were abandoned."""


class _Cancelled(Exception):
    """Raised inside a worker, from its progress callback, once the user interrupted."""


def split_names(field: str, value: Names) -> list[str] | None:
    """'a,b' or ['a', 'b'] -> ['a', 'b'] (validated); None -> None (no filter)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [check_name(field, item.strip() if isinstance(item, str) else item) for item in items]
    return list(dict.fromkeys(names))


def _is_name(field: str, value: str) -> bool:
    try:
        check_name(field, value)
    except InvalidInput:
        return False
    return True


class Lake:
    """A datalake at one root URL (S3 or a local folder).

    ``Lake()`` uses the configured URL (argument > environment > config
    files), else the embedded default lake under the user's data directory.
    """

    def __init__(self, url: str | None = None, *, config: Config | None = None,
                 store: Store | None = None, cache_dir: PathLike | None = None,
                 progress: bool | None = None):
        self.config = config or resolve({"DATALAKE_STORAGE_URL": url,
                                         "DATALAKE_CACHE_DIR": cache_dir})
        cfg = self.config
        self.concurrency = int(cfg["DATALAKE_CONCURRENCY"] or 8)
        self.store = store or open_store(
            cfg["DATALAKE_STORAGE_URL"], endpoint_url=cfg["AWS_ENDPOINT_URL"],
            region=cfg["AWS_DEFAULT_REGION"], profile=cfg["AWS_PROFILE"],
            concurrency=self.concurrency, retry_mode=cfg["DATALAKE_S3_RETRY_MODE"],
            access_key=cfg["AWS_ACCESS_KEY_ID"], secret_key=cfg["AWS_SECRET_ACCESS_KEY"],
            sse=cfg["DATALAKE_S3_SSE"], sse_kms_key_id=cfg["DATALAKE_S3_SSE_KMS_KEY_ID"],
            expected_bucket_owner=cfg["DATALAKE_S3_EXPECTED_BUCKET_OWNER"])
        self.cache = Cache(cfg["DATALAKE_CACHE_DIR"])
        mode = cfg["DATALAKE_PROGRESS"]
        self.progress = progress if progress is not None else (
            mode == "on" or (mode == "auto" and (sys.stderr.isatty() or "ipykernel" in sys.modules)))
        self._cataloged: set[tuple[str, str]] = set()

    @property
    def url(self) -> str:
        return self.store.url

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"

    # -- push ---------------------------------------------------------------

    def push(self, path: PathLike | Sequence[PathLike], *, what: str, where: str, start: Any,
             end: Any = None, data_version: str, work_id: str | None = None) -> Record | list[Record]:
        """Archive one file (returns its record) or several with the same metadata (a list)."""
        many = not isinstance(path, (str, os.PathLike)) and hasattr(path, "__iter__")
        paths = list(path) if many else [path]
        items = [dict(path=p, what=what, where=where, start=start, end=end,
                      data_version=data_version, work_id=work_id) for p in paths]
        records = self.push_many(items)
        return records if many else records[0]

    def push_many(self, items: Iterable[dict[str, Any]]) -> list[Record]:
        """Archive files with their own metadata; every item is checked before any upload."""
        planned = [(self._check_path(item.get("path")), self._check_item(item)) for item in items]
        total = sum(p.stat().st_size for p, _ in planned)
        cataloged: set[tuple[str, str]] = set()  # per call: a repair elsewhere may drop entries
        with self._bar(total, len(planned), "push") as advance:
            return self._each(lambda job, progress: self._push_one(*job, cataloged, progress),
                              planned, advance, "file(s) archived")

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

    def _push_one(self, path: Path, fields: dict[str, Any], cataloged: set[tuple[str, str]],
                  advance: Callable[[int], None]) -> Record:
        """Upload the data object (the record), then its index entries.

        The bytes sent are the bytes hashed: a small file is read once into memory; a big
        one is read again for the upload and checked against its hash before the object
        appears.  The data object is only created if absent (a conditional write), so a
        push never overwrites, and a roll-back only ever deletes what this push created:
        the same key may hold an earlier or concurrent identical push that succeeded.
        """
        try:
            with open(path, "rb", buffering=0) as src:  # one open: a file renamed over the
                if os.fstat(src.fileno()).st_size < SMALL_FILE:  # path meanwhile is not read
                    body: bytes | HashedUpload = src.readall()
                    digest = content_hash()
                    digest.update(body)
                    hash_hex, size = digest.hexdigest(), len(body)
                else:
                    hash_hex, size = hash_open_file(src)
                    src.seek(0)
                    body = HashedUpload(src, hash_hex, size, str(path))
                rec = layout.build_record(fields, hash_hex, ext_of(path.name), size=size)
                key = layout.data_key(rec)
                meta = {"datalake-record": json.dumps(rec.to_json())}
                if isinstance(body, bytes):
                    created = self.store.put_bytes(key, body, meta, if_absent=True)
                    sent = size  # reported below: a cancel raised there must roll it back
                else:
                    created = self.store.put_file(key, body, meta, advance, size=size, if_absent=True)
                    sent = 0
        except OSError as exc:  # reading the file; a local lake: disk full, no permission
            raise DatalakeError(f"{path}: {exc}; nothing was archived") from None
        try:
            advance(sent)  # interrupted while the upload was finishing: roll it back
            self._write_entries(rec, size, cataloged)
        except BaseException as exc:
            raise self._roll_back(key, path, exc, created) from None
        return self._located(rec, key)

    def _write_entries(self, rec: Record, size: int, cataloged: set[tuple[str, str]]) -> None:
        """The 0-byte index entries.  One that fails but exists already (an earlier or
        concurrent push of the same file wrote the same key) is done, not an error."""
        pair = (rec.what, rec.where)
        keys = [] if pair in cataloged else [layout.catalog_key(*pair)]
        if rec.work_id is not None:
            keys.append(layout.work_key(rec, size))
        for key in keys:
            try:
                self.store.put_bytes(key, b"")
            except DatalakeError:
                if not self._exists(key):
                    raise
        cataloged.add(pair)

    def _exists(self, key: str) -> bool:
        try:
            return self.store.head(key) is not None
        except DatalakeError:
            return False

    def _roll_back(self, key: str, path: Path, exc: BaseException, created: bool) -> BaseException:
        """After a later step failed: remove the data object if this push created it, so no
        half-made record stays visible.  One that was there before belongs to an earlier
        push and stays.  The error to raise says what happened."""
        failure = isinstance(exc, (DatalakeError, OSError))
        if isinstance(exc, _Cancelled) or not failure:
            outcome = None
        elif not created:
            outcome = (f"{path}: {exc}; its data object was archived before and is kept: push "
                       "it again or run 'datalake check --repair' to complete its index entries")
        else:
            outcome = f"{path}: {exc}; nothing was archived (push it again)"
        if created:
            try:
                self.store.delete(key)
            except (DatalakeError, OSError) as undo:
                if not failure:
                    return exc
                return DatalakeError(f"{path}: {exc}; removing its data object failed too "
                                     f"({undo}), so the record may show without its index "
                                     "entries: push it again or run 'datalake check --repair'")
        return exc if outcome is None else DatalakeError(outcome)

    def _located(self, rec: Record, key: str) -> Record:
        return dataclasses.replace(rec, url=self.store.url_for(key))

    # -- query --------------------------------------------------------------

    def records(self, what: Names = None, where: Names = None, start: Any = None,
                end: Any = None, work_id: str | None = None) -> list[Record]:
        """The records that match, sorted by start (the list() rows, as Records)."""
        whats, wheres = split_names("what", what), split_names("where", where)
        qs = None if start is None else times.to_ms(start, "start")
        qe = None if end is None else times.to_ms(end, "end")
        if qs is not None and qe is not None and qe < qs:
            raise InvalidInput("end", f"{times.iso(qe)} is before start {times.iso(qs)}")
        if work_id is not None:
            check_work_id(work_id)
            found = [r for r in (layout.parse_work_key(e.key) for e in
                                 self.store.list(layout.work_prefix(work_id))) if r]
            found = [self._located(r, layout.data_key(r)) for r in found]
            found = [r for r in found if whats is None or r.what in whats]
        else:
            if whats is None:
                whats = self.store.list_dirs(layout.DATA)
            scans = [scan for w in whats for scan in layout.plan(w, qs, qe)]
            found = [r for part in self._each(lambda scan, _: self._scan(scan), scans,
                                               lambda n: None, "listings done") for r in part]
        found = [r for r in found
                 if (wheres is None or r.where in wheres)
                 and (qe is None or r.start <= qe) and (qs is None or r.stop >= qs)]
        return sorted(found, key=lambda r: (r.start, r.stop, r.what, r.where, r.id))

    def _scan(self, scan: layout.Scan) -> list[Record]:
        out = []
        for entry in self.store.list(scan.prefix, scan.start_after, scan.stop):
            rec = layout.parse_data_key(entry.key, size=entry.size,
                                        url=self.store.url_for(entry.key))
            if rec is not None:
                out.append(rec)
        return out

    def list(self, what: Names = None, where: Names = None, start: Any = None,
             end: Any = None, work_id: str | None = None) -> "pd.DataFrame":
        """A DataFrame of the matching files, one row each, sorted by start.

        Columns: id, what, where, start, end (UTC timestamps), work_id,
        data-version, hash, size, url, version.  A file matches when its
        [start, end] overlaps [start, end] of the query.
        """
        return to_frame(self.records(what, where, start, end, work_id))

    def latest(self, what: str, where: Names = None) -> Record:
        """The record of ``what`` (from ``where``) with the latest start; of records with
        the same start, the longest; of the same start and end, the later push (S3's
        LastModified, a local file's mtime)."""
        check_name("what", what)
        wheres = split_names("where", where)
        classes = list(range(len(layout.SPAN_CLASSES)))
        found = [pair for part in self._each(lambda index, _: self._latest_in(what, index, wheres),
                                             classes, lambda n: None, "listings done")
                 for pair in part]
        if not found:
            raise NotFound(f"no {what} files" + (f" from {where}" if where else "")
                           + f" in {self.url}")
        return max(found, key=lambda pair: (pair[0].start, pair[0].stop, pair[1] or 0,
                                            pair[0].id))[0]

    def _latest_in(self, what: str, index: int,
                   wheres: list[str] | None) -> list[tuple[Record, int | None]]:
        """The records of one span class on its newest day with a match (with their push
        times), found by walking the class's year/month/day folders from the newest back:
        a few listings, however big or old the lake.  With a where filter, the rest of a
        month is one ranged listing after its newest day had no match."""
        for year in self._dirs_desc(layout.class_prefix(what, index)):
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
            rec = layout.parse_data_key(entry.key, size=entry.size,
                                        url=self.store.url_for(entry.key))
            if rec is not None and (wheres is None or rec.where in wheres):
                out.append((rec, entry.modified))
        return out

    def check(self, repair: bool = False, delete_orphans: bool = False,
              deep: bool = False) -> "Report":
        """Find damage: data without a record, missing or dangling index entries (and with
        ``deep`` corrupt bytes); ``repair`` fixes the index, ``delete_orphans`` removes what
        is no record.  See ``datalake_nb.check``."""
        from .check import check
        return check(self, repair=repair, delete_orphans=delete_orphans, deep=deep)

    def catalog(self) -> dict[str, list[str]]:
        """{what: [wheres]} for everything the lake holds (entries the lake would not
        write, like a where of '..', are skipped: `datalake check` reports them)."""
        out: dict[str, list[str]] = {}
        for entry in self.store.list(layout.CATALOG):
            what, _, where = entry.key[len(layout.CATALOG):].partition("/")
            if _is_name("what", what) and _is_name("where", where):
                out.setdefault(what, []).append(where)
        return out

    def timeline(self, frame: "pd.DataFrame | None" = None, **filters: Any) -> Any:
        """A picture of coverage (one row per where, colour by what) so gaps stand out.

        Draws ``frame`` (a list() DataFrame), else ``self.list(**filters)``;
        returns the matplotlib Axes.  See ``datalake_nb.timeline.timeline``.
        """
        from .timeline import timeline
        return timeline(self.list(**filters) if frame is None else frame)

    def get(self, record_id: str) -> Record:
        """The record with this id (one small listing per what)."""
        check_id(record_id)
        scans = [s for s in (layout.scan_for_id(w, record_id)
                             for w in self.store.list_dirs(layout.DATA)) if s]
        for part in self._each(lambda scan, _: self._scan(scan), scans, lambda n: None,
                                "listings done"):
            for rec in part:
                if rec.id == record_id:
                    return rec
        raise NotFound(f"no record with id {record_id} in {self.url}")

    # -- read ---------------------------------------------------------------

    def open(self, item: "str | Record") -> BinaryIO:
        """A readable binary stream of one file, without downloading it first."""
        rec = self._resolve([item])[0]
        key = layout.data_key(rec)
        return VerifiedStream(self.store.open(key), rec, self.store.url_for(key))

    def fetch(self, items: Any, dest: PathLike | None = None, *,
              cancel: threading.Event | None = None) -> list[Path]:
        """Download files (a DataFrame from list(), records, or ids) into ``dest``.

        Every file's hash is verified before it is placed; files already in
        the local cache are not downloaded again.  Returns the local paths,
        in the order given.  Setting ``cancel`` (from another thread: a
        widget's Cancel button) stops it as Ctrl-C does: ``Interrupted``.
        """
        records = self._resolve(items)
        folder = Path(dest if dest is not None else self.config["DATALAKE_FETCH_DIR"] or ".")
        missing = [r for r in {r.hash: r for r in records}.values() if self.cache.lookup(r) is None]
        total = sum(r.size or 0 for r in missing)
        with self._bar(total, len(missing), "fetch") as advance:
            self._each(self._download, missing, advance, "file(s) downloaded", cancel)
        return [self.cache.place(self.cache.lookup(r) or self._download(r, lambda n: None),
                                 folder / readable_name(r)) for r in records]

    def _download(self, rec: Record, advance: Callable[[int], None]) -> Path:
        final = self.cache.path(rec.hash)
        with temp_path(final.parent) as tmp:
            self.store.get_file(layout.data_key(rec), tmp, advance, rec.size)
            actual, _ = hash_file(tmp)
            if actual != rec.hash:
                raise IntegrityError(corrupt_message(self.store.url_for(layout.data_key(rec)),
                                                     rec, actual))
            return self.cache.add(tmp, rec)

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
            ext = url.rsplit("/", 1)[-1].partition(".")[2]
            rec = layout.build_record(fields, check_hash(row["hash"]),
                                      check_ext("." + ext if ext else ""),
                                      size=int(row["size"]), url=url)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput("fetch", f"not a row of Lake.list(): {exc}") from None
        if rec.id != row["id"]:
            raise InvalidInput("fetch", f"row {row['id']!r} does not match its fields; "
                                        "pass rows from Lake.list() unchanged")
        return rec

    # -- helpers ------------------------------------------------------------

    def _each(self, work: Callable[[Any, Callable[[int], None]], Any], items: Sequence[Any],
              advance: Callable[[int], None], done: str,
              cancel: threading.Event | None = None) -> list[Any]:
        """``work(item, progress)`` for every item on the pool; the results in order.

        Ctrl-C (or setting ``cancel``) stops it: queued items are cancelled, and work in
        flight stops at its next progress report (an upload is abandoned, a download
        discarded), with GRACE_S to clean up; threads stuck on the network are not waited
        for.  The first error of an item is raised once all have ended.
        """
        cancelled = cancel if cancel is not None else threading.Event()

        def progress(n: int) -> None:
            if cancelled.is_set():
                raise _Cancelled()
            advance(n)

        pool = concurrent.futures.ThreadPoolExecutor(self.concurrency)
        futures: list[concurrent.futures.Future[Any]] = []
        try:
            for item in items:  # inside the try: Ctrl-C may come while work is being queued
                futures.append(pool.submit(lambda item: progress(0) or work(item, progress), item))
            pending: Any = futures
            while pending and not cancelled.is_set():  # a set ``cancel`` is seen within 0.1 s,
                pending = concurrent.futures.wait(pending, 0.1)[1]  # so is interrupt_main()
            if pending or any(isinstance(f.exception(), _Cancelled) for f in futures):
                raise KeyboardInterrupt  # cancelled: stopped as Ctrl-C stops it
        except KeyboardInterrupt:
            cancelled.set()
            for future in futures:
                future.cancel()
            concurrent.futures.wait(futures, timeout=GRACE_S)
            finished = sum(1 for f in futures if f.done() and not f.cancelled()
                           and f.exception() is None)
            raise Interrupted(f"interrupted: {finished} of {len(items)} {done}; "
                              "nothing else was written") from None
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for future in futures:
            if future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]

    @contextlib.contextmanager
    def _bar(self, total: int, files: int, desc: str) -> Iterator[Callable[[int], None]]:
        """A byte progress bar for long work (tqdm: a terminal bar or a notebook widget)."""
        if not self.progress or (total < BAR_MIN_BYTES and files < BAR_MIN_FILES):
            yield lambda n: None
            return
        from tqdm.auto import tqdm
        with tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024) as bar:
            yield bar.update
