"""Local files: the fetch cache (keyed by hash), temporary paths and readable names.

Cached files are written once, after their hash is verified, and made
read-only; fetched files are hard links to them where the file system allows
(else copies), so a second fetch of the same file costs no download.
"""
from __future__ import annotations

import contextlib
import glob
import os
import random
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from .hashing import hash_file

from ..core import times
from ..core.metadata import Record

MARK_MAX_MS = 7_258_118_400_000  # 2200-01-01: file times (ns in 64 bits) end in 2262


def _mark(rec: Record) -> int:
    """The mtime (ns) a verified cache entry gets: the end (or start) of its record, which
    also gives a fetched log the time of its last event, as the original had."""
    ms = rec.end if rec.end is not None else rec.start
    return min(ms, MARK_MAX_MS) * 1_000_000


def readable_name(rec: Record) -> str:
    """where/what_START_IDTAIL.ext: built from validated fields only, so it
    cannot leave the destination folder."""
    return f"{rec.where}/{rec.what}_{times.compact(rec.start)}_{rec.id[-8:]}{rec.ext}"


_LIVE: set[Path | str] = set()  # the temporary paths of this process that are in use
_LIVE_LOCK = threading.Lock()


@contextlib.contextmanager
def temp_path(folder: Path, suffix: str = ".part") -> Iterator[Path]:
    """A fresh temporary path in ``folder`` (made if missing) that is removed unless
    renamed away."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".datalake-", suffix=suffix)
    except FileNotFoundError:  # the first file of this folder: make it (not a mkdir per file)
        os.makedirs(folder, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=".datalake-", suffix=suffix)
    os.close(fd)
    path = Path(name)
    with _LIVE_LOCK:
        _LIVE.add(path)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        with _LIVE_LOCK:
            _LIVE.discard(path)


_NAMES = random.Random()  # temporary names: an O_EXCL create settles any clash
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class TempFile:
    """A fresh temporary file: ``fd`` open for writing (its user closes it), ``path``, and
    ``moved``, set by whoever renames it away (then it is not removed)."""
    __slots__ = ("fd", "path", "moved")

    def __init__(self, fd: int, path: str):
        self.fd, self.path, self.moved = fd, path, False


@contextlib.contextmanager
def temp_file(folder: str, suffix: str = ".part", mode: int = 0o600) -> Iterator[TempFile]:
    """``temp_path``, left open: one system call where mkstemp, its close and the writer's
    open again took three (a fetch of many small files makes one per file, and every
    system call hands the GIL to another thread and back).  ``mode`` applies to the file,
    not to this fd: 0o444 makes a file that only this fd can write."""
    made = False
    while True:
        path = f"{folder}/.datalake-{_NAMES.getrandbits(64):016x}{suffix}"
        try:
            fd = os.open(path, _CREATE, mode)
            break
        except FileExistsError:
            continue
        except FileNotFoundError:  # the first file of this folder: make it (not a mkdir per file)
            if made:
                raise
            os.makedirs(folder, exist_ok=True)
            made = True
    temp = TempFile(fd, path)
    with _LIVE_LOCK:
        _LIVE.add(path)
    try:
        yield temp
    finally:
        if not temp.moved:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        with _LIVE_LOCK:
            _LIVE.discard(path)


def remove_temp_files() -> None:
    """Unlink the temporary files still in use (and any ``NAME.XXXXXXXX`` beside each, as
    versions downloading through s3transfer left): after an interrupt, for transfers that
    did not stop within the grace time and whose threads the CLI will not wait for.  A
    transfer that still finishes finds its file gone and fails; nothing partial stays in
    the cache."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for path in map(Path, live):
        for leftover in [path, *path.parent.glob(glob.escape(path.name) + ".*")]:
            leftover.unlink(missing_ok=True)


