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

from .core import times
from .core.errors import IntegrityError
from .core.metadata import Record, content_hash

CHUNK = 1 << 20


def hash_file(path: Path) -> tuple[str, int]:
    """(blake2b-16 hex, size) of a file, read once.

    A small file is one read.  A larger one goes through two reused buffers: a helper
    thread reads the next while this one is hashed (both release the GIL), so it hashes
    at blake2b's own speed rather than that plus the copy out of the page cache.
    """
    digest = content_hash()
    with open(path, "rb", buffering=0) as src:
        if os.fstat(src.fileno()).st_size < CHUNK:  # no buffers to allocate, no thread
            data = src.read()
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
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().absolute()

    def path(self, hash_hex: str) -> Path:
        return self.root / "objects" / hash_hex[:2] / hash_hex

    def lookup(self, rec: Record) -> Path | None:
        path = self.path(rec.hash)
        try:
            if rec.size is None or path.stat().st_size == rec.size:
                return path
        except FileNotFoundError:
            pass
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
