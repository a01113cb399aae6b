"""The spool: files enqueued for upload, durable on local disk until the lake has them.

    <spool>/queue/<record id>/record.json   what the push needs (fields, hash, size, source)
    <spool>/queue/<record id>/data<ext>     the file's bytes: a hard link to it, or a copy
    <spool>/failed/<record id>/...          the same, plus reason.json: never retried
    <spool>/tmp/                            entries being made, and entries being deleted

An entry is made whole in ``tmp/`` (the bytes: a hard link where the file system allows
one, else a copy fsynced before it is used; the record, fsynced) and appears in ``queue/``
by one rename of its folder, then the folder is fsynced: a reader sees all of an entry or
none of it, and an entry that appeared survives a crash.  Its name is the record id the
push will give it, so enqueueing the same file with the same metadata twice is one entry.

Uploaders take an entry by an exclusive ``flock`` on its record (the kernel lets go when a
process dies, even by SIGKILL); an entry leaves ``queue/`` only after its push is
confirmed, by a rename into ``tmp/`` (so a half-deleted folder is never an entry).
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from ..core import layout
from ..core.errors import DatalakeError
from ..core.metadata import ext_of
from ..core.times import now_ms
from .hashing import content_hash

QUEUE, FAILED, TMP = "queue", "failed", "tmp"
RECORD, REASON = "record.json", "reason.json"
STALE_TMP_S = 3600  # a tmp/ folder this old belongs to no enqueue or upload that is running


class SpoolFull(DatalakeError):
    """The spool would hold more than DATALAKE_SPOOL_MAX_BYTES: nothing was queued."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One queued (or failed) file: its folder and its record."""
    folder: Path
    record: dict[str, Any]

    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def data(self) -> Path:
        return self.folder / ("data" + self.record["ext"])

    @property
    def fields(self) -> dict[str, Any]:
        return self.record["fields"]


@dataclasses.dataclass(frozen=True)
class Status:
    queued: int
    queued_bytes: int
    failed: int
    failed_bytes: int
    oldest_ms: int | None  # enqueue time of the oldest queued entry (UTC ms)

    def to_json(self) -> dict[str, Any]:
        age = None if self.oldest_ms is None else round((now_ms() - self.oldest_ms) / 1000, 1)
        return {"queued": self.queued, "queued_bytes": self.queued_bytes,
                "failed": self.failed, "failed_bytes": self.failed_bytes,
                "oldest_age_s": age}


