"""The object store behind a lake: a local folder here, S3 in ``stores.s3``.

A Store needs only put / get / ranged list / head / delete.  Keys are
'/'-separated strings; listings come back in byte order, like S3's.
"""
from __future__ import annotations

import abc
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from ..core.errors import InvalidInput, NotFound

Progress = Callable[[int], None]
CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class Entry:
    key: str
    size: int
    metadata: dict[str, str] | None = dataclasses.field(default=None, compare=False)  # head() on S3


class Store(abc.ABC):
    """An object store.  Writes of one key are atomic: readers see all or nothing."""

    url: str

    @abc.abstractmethod
    def put_file(self, key: str, path: Path, metadata: dict[str, str], progress: Progress | None = None) -> None: ...

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None: ...

    @abc.abstractmethod
    def get_file(self, key: str, dest: Path, progress: Progress | None = None,
                 size: int | None = None) -> None:
        """Write the object's bytes to ``dest`` (the caller makes it atomic).  ``size``,
        when the caller knows it from a listing, lets a small object take one request."""

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
    def delete(self, key: str) -> None: ...

    @abc.abstractmethod
    def url_for(self, key: str) -> str: ...


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

    def _atomic_write(self, key: str, write: Callable[[BinaryIO], None]) -> None:
        final = self._path(key)
        tmp_dir = self.root / ".tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, key, path, metadata, progress=None):
        def write(out: BinaryIO) -> None:
            with open(path, "rb") as src:
                _copy(src, out, progress)
        self._atomic_write(key, write)

    def put_bytes(self, key, data, metadata=None):
        self._atomic_write(key, lambda out: out.write(data))

    def get_file(self, key, dest, progress=None, size=None):
        with self.open(key) as src, open(dest, "wb") as out:
            _copy(src, out, progress)

    def open(self, key):
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotFound(f"no object {key!r} in {self.url}") from None

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
                yield Entry(key, entry.stat().st_size)

    def list_dirs(self, prefix):
        folder = self.root.joinpath(*prefix.strip("/").split("/")) if prefix.strip("/") else self.root
        try:
            return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
        except FileNotFoundError:
            return []

    def head(self, key):
        try:
            return Entry(key, self._path(key).stat().st_size)
        except FileNotFoundError:
            return None

    def delete(self, key):
        self._path(key).unlink(missing_ok=True)

    def url_for(self, key):
        return self._path(key).as_uri()


def _copy(src: BinaryIO, out: BinaryIO, progress: Progress | None) -> None:
    if progress is None:
        shutil.copyfileobj(src, out, CHUNK)
        return
    while chunk := src.read(CHUNK):
        out.write(chunk)
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
