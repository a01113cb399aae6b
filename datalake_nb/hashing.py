"""The lake's hash in one place: of bytes, of a file, of a stream, and a stream that checks it.

The hash is the seed's 16-byte blake2b (pyblake2 and hashlib agree), over the whole
content of a file.  Push hashes the file, fetch hashes the download before placing it,
``check --deep`` hashes what is stored, and ``cat`` / ``Lake.open`` read through
``VerifiedStream`` so damage is never passed on silently.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import io
import os
from pathlib import Path
from typing import Any

from .core.errors import DatalakeError, IntegrityError
from .core.metadata import Record
from .stores.base import CHUNK


def content_hash() -> "hashlib._Hash":
    """The lake's hash: the seed's 16-byte blake2b (pyblake2 and hashlib agree)."""
    return hashlib.blake2b(digest_size=16)


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