class Spool:
    """A spool folder (created on first use) and its size limit in bytes."""

    def __init__(self, root: str | os.PathLike[str], max_bytes: int):
        self.root = Path(root).expanduser().absolute()
        self.max_bytes = max_bytes

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- enqueue ------------------------------------------------------------------

    def enqueue(self, path: Path, fields: dict[str, Any], source: str | None = None,
                extra: dict[str, Any] | None = None) -> Entry:
        """Place the file at ``path`` in the queue with its validated ``fields`` (the
        push's what, where, start, end, data_version, work_id); the entry, whole on disk.
        SpoolFull (nothing queued) when it does not fit under the size limit."""
        tmp = Path(tempfile.mkdtemp(prefix="enqueue-", dir=self._dir(TMP)))
        try:
            ext = ext_of(path.name)
            data = tmp / ("data" + ext)
            linked = _link_or_copy(path, data)
            hash_hex, size = _hash(data)
            used = self.used_bytes()
            if used + size > self.max_bytes:
                raise SpoolFull(f"enqueue: {path}: the spool at {self.root} holds {used} bytes; "
                                f"{size} more would pass DATALAKE_SPOOL_MAX_BYTES "
                                f"({self.max_bytes}): nothing was queued (the file is where "
                                "it was); run 'datalake upload' or raise the limit")
            rec = layout.build_record(fields, hash_hex, ext, size=size)
            record = {"fields": fields, "hash": hash_hex, "size": size, "ext": ext,
                      "id": rec.id, "source": source or str(path.absolute()), "linked": linked,
                      "enqueued": now_ms(), **(extra or {})}
            _write_synced(tmp / RECORD, json.dumps(record, indent=1).encode())
            final = self._dir(QUEUE) / rec.id
            try:
                os.rename(tmp, final)  # the entry appears whole, or not at all
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                return self.entry(final) or Entry(final, record)  # queued already: one entry
            _fsync_dir(final.parent)
            return Entry(final, record)
        except OSError as exc:
            raise DatalakeError(f"enqueue: {path}: {exc}; nothing was queued") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def used_bytes(self) -> int:
        """Bytes held by queued and failed entries (and entries being made)."""
        total = 0
        for top in (QUEUE, FAILED, TMP):
            for folder, _, names in os.walk(self.root / top):
                for name in names:
                    with contextlib.suppress(FileNotFoundError):
                        total += os.lstat(os.path.join(folder, name)).st_size
        return total

    # -- reading ------------------------------------------------------------------

    def names(self, which: str = QUEUE) -> list[str]:
        """The ids in ``queue`` (or ``failed``), oldest start first (ids sort by it): one
        readdir, no record read."""
        try:
            return sorted(os.listdir(self.root / which))
        except FileNotFoundError:
            return []

    def entries(self, which: str = QUEUE, names: list[str] | None = None) -> list[Entry]:
        """The entries of ``queue`` (or ``failed``), or of those ``names`` in it."""
        names = self.names(which) if names is None else names
        return [e for e in (self.entry(self.root / which / n) for n in names) if e is not None]

    @staticmethod
    def entry(folder: Path) -> Entry | None:
        try:
            return Entry(folder, json.loads((folder / RECORD).read_bytes()))
        except (FileNotFoundError, NotADirectoryError):
            return None  # taken meanwhile
        except ValueError:  # a damaged record: shown by failed(), never pushed
            return Entry(folder, {"ext": "", "fields": {}, "damaged": True})

    def status(self) -> Status:
        queued, failed = self.entries(QUEUE), self.entries(FAILED)
        return Status(len(queued), sum(_size(e) for e in queued), len(failed),
                      sum(_size(e) for e in failed),
                      min((e.record.get("enqueued", 0) for e in queued), default=None))

    # -- taking, finishing, failing -------------------------------------------------

    @contextlib.contextmanager
    def claim(self, entry: Entry) -> Iterator[bool]:
        """Hold the entry (True) or learn that another uploader does or did (False): an
        exclusive lock on its record, and the entry still in the queue once it is held."""
        try:
            fd = os.open(entry.folder / RECORD, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            yield False
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:  # the same file still in the queue: not pushed and removed meanwhile
                still = os.stat(entry.folder / RECORD).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                still = False
            yield still
        finally:
            os.close(fd)

    def done(self, entry: Entry) -> None:
        """Remove a pushed entry: renamed out of the queue (atomic), then deleted."""
        self._drop(entry.folder)

    def fail(self, entry: Entry, reason: str) -> Path:
        """Move an entry that can never be pushed into ``failed/``, with its reason."""
        _write_synced(entry.folder / REASON, json.dumps(
            {"reason": reason, "failed": now_ms()}).encode())
        final = self._dir(FAILED) / entry.id
        if final.exists():
            self._drop(final)
        os.rename(entry.folder, final)
        _fsync_dir(final.parent)
        return final

    def _drop(self, folder: Path) -> None:
        gone = Path(tempfile.mkdtemp(prefix="done-", dir=self._dir(TMP)))
        os.rename(folder, gone / "entry")
        _fsync_dir(folder.parent)
        shutil.rmtree(gone, ignore_errors=True)

    def clean_tmp(self, older_than_s: float = STALE_TMP_S) -> int:
        """Delete what killed enqueues and uploads left in ``tmp/`` (never an entry: a
        queued one is in ``queue/``); how many were removed."""
        removed = 0
        cutoff = time.time() - older_than_s
        for path in (self.root / TMP).glob("*"):
            with contextlib.suppress(FileNotFoundError):
                if path.lstat().st_mtime < cutoff:
                    shutil.rmtree(path, ignore_errors=True)
                    removed += 1
        return removed


def _link_or_copy(src: Path, dest: Path) -> bool:
    """A hard link (instant, no copy) where the file system allows it, else a copy that
    is fsynced before it is used; True for a link."""
    try:
        os.link(src, dest)
        with open(dest, "rb") as linked:  # its bytes on disk now, not only in the page cache
            os.fsync(linked.fileno())
        return True
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP,
                             errno.EOPNOTSUPP, errno.EACCES):
            raise
    with open(src, "rb") as inp, open(dest, "wb") as out:
        shutil.copyfileobj(inp, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    return False


def _hash(path: Path) -> tuple[str, int]:
    digest, size = content_hash(), 0
    with open(path, "rb", buffering=0) as src:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(entry: Entry) -> int:
    try:
        return entry.data.stat().st_size
    except OSError:
        return 0
