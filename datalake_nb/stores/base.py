"""The Store protocol every storage behind a lake implements (``stores.local``: a folder,
``stores.s3``: S3; ``stores.registry`` picks one by the URL's scheme).

A Store needs only put / get / ranged list / head / delete.  Keys are
'/'-separated strings; listings come back in byte order, like S3's.  A store that
writes through temporaries also lists and removes what killed writes left
(``leftovers``, ``remove_leftover``) for ``datalake check``.
"""
from __future__ import annotations

import abc
import contextlib
import dataclasses
import mmap
from pathlib import Path
from typing import BinaryIO, Callable, ContextManager, Iterator, Protocol, Union

Progress = Callable[[int], None]
Source = Union[Path, BinaryIO]  # a file to upload, or a stream of its bytes (read to the end)
Buffer = Union[bytes, bytearray, memoryview, mmap.mmap]  # bytes in memory, for put_bytes
CHUNK = 1 << 20


class Sink(Protocol):
    """Where ``Store.get_file`` writes an object: ``write_at`` may be called from several
    threads, in any order, and writes each byte of the object once (``data``, bytes or a
    bytearray, is the sink's to keep: the store does not change it afterwards).  It may raise to stop the download (then the store stops every part).
    ``hashing.VerifiedFile`` is the one the lake uses: it hashes the bytes as they arrive."""

    def write_at(self, offset: int, data: bytes | bytearray) -> None: ...


@dataclasses.dataclass(frozen=True)
class Entry:
    key: str
    size: int
    metadata: dict[str, str] | None = dataclasses.field(default=None, compare=False)  # head() on S3
    modified: int | None = dataclasses.field(default=None, compare=False)  # ms: S3 LastModified, mtime


@dataclasses.dataclass(frozen=True)
class Leftover:
    """What a killed push or fetch left behind: a temporary file, or an S3 multipart
    upload that was never completed (its parts cost storage until it is aborted)."""
    kind: str          # "temp-file" or "upload" ("cache-temp-file": check's, in the fetch cache)
    name: str          # a file's path, or the upload's key (relative to the lake)
    size: int          # bytes (an upload's parts so far)
    modified_ms: int   # last write of a file; start of an upload (UTC ms)
    upload_id: str | None = None


class Store(abc.ABC):
    """An object store.  Writes of one key are atomic: readers see all or nothing."""

    url: str
    shared_across_processes = True  # another process (a Dask worker) can open the same URL

    @abc.abstractmethod
    def put_file(self, key: str, source: Source, metadata: dict[str, str],
                 progress: Progress | None = None, *, size: int | None = None,
                 if_absent: bool = False) -> bool:
        """Store a file's bytes (``source`` is its path, or a stream of ``size`` bytes whose
        reads may raise to abandon the upload: then nothing becomes visible).  With
        ``if_absent`` an existing object is left as it is.  True if this call wrote the key."""

    @abc.abstractmethod
    def put_bytes(self, key: str, data: Buffer, metadata: dict[str, str] | None = None, *,
                  if_absent: bool = False) -> bool:
        """Like put_file, for bytes in memory (as ``read_whole`` gives them)."""

    @abc.abstractmethod
    def get_file(self, key: str, sink: Sink, progress: Progress | None = None,
                 size: int | None = None) -> None:
        """Write the object's bytes into ``sink`` (``sink.write_at``; the caller verifies
        and places them).  ``progress(n)`` is told of bytes as they arrive, and may raise to
        stop the download: then, as on any error, every part in flight stops within about
        a second and nothing more is written.  ``size`` (a listing's or the record's) lets a
        small object take one request and a large one its ranged requests at once; an
        object found to be of another size is an IntegrityError (or, if only the bytes
        show it, the caller's hash check fails)."""

    @abc.abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object, without downloading it first."""

    @abc.abstractmethod
    def list(self, prefix: str, start_after: str | None = None, stop: str | None = None) -> Iterator[Entry]:
        """Entries under ``prefix`` with start_after < key < stop, in key order."""

    @abc.abstractmethod
    def list_dirs(self, prefix: str) -> list[str]:
        """The names of the next '/'-level below ``prefix`` (a delimiter listing)."""

    @abc.abstractmethod
    def head(self, key: str) -> Entry | None: ...

    @abc.abstractmethod
    def exists(self) -> bool:
        """Whether anything was ever stored at the root (one small request on S3)."""

    @abc.abstractmethod
    def delete(self, key: str) -> None: ...

    @abc.abstractmethod
    def url_for(self, key: str) -> str: ...

    def read_whole(self, src: BinaryIO, size: int,
                   progress: Progress | None = None) -> ContextManager[Buffer]:
        """The rest of an open file of about ``size`` bytes (a /proc file says 0), in
        memory for the block's length, to hash and to give to ``put_bytes``.  An S3 store
        counts them against its part slots, so a push's memory stays bounded (waiting for
        them calls ``progress(0)``, which may raise to stop), and gives them back to the
        system when the block ends; here they are plain bytes."""
        return contextlib.nullcontext(src.read())

    def leftovers(self) -> Iterator[Leftover]:
        """Temporary files and unfinished uploads that killed writes left (none by default)."""
        return iter(())

    def remove_leftover(self, leftover: Leftover, older_than_ms: int) -> bool:
        """Remove a leftover if it is still older than ``older_than_ms`` (UTC ms); False
        when it was written since (so it may belong to a running push) or is gone."""
        raise NotImplementedError(f"{type(self).__name__} has no leftovers to remove")
