"""The Lake: the one client behind the Python API, the CLI and the notebook magics."""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Iterator, Sequence

from . import layout, times
from .cache import Cache, hash_file, readable_name, temp_path
from .config import Config, resolve
from .errors import DatalakeError, IntegrityError, InvalidInput, NotFound
from .frame import row_fields, to_frame
from .metadata import (Record, check_fields, check_hash, check_id, check_name, check_work_id,
                       ext_of)
from .store import Store, open_store

if TYPE_CHECKING:
    import pandas as pd

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
            access_key=cfg["AWS_ACCESS_KEY_ID"], secret_key=cfg["AWS_SECRET_ACCESS_KEY"])
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
        many = not isinstance(path, (str, os.PathLike))
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
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise InvalidInput("path", f"expected a file path, got {path!r}")
        p = Path(path)
        if not p.exists():
            raise InvalidInput("path", f"{str(p)!r} does not exist")
        if not p.is_file():
            raise InvalidInput("path", f"{str(p)!r} is not a regular file")
        if not os.access(p, os.R_OK):
            raise InvalidInput("path", f"{str(p)!r} is not readable")
        return p

    def _push_one(self, path: Path, fields: dict[str, Any], advance: Callable[[int], None]) -> Record:
        before = path.stat()
        hash_hex, size = hash_file(path)
        rec = layout.build_record(fields, hash_hex, ext_of(path.name), size=size)
        key = layout.data_key(rec)
        self.store.put_file(key, path, {"datalake-record": json.dumps(rec.to_json())}, advance)
        after = path.stat()
        if (after.st_size, after.st_mtime_ns) != (size, before.st_mtime_ns):
            self.store.delete(key)
            raise DatalakeError(f"{path} changed while it was pushed; nothing was archived")
        pair = (rec.what, rec.where)
        if pair not in self._cataloged:
            self.store.put_bytes(layout.catalog_key(*pair), b"")
            self._cataloged.add(pair)
        if rec.work_id is not None:
            self.store.put_bytes(layout.work_key(rec, size), b"")
        return self._located(rec, key)

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

    def catalog(self) -> dict[str, list[str]]:
        """{what: [wheres]} for everything the lake holds."""
        out: dict[str, list[str]] = {}
        for entry in self.store.list(layout.CATALOG):
            what, _, where = entry.key[len(layout.CATALOG):].partition("/")
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

    def open(self, item: "str | Record") -> BinaryIO:
        """A readable binary stream of one file, without downloading it first."""
        rec = self._resolve([item])[0]
        return self.store.open(layout.data_key(rec))

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
            self.store.get_file(layout.data_key(rec), tmp, advance)
            actual, _ = hash_file(tmp)
            if actual != rec.hash:
                raise IntegrityError(f"{rec.what} from {rec.where} at {times.iso(rec.start)} "
                                     f"(id {rec.id}): stored bytes hash to {actual}, the record "
                                     f"says {rec.hash}; nothing was written")
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
            rec = layout.build_record(fields, check_hash(row["hash"]), "." + ext if ext else "",
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
