"""The Lake: the one client behind the Python API, the CLI and the notebook magics."""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import io
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Iterator, Sequence

from . import layout, times
from .cache import Cache, VerifiedStream, corrupt_message, hash_file, readable_name, temp_path
from .config import Config, resolve
from .errors import DatalakeError, IntegrityError, InvalidInput, NotFound
from .frame import row_fields, to_frame
from .metadata import (Record, check_ext, check_fields, check_hash, check_id, check_name,
                       check_work_id, ext_of)
from .store import Store, open_store

if TYPE_CHECKING:
    import pandas as pd

    from .check import Report

Names = str | Sequence[str] | None
PathLike = str | os.PathLike[str]
BAR_MIN_BYTES, BAR_MIN_FILES = 8 << 20, 20  # smaller work finishes before a bar is worth showing
LATEST_WINDOWS_MS = (86_400_000, 32 * 86_400_000, 400 * 86_400_000, 4018 * 86_400_000, None)


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
        with self._bar(total, len(planned), "push") as advance, self._pool() as pool:
            return list(pool.map(lambda job: self._push_one(*job, advance), planned))

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

    def _push_one(self, path: Path, fields: dict[str, Any], advance: Callable[[int], None]) -> Record:
        before = path.stat()
        hash_hex, size = hash_file(path)
        rec = layout.build_record(fields, hash_hex, ext_of(path.name), size=size)
        key = layout.data_key(rec)
        # The data object is the record, so it goes first; a failed upload wrote nothing (we
        # never delete then: the same key may hold an earlier, identical push).
        try:
            self.store.put_file(key, path, {"datalake-record": json.dumps(rec.to_json())}, advance)
        except OSError as exc:  # a local lake: disk full, no permission
            raise DatalakeError(f"{path}: {exc}; nothing was archived") from None
        try:
            after = path.stat()
            if (after.st_size, after.st_mtime_ns) != (size, before.st_mtime_ns):
                raise DatalakeError("the file changed while it was pushed")
            self._write_entries(rec, size)
        except BaseException as exc:
            raise self._roll_back(key, path, exc) from None
        return self._located(rec, key)

    def _write_entries(self, rec: Record, size: int) -> None:
        """The 0-byte index entries.  One that fails but exists already (an earlier or
        concurrent push of the same file wrote the same key) is done, not an error."""
        pair = (rec.what, rec.where)
        keys = [] if pair in self._cataloged else [layout.catalog_key(*pair)]
        if rec.work_id is not None:
            keys.append(layout.work_key(rec, size))
        for key in keys:
            try:
                self.store.put_bytes(key, b"")
            except DatalakeError:
                if not self._exists(key):
                    raise
        self._cataloged.add(pair)

    def _exists(self, key: str) -> bool:
        try:
            return self.store.head(key) is not None
        except DatalakeError:
            return False

    def _roll_back(self, key: str, path: Path, exc: BaseException) -> BaseException:
        """Remove the data object after a later step failed, so no half-made record stays
        visible; the error to raise says whether that worked."""
        try:
            self.store.delete(key)
        except (DatalakeError, OSError) as undo:
            if not isinstance(exc, (DatalakeError, OSError)):
                return exc
            return DatalakeError(f"{path}: {exc}; removing its data object failed too ({undo}), "
                                 "so the record may show without its index entries: push it "
                                 "again or run 'datalake check --repair'")
        if not isinstance(exc, (DatalakeError, OSError)):
            return exc  # KeyboardInterrupt, a bug: as it was, after the clean-up
        return DatalakeError(f"{path}: {exc}; nothing was archived (push it again)")

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
            with self._pool() as pool:
                found = [r for part in pool.map(self._scan, scans) for r in part]
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
        """The record with the latest start of ``what`` (from ``where``)."""
        check_name("what", what)
        now = times.now_ms()
        for window in LATEST_WINDOWS_MS:
            found = self.records(what, where, start=None if window is None else now - window)
            if found:
                return max(found, key=lambda r: (r.start, r.stop, r.id))
        raise NotFound(f"no {what} files" + (f" from {where}" if where else "") + f" in {self.url}")

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
        with self._pool() as pool:
            for part in pool.map(self._scan, scans):
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

    def fetch(self, items: Any, dest: PathLike | None = None) -> list[Path]:
        """Download files (a DataFrame from list(), records, or ids) into ``dest``.

        Every file's hash is verified before it is placed; files already in
        the local cache are not downloaded again.  Returns the local paths,
        in the order given.
        """
        records = self._resolve(items)
        folder = Path(dest if dest is not None else self.config["DATALAKE_FETCH_DIR"] or ".")
        missing = [r for r in {r.hash: r for r in records}.values() if self.cache.lookup(r) is None]
        total = sum(r.size or 0 for r in missing)
        with self._bar(total, len(missing), "fetch") as advance, self._pool() as pool:
            list(pool.map(lambda r: self._download(r, advance), missing))
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
            tmp.chmod(0o444)
            os.replace(tmp, final)
        return final

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

    @contextlib.contextmanager
    def _pool(self) -> Iterator[concurrent.futures.ThreadPoolExecutor]:
        with concurrent.futures.ThreadPoolExecutor(self.concurrency) as pool:
            yield pool

    @contextlib.contextmanager
    def _bar(self, total: int, files: int, desc: str) -> Iterator[Callable[[int], None]]:
        """A byte progress bar for long work (tqdm: a terminal bar or a notebook widget)."""
        if not self.progress or (total < BAR_MIN_BYTES and files < BAR_MIN_FILES):
            yield lambda n: None
            return
        from tqdm.auto import tqdm
        with tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024) as bar:
            yield bar.update

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
