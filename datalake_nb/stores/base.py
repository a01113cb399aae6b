"""The object store behind a lake: a local folder here, S3 in ``stores.s3``.

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
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, ContextManager, Iterator, Protocol, Union

from ..core.errors import InvalidInput, NotFound

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


class LocalStore(Store):
    """Objects as files under a root folder; a key's '/' are sub-folders."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().absolute()
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            raise InvalidInput("key", f"{key!r} is not a valid object key")
        return self.root.joinpath(*parts)

    def _atomic_write(self, key: str, write: Callable[[BinaryIO], None], if_absent: bool) -> bool:
        final = self._path(key)
        if if_absent and final.exists():
            return False
        tmp_dir = self.root / ".tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
            final.parent.mkdir(parents=True, exist_ok=True)
            if not if_absent:
                os.replace(tmp, final)
                return True
            try:
                os.link(tmp, final)  # atomic, and fails if another writer was first
            except FileExistsError:
                return False
            except OSError:  # a file system without hard links
                if final.exists():
                    return False
                os.replace(tmp, final)
            return True
        finally:
            Path(tmp).unlink(missing_ok=True)

    def put_file(self, key, source, metadata, progress=None, *, size=None, if_absent=False):
        def write(out: BinaryIO) -> None:
            if isinstance(source, (str, os.PathLike)):
                with open(source, "rb") as src:
                    _copy(src, out, progress)
            else:
                _copy(source, out, progress)
        return self._atomic_write(key, write, if_absent)

    def put_bytes(self, key, data, metadata=None, *, if_absent=False):
        return self._atomic_write(key, lambda out: out.write(data), if_absent)

    def get_file(self, key, sink, progress=None, size=None):
        with self.open(key) as src:
            offset = 0
            while chunk := src.read(CHUNK):
                sink.write_at(offset, chunk)
                offset += len(chunk)
                if progress:
                    progress(len(chunk))

    def open(self, key):
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotFound(f"no object {key!r} in {self.url}") from None

    def exists(self):
        return self.root.is_dir()

    def list(self, prefix, start_after=None, stop=None):
        base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
        folder = self.root.joinpath(*base.split("/")[:-1]) if base else self.root
        yield from self._walk(folder, base, prefix, start_after, stop)

    def _walk(self, folder: Path, key_prefix: str, prefix: str,
              start_after: str | None, stop: str | None) -> Iterator[Entry]:
        try:
            with os.scandir(folder) as it:
                entries = [(e.name + "/" if e.is_dir() else e.name, e) for e in it
                           if not e.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return
        for name, entry in sorted(entries, key=lambda pair: pair[0]):
            key = key_prefix + name
            if not (key.startswith(prefix) or prefix.startswith(key)):
                continue
            if stop is not None and key >= stop:
                return
            if name.endswith("/"):
                # skip a folder whose every key is <= start_after
                if start_after is not None and start_after >= key and not start_after.startswith(key):
                    continue
                yield from self._walk(Path(entry.path), key, prefix, start_after, stop)
            elif (start_after is None or key > start_after) and key.startswith(prefix):
                stat = entry.stat()
                yield Entry(key, stat.st_size, modified=stat.st_mtime_ns // 1_000_000)

    def list_dirs(self, prefix):
        folder = self.root.joinpath(*prefix.strip("/").split("/")) if prefix.strip("/") else self.root
        try:
            return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
        except FileNotFoundError:
            return []

    def head(self, key):
        try:
            stat = self._path(key).stat()
            return Entry(key, stat.st_size, modified=stat.st_mtime_ns // 1_000_000)
        except FileNotFoundError:
            return None

    def delete(self, key):
        self._path(key).unlink(missing_ok=True)

    def url_for(self, key):
        return self._path(key).as_uri()

    def leftovers(self):
        """Files in ``<root>/.tmp``: copies that pushes write before renaming them in place."""
        try:
            with os.scandir(self.root / ".tmp") as it:
                entries = [(e.path, e.stat()) for e in it if e.is_file(follow_symlinks=False)]
        except FileNotFoundError:
            return iter(())
        return iter([Leftover("temp-file", path, st.st_size, st.st_mtime_ns // 1_000_000)
                     for path, st in sorted(entries)])

    def remove_leftover(self, leftover, older_than_ms):
        return remove_old_file(Path(leftover.name), older_than_ms)


def remove_old_file(path: Path, older_than_ms: int) -> bool:
    """Delete ``path`` if its last write is before ``older_than_ms``; False otherwise."""
    try:
        if path.lstat().st_mtime_ns // 1_000_000 >= older_than_ms:
            return False
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _copy(src: BinaryIO, out: BinaryIO, progress: Progress | None) -> None:
    while chunk := src.read(CHUNK):
        out.write(chunk)
        if progress:
            progress(len(chunk))


def redact_url(url: str) -> str:
    """The URL without a user:password@ part, so an error message cannot show a secret."""
    head, sep, rest = url.partition("://")
    user, at, after = rest.partition("@")
    if sep and at and ":" in user.partition("/")[0]:  # user:pass@host, even if pass has a '/'
        return f"{head}://***@{after}"
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return head + sep + netloc + slash + path if sep else url