class Cache:
    """Verified files by hash.  An entry is trusted while its size and its modification
    time are the ones it was given when it was verified; fetched files are hard links to
    entries, so editing one in place changes both and the entry is hashed again (and
    dropped if its bytes are not the record's any more)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().absolute()
        self._objects = os.path.join(self.root, "objects")

    def path(self, hash_hex: str) -> Path:
        return Path(self.entry(hash_hex))

    def entry(self, hash_hex: str) -> str:
        """The entry's path as a string (a fetch of many small files builds thousands)."""
        return f"{self._objects}/{hash_hex[:2]}/{hash_hex}"

    def add(self, verified: Path, rec: Record) -> Path:
        """Move a verified file into the cache, read-only and marked as verified."""
        final = self.path(rec.hash)
        verified.chmod(0o444)
        mark = _mark(rec)
        os.utime(verified, ns=(mark, mark))
        os.replace(verified, final)
        return final

    def add_open(self, verified: TempFile, rec: Record) -> str:
        """``add`` for a temporary file still open (``temp_file``, made read-only): marked
        through its fd and renamed; the path of the entry."""
        final = self.entry(rec.hash)
        mark = _mark(rec)
        os.utime(verified.fd, ns=(mark, mark))
        os.replace(verified.path, final)
        verified.moved = True
        return final

    def lookup(self, rec: Record) -> Path | None:
        found = self.find(rec)
        return None if found is None else Path(found)

    def find(self, rec: Record) -> str | None:
        """The verified entry of ``rec`` (a path string), or None when it is missing or
        was damaged (then it is dropped)."""
        path = self.entry(rec.hash)
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return None
        if rec.size is not None and stat.st_size != rec.size:
            return self._drop(path)
        mark = _mark(rec)
        if stat.st_mtime_ns == mark:
            return path
        actual, _ = hash_file(Path(path))  # touched or edited since it was verified: look again
        if actual != rec.hash:
            return self._drop(path)
        with contextlib.suppress(OSError):
            os.utime(path, ns=(mark, mark))
        return path

    def forget(self, rec: Record) -> None:
        """Drop ``rec``'s entry (a removed record: its bytes should not outlive it here;
        copies a fetch placed elsewhere are the user's)."""
        self._drop(self.entry(rec.hash))

    @staticmethod
    def _drop(path: str) -> None:
        """Unlink a damaged entry (fetched copies elsewhere keep their bytes)."""
        with contextlib.suppress(OSError):
            os.unlink(path)
        return None

    @staticmethod
    def place(cached: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
        """Make ``dest`` hold the cached file, atomically: a new ``dest`` is one hard link
        (see ``place_new``); an existing one is left alone when it is the cached file
        already, else replaced (``replace``)."""
        if Cache.place_new(cached, dest) is None:
            Cache.replace(cached, dest)

    @staticmethod
    def place_new(cached: str | os.PathLike[str], dest: str | os.PathLike[str]
                  ) -> list[str] | None:
        """Make a new ``dest`` hold the cached file, never over an existing file: one hard
        link (its folder made on the first miss), or where hard links fail (another file
        system) a copy under a temporary name, linked in.  Returns the folders it made,
        deepest first (to undo it), or None when ``dest`` exists (then nothing was done)."""
        cached, dest = os.fspath(cached), os.fspath(dest)
        made: list[str] = []
        for attempt in range(2):
            try:
                os.link(cached, dest)
                return made
            except FileExistsError:
                return None
            except FileNotFoundError:
                if attempt or not os.path.exists(cached):
                    raise  # the cached file is gone, not the folder
                made = _make_folder(os.path.dirname(dest) or ".")
            except OSError:  # no hard links from the cache to here
                break
        with temp_path(Path(os.path.dirname(dest) or ".")) as tmp:
            shutil.copyfile(cached, tmp)
            try:
                os.link(tmp, dest)
            except FileExistsError:
                return None
            except OSError:  # no hard links at all here: a rename (that could clobber)
                if os.path.lexists(dest):
                    return None
                os.replace(tmp, dest)
        return made

    @staticmethod
    def replace(cached: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
        """Make an existing ``dest`` hold the cached file: nothing when it is that file
        already, else a link (or copy) under a temporary name, renamed over it."""
        cached, dest = os.fspath(cached), os.fspath(dest)
        with contextlib.suppress(FileNotFoundError):
            if os.path.samefile(cached, dest):
                return
        with temp_path(Path(os.path.dirname(dest) or ".")) as tmp:
            tmp.unlink()
            try:
                os.link(cached, tmp)
            except OSError:
                shutil.copyfile(cached, tmp)
            os.replace(tmp, dest)


def _make_folder(folder: str) -> list[str]:
    """``os.makedirs(folder)``; the folders that were missing, deepest first."""
    missing = []
    here = folder
    while here and not os.path.isdir(here):
        missing.append(here)
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    os.makedirs(folder, exist_ok=True)
    return missing
