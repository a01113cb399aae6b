"""Local files: hashing, the fetch cache (keyed by hash) and readable names.

Cached files are written once, after their hash is verified, and made
read-only; fetched files are hard links to them where the file system allows
(else copies), so a second fetch of the same file costs no download.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from . import times
from .errors import DatalakeError, IntegrityError
from .metadata import Record, content_hash

CHUNK = 1 << 20
MARK_MAX_MS = 7_258_118_400_000  # 2200-01-01: file times (ns in 64 bits) end in 2262


def hash_file(path: Path) -> tuple[str, int]:
    """(blake2b-16 hex, size) of a file, read once."""
    with open(path, "rb", buffering=0) as src:
        return hash_open_file(src)


def hash_open_file(src: Any) -> tuple[str, int]:
    """(blake2b-16 hex, size) of an open unbuffered file, from its position to its end.

    A small file is one read.  A larger one goes through two reused buffers: a helper
    thread reads the next while this one is hashed (both release the GIL), so it hashes
    at blake2b's own speed rather than that plus the copy out of the page cache.
    """
    digest = content_hash()
    if os.fstat(src.fileno()).st_size < CHUNK:  # no buffers to allocate, no thread
        data = src.readall()
        digest.update(data)
        return digest.hexdigest(), len(data)
    size = 0
    views = (memoryview(bytearray(CHUNK)), memoryview(bytearray(CHUNK)))
    with concurrent.futures.ThreadPoolExecutor(1) as reader:
        n, current = src.readinto(views[0]), 0
        while n:
            ahead = reader.submit(src.readinto, views[1 - current])
            digest.update(views[current][:n])
            size += n
            n, current = ahead.result(), 1 - current
    return digest.hexdigest(), size


class FileChanged(DatalakeError):
    """The bytes read for an upload are not the ones that were hashed for its key."""


class HashedUpload:
    """The first ``size`` bytes of an open file, read once more for an upload; the read
    that reaches ``size`` raises FileChanged unless they hash to ``expected``, so a
    store abandons the upload (nothing becomes visible) instead of storing bytes under
    a key that names other bytes.  Bytes appended after ``size`` are not read: a log
    that grows during its push is archived as it was when hashed."""

    def __init__(self, raw: Any, expected: str, size: int, name: str):
        self._raw, self._expected, self._left, self._name = raw, expected, size, name
        self._digest = content_hash()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        want = self._left if n is None or n < 0 else min(n, self._left)
        parts, got = [], 0
        while got < want:
            chunk = self._raw.read(want - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        data = b"".join(parts) if len(parts) != 1 else parts[0]
        self._digest.update(data)
        self._left -= got
        if got < want or (self._left == 0 and want > 0):
            self._verify(truncated=got < want)
        return data

    def _verify(self, truncated: bool) -> None:
        if truncated or self._digest.hexdigest() != self._expected:
            raise FileChanged(f"{self._name}: the file changed while it was pushed (its bytes "
                              "are no longer the ones hashed for its record); nothing was "
                              "archived from this push: push it again")


def hash_stream(stream: Any) -> str:
    """The lake's hash of everything a readable stream gives."""
    digest = content_hash()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def corrupt_message(url: str, rec: Record, actual: str, outcome: str = "nothing was written") -> str:
    """One line that names the stored object whose bytes are not what its record says."""
    return (f"{url} (id {rec.id}): stored bytes hash to {actual}, the record says {rec.hash}; "
            f"{outcome}")


class VerifiedStream(io.RawIOBase):
    """A stored object read as a stream whose last read raises IntegrityError when the
    bytes do not match the record, so `cat` and ``Lake.open`` cannot pass damage on silently."""

    def __init__(self, raw: Any, rec: Record, url: str):
        super().__init__()
        self._raw, self._rec, self._url = raw, rec, url
        self._digest = content_hash()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        if not data:
            actual = self._digest.hexdigest()
            if actual != self._rec.hash:
                raise IntegrityError(corrupt_message(self._url, self._rec, actual,
                                                     "do not trust what was read"))
            return 0
        self._digest.update(data)
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def _mark(rec: Record) -> int:
    """The mtime (ns) a verified cache entry gets: the end (or start) of its record, which
    also gives a fetched log the time of its last event, as the original had."""
    ms = rec.end if rec.end is not None else rec.start
    return min(ms, MARK_MAX_MS) * 1_000_000


def readable_name(rec: Record) -> str:
    """where/what_START_IDTAIL.ext: built from validated fields only, so it
    cannot leave the destination folder."""
    return f"{rec.where}/{rec.what}_{times.compact(rec.start)}_{rec.id[-8:]}{rec.ext}"


@contextlib.contextmanager
def temp_path(folder: Path, suffix: str = ".part") -> Iterator[Path]:
    """A fresh temporary path in ``folder`` that is removed unless renamed away."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=".datalake-", suffix=suffix)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


class Cache:
    """Verified files by hash.  An entry is trusted while its size and its modification
    time are the ones it was given when it was verified; fetched files are hard links to
    entries, so editing one in place changes both and the entry is hashed again (and
    dropped if its bytes are not the record's any more)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().absolute()

    def path(self, hash_hex: str) -> Path:
        return self.root / "objects" / hash_hex[:2] / hash_hex

    def add(self, verified: Path, rec: Record) -> Path:
        """Move a verified file into the cache, read-only and marked as verified."""
        final = self.path(rec.hash)
        verified.chmod(0o444)
        mark = _mark(rec)
        os.utime(verified, ns=(mark, mark))
        os.replace(verified, final)
        return final

    def lookup(self, rec: Record) -> Path | None:
        path = self.path(rec.hash)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        if rec.size is not None and stat.st_size != rec.size:
            return self._drop(path)
        if stat.st_mtime_ns == _mark(rec):
            return path
        actual, _ = hash_file(path)  # touched or edited since it was verified: look again
        if actual != rec.hash:
            return self._drop(path)
        with contextlib.suppress(OSError):
            os.utime(path, ns=(_mark(rec), _mark(rec)))
        return path

    @staticmethod
    def _drop(path: Path) -> None:
        """Unlink a damaged entry (fetched copies elsewhere keep their bytes)."""
        with contextlib.suppress(OSError):
            path.unlink()
        return None

    def place(self, cached: Path, dest: Path) -> Path:
        """Make ``dest`` hold the cached file, atomically (a link, else a copy)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if os.path.samefile(cached, dest):
                return dest
        with temp_path(dest.parent) as tmp:
            tmp.unlink()
            try:
                os.link(cached, tmp)
            except OSError:
                shutil.copyfile(cached, tmp)
            os.replace(tmp, dest)
        return dest
