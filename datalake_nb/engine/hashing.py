"""The lake's hash in one place: of bytes, of a file, of a stream, and a stream that checks it.

The hash is the seed's 16-byte blake2b (pyblake2 and hashlib agree), over the whole
content of a file.  Push hashes the file, fetch hashes the download as it arrives
(``VerifiedFile``: parts written in any order, hashed in order) before placing it,
``check --deep`` hashes what is stored, and ``cat`` / ``Lake.open`` read through
``VerifiedStream`` so damage is never passed on silently.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import io
import mmap
import os
import threading
from pathlib import Path
from typing import Any

from ..core.errors import DatalakeError, IntegrityError
from ..core.metadata import Record
from ..stores.base import CHUNK


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
    at blake2b's own speed rather than that plus the copy out of the page cache.  They
    are anonymous mmaps, given back to the system when the hash is done (the allocator
    would keep them, per thread, for later use: many files in flight add up).
    """
    digest = content_hash()
    if os.fstat(src.fileno()).st_size < CHUNK:  # no buffers to allocate, no thread
        data = src.readall()
        digest.update(data)
        return digest.hexdigest(), len(data)
    size = 0
    views = (memoryview(mmap.mmap(-1, CHUNK)), memoryview(mmap.mmap(-1, CHUNK)))
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

    def readinto(self, buffer: Any) -> int:
        """``read`` into the caller's buffer (an S3 store's part)."""
        with memoryview(buffer) as whole, whole[:self._left] as view:
            want, got = len(view), 0
            while got < want:
                with view[got:] as rest:
                    n = self._raw.readinto(rest)
                if not n:
                    break
                got += n
            with view[:got] as filled:
                self._digest.update(filled)
        self._left -= got
        if got < want or (self._left == 0 and want > 0):
            self._verify(truncated=got < want)
        return got

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


AHEAD_LIMIT = 32 << 20  # bytes a VerifiedFile holds for the hash beyond a gap (then writers wait)
HASH_BATCH = 8 << 20  # bytes per digest update: each one waits for the GIL once afterwards


class SinkClosed(DatalakeError):
    """A write to a VerifiedFile after it was closed: the download it belongs to was given up."""


class VerifiedFile:
    """A file that a download writes in pieces, in any order and from any thread
    (``write_at``), hashed strictly in order as its bytes become contiguous, so the
    download is verified as it arrives and the file is never read again.

    Each piece is written to the file at once (while it is still in the CPU's cache) and
    kept until the hash reaches it.  The hash takes contiguous bytes HASH_BATCH at a time
    (joined into one buffer): a thread that hashes has to win the GIL back after every
    update, and with many threads reading the network, per-megabyte updates made the hash
    the slowest step.  Bytes beyond a gap (a later part arriving before an earlier one)
    wait in memory too; past ``ahead_limit`` bytes, their writers wait until the hash
    catches up (the writer that extends the contiguous bytes never waits, so the gap
    always closes).  ``close()`` (the end of a ``with`` block) wakes every waiting writer
    with SinkClosed and refuses later writes: a download given up halfway cannot write
    into the file afterwards.  Implements ``stores.base.Sink``.
    """

    def __init__(self, path: str | os.PathLike[str] | int, ahead_limit: int = AHEAD_LIMIT):
        """``path`` may be a file descriptor open for writing: the sink owns it then."""
        self._fd = path if isinstance(path, int) else os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
        self._digest = content_hash()
        self._limit = ahead_limit
        self._next = 0                      # bytes before this are hashed (or being hashed)
        self._filled = 0                    # bytes before this are written (contiguous)
        self._ahead: dict[int, bytes | bytearray] = {}  # offset -> bytes written, not hashed
        self._ahead_bytes = 0               # their size, plus that of writes in progress
        self._hashing = False               # one thread at a time feeds the digest
        self._writing = 0                   # writes in progress (close waits for them)
        self._closed = False
        self._cond = threading.Condition()

    def __enter__(self) -> "VerifiedFile":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def write_at(self, offset: int, data: bytes | bytearray) -> None:
        """Write ``data`` at ``offset`` (kept, not copied, until hashed: the caller must not
        change it afterwards); each byte of the file is written once."""
        if not data:
            return
        with self._cond:
            while (not self._closed and offset != self._filled and self._ahead_bytes
                   and self._ahead_bytes + len(data) > self._limit):
                self._cond.wait()
            if self._closed:
                raise SinkClosed("download stopped: its file was closed")
            if offset < self._filled or offset in self._ahead:
                raise ValueError(f"bytes at offset {offset} were written before")
            self._writing += 1
            self._ahead_bytes += len(data)  # counted from now: writers check it before writing
        try:
            view = memoryview(data)
            done = 0
            while done < len(view):
                done += os.pwrite(self._fd, view[done:], offset + done)
        except BaseException:
            with self._cond:
                self._ahead_bytes -= len(data)
                raise
        finally:
            with self._cond:
                self._writing -= 1
                self._cond.notify_all()
        with self._cond:
            if self._closed:
                raise SinkClosed("download stopped: its file was closed")
            self._ahead[offset] = data
            while self._filled in self._ahead:
                self._filled += len(self._ahead[self._filled])
            self._cond.notify_all()
            if self._hashing or self._filled - self._next < HASH_BATCH:
                return  # the thread hashing now takes these bytes when it reaches them
            self._hashing = True
        self._hash_contiguous(final=False)

    def _hash_contiguous(self, final: bool) -> None:
        """Feed the digest the contiguous bytes, in order, HASH_BATCH at a time (all of
        them if ``final``), outside the lock: blake2b releases the GIL, so other parts
        keep writing meanwhile.  The caller has set ``_hashing``."""
        while True:
            with self._cond:
                ready = self._filled - self._next
                if self._closed or not ready or (ready < HASH_BATCH and not final):
                    self._hashing = False
                    self._cond.notify_all()
                    return
                batch: list[bytes | bytearray] = []
                taken = 0
                while taken < HASH_BATCH and self._next < self._filled:
                    chunk = self._ahead.pop(self._next)
                    batch.append(chunk)
                    self._next += len(chunk)
                    taken += len(chunk)
                self._ahead_bytes -= taken
                self._cond.notify_all()
            self._digest.update(batch[0] if len(batch) == 1 else b"".join(batch))

    @property
    def waiting_bytes(self) -> int:
        """Bytes written but not hashed yet, held in memory until the hash reaches them."""
        with self._cond:
            return self._ahead_bytes

    def result(self) -> tuple[str, int]:
        """(blake2b-16 hex, size) of the file, once every write has returned."""
        with self._cond:
            while self._hashing:
                self._cond.wait()
            self._hashing = True
        self._hash_contiguous(final=True)
        with self._cond:
            if self._ahead:
                raise DatalakeError(f"download incomplete: no bytes at offset {self._next} of a "
                                    f"file that has bytes at {min(self._ahead)}")
            return self._digest.hexdigest(), self._next

    def close(self) -> None:
        """Stop: wake waiting writers (SinkClosed), wait for writes in progress, close the file."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._ahead.clear()
            self._cond.notify_all()
            while self._writing:
                self._cond.wait()
        os.close(self._fd)
