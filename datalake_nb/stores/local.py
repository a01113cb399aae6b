"""A lake in a local folder: objects as files, keys as paths, every write through a
temporary file in ``<root>/.tmp`` and an atomic rename (a link when the key must be new)."""
from __future__ import annotations

import os
import tempfile
import urllib.parse
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from ..core.errors import InvalidInput, NotFound
from .base import CHUNK, Entry, Leftover, Progress, Store


class LocalStore(Store):
    """Objects as files under a root folder; a key's '/' are sub-folders."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().absolute()
        self.url = self.root.as_uri()

    @classmethod
    def from_config(cls, url: str, config: object = None) -> "LocalStore":
        """The store for ``file:///path`` or a plain folder path."""
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme != "file":
            return cls(url)
        if parsed.netloc not in ("", "localhost"):
            raise InvalidInput("storage URL", f"{url!r}: file URLs must be file:///absolute/path")
        return cls(urllib.parse.unquote(parsed.path))

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

