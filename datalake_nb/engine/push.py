"""Push: files into the store, each as its data object (the record) and then its index
entries.  The order of those writes is the lake's commit protocol (docs/store-layout.md,
"What a push leaves behind"): no reader ever sees an entry whose data is missing."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from ..core import layout
from ..core.errors import DatalakeError, InvalidInput, Refused
from ..core.metadata import Record, validate_fields, ext_of
from ..stores.base import Buffer, Store
from .hashing import HashedUpload, content_hash, hash_open_file
from .pool import Cancelled, Pool, counted
from .progress import Progress

SMALL_FILE = 16 << 20  # read into memory once, hashed and sent as those very bytes
FIELDS = ("what", "where", "start", "end", "data_version", "work_id")
REQUIRED = ("what", "where", "start", "data_version")

PathLike = str | os.PathLike[str]


def planned(items: Iterable[PathLike | dict[str, Any]], shared: dict[str, Any]
            ) -> list[tuple[Path, dict[str, Any]]]:
    """Every item checked before any upload: (its path, its validated fields).  An item
    is a path (its metadata are ``shared``) or a dict with ``path`` and its own fields,
    which win over ``shared``."""
    items = [{**shared, **item} if isinstance(item, dict) else {**shared, "path": item}
             for item in items]
    return [(checked_path(item.get("path")), checked_fields(item)) for item in items]


def checked_fields(item: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in item.items() if k != "path"}
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidInput("push", f"unknown field(s) {', '.join(unknown)}; allowed: path, "
                                   + ", ".join(sorted(FIELDS)))
    for name in REQUIRED:
        if name not in fields:
            raise InvalidInput(name, "is required")
    return validate_fields(**fields)


def checked_path(path: Any) -> Path:
    allowed = "give a readable regular file (an empty one is fine)"
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InvalidInput("path", f"expected a file path, got {path!r}; {allowed}")
    p = Path(path)
    try:
        if not p.exists():
            raise InvalidInput("path", f"{str(p)!r} does not exist; {allowed}")
        if p.is_dir():
            raise InvalidInput("path", f"{str(p)!r} is a folder; give --recursive "
                                       "(Lake.push_paths(recursive=True)) to push the files "
                                       "under it")
        if not p.is_file():
            raise InvalidInput("path", f"{str(p)!r} is not a regular file; {allowed}")
        with open(p, "rb"):  # really opened: os.access() says yes to root, and on NFS
            pass
    except OSError as exc:
        raise InvalidInput("path", f"{str(p)!r} is not readable ({exc.strerror}); "
                                   f"{allowed}") from None
    return p


class Changed(DatalakeError):
    """The file's bytes are not the ones its push was planned for (a spool entry whose
    source was written after enqueue): nothing was archived, and trying again cannot help."""


class Cataloged:
    """The (what, where) pairs whose catalog entry one push call has written, and the lock
    that lets one file in flight write each."""

    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()
        self.lock = threading.Lock()


def push_many(store: Store, pool: Pool, jobs: list[tuple[Path, dict[str, Any]]],
              bar: Progress) -> list[Record]:
    """Push each (path, fields) of ``planned``; the records in order."""
    cataloged = Cataloged()  # per call: a repair elsewhere may drop entries
    return pool.each(lambda job, advance: counted(bar, push_one(store, *job, cataloged, advance)),
                     jobs, bar.advance, "file(s) archived")


def push_one(store: Store, path: Path, fields: dict[str, Any], cataloged: Cataloged,
             advance: Callable[[int], None], expected_hash: str | None = None,
             wrote: Callable[[bool], None] | None = None) -> Record:
    """Upload the data object (the record), then its index entries: the where entry,
    the pair's catalog entry, the work entry.

    A push that stops after its upload leaves a whole record that lists and fetches;
    index entries that lag it are written by pushing the file again or by ``check
    --repair``.  Every key is only created if absent, and a data object is never deleted
    here, not even after an interrupt: an identical push may have found it there and
    reported it archived.

    The bytes sent are the bytes hashed: a small file is read once into memory; a big
    one is read again for the upload and checked against its hash before the object
    appears.  With ``expected_hash``, bytes that hash to anything else are ``Changed``
    and nothing is sent.  ``wrote`` is told whether this push stored the data object
    (False: it was there already), from the create-only write's own answer.
    """
    try:
        # One open: a file renamed over the path meanwhile is not read.  A small file's
        # bytes count against the store's memory for transfers until they are sent.
        with open(path, "rb", buffering=0) as src, contextlib.ExitStack() as held:
            found = os.fstat(src.fileno()).st_size
            if found < SMALL_FILE:
                body: Buffer | HashedUpload = held.enter_context(
                    store.read_whole(src, found, advance))
                digest = content_hash()
                digest.update(body)
                hash_hex, size = digest.hexdigest(), len(body)
            else:
                hash_hex, size = hash_open_file(src)
                src.seek(0)
                body = HashedUpload(src, hash_hex, size, str(path))
            if expected_hash is not None and hash_hex != expected_hash:
                raise Changed(f"{path}: its bytes hash to {hash_hex}, not {expected_hash} as "
                              "when it was enqueued (written since?); nothing was archived")
            rec = layout.build_record(fields, hash_hex, ext_of(path.name), size=size)
            key = layout.data_key(rec)
            meta = {"datalake-record": json.dumps(rec.to_json())}
            try:
                if not isinstance(body, HashedUpload):
                    new = store.put_bytes(key, body, meta, if_absent=True)
                    sent = size
                else:
                    new = store.put_file(key, body, meta, advance, size=size, if_absent=True)
                    sent = 0
            except Refused as exc:  # nothing was written: no need to ask
                raise DatalakeError(f"{path}: {exc}; nothing was archived") from None
            except DatalakeError as exc:
                sent, new = 0, True  # there now; whether this push stored it is unknown
                _uploaded_after_all(store, key, path, exc)
    except OSError as exc:  # reading the file; a local lake: disk full, no permission
        raise DatalakeError(f"{path}: {exc}; nothing was archived") from None
    if wrote is not None:
        wrote(bool(new))
    try:
        advance(sent)
    except Cancelled:
        pass  # interrupted as the upload ended: it is archived, so its entries follow
    try:
        _write_entries(store, rec, size, cataloged)
    except (DatalakeError, OSError) as exc:
        raise DatalakeError(
            f"{path}: archived as {store.url_for(key)}, but writing its index entries "
            f"failed ({exc}): queries by where or work id may miss it until you push it "
            "again or run 'datalake check --repair'") from None
    return dataclasses.replace(rec, url=store.url_for(key))


def _uploaded_after_all(store: Store, key: str, path: Path, exc: DatalakeError) -> None:
    """After a failed upload: return if the object is there all the same (its answer
    was lost, or an identical push stored it meanwhile), else raise what happened."""
    try:
        there = store.head(key) is not None
    except DatalakeError:
        raise DatalakeError(f"{path}: {exc}; it may be archived all the same ('datalake "
                            "list' tells; pushing it again is safe)") from None
    if not there:
        raise DatalakeError(f"{path}: {exc}; nothing was archived (push it again)") from None


def _write_entries(store: Store, rec: Record, size: int, cataloged: Cataloged) -> None:
    """The where entry, the pair's catalog entry, then the work entry.  The catalog
    entry says INDEXED when this pair's first push wrote where entries: a lake written
    before them keeps its 0-byte entries (queries then filter data listings) until
    ``check --repair`` indexes it."""
    put_entry(store, layout.where_key(rec, size))
    pair = (rec.what, rec.where)
    if pair not in cataloged.pairs:
        with cataloged.lock:  # one file in flight writes it; the others wait, not retry
            if pair not in cataloged.pairs:
                put_entry(store, layout.catalog_key(*pair), layout.INDEXED)
                cataloged.pairs.add(pair)
    if rec.work_id is not None:
        put_entry(store, layout.work_key(rec, size))


def put_entry(store: Store, key: str, body: bytes = b"") -> bool:
    """Create an index entry if absent; whether this call created it.  One that fails
    but exists already (an earlier or concurrent push wrote the same key) is done, not
    an error."""
    try:
        return store.put_bytes(key, body, if_absent=True)
    except DatalakeError:
        try:
            there = store.head(key) is not None
        except DatalakeError:
            there = False
        if not there:
            raise
        return False
