"""``memory://name/prefix``: a lake held in this process's memory, for tests (ours and
users' own): cheaper than a temporary folder, and it shows that the Store contract holds
without a file system.

Every ``Lake("memory://name")`` in one process sees the same objects until
``discard("name")`` (or the process ends); other processes (Dask's workers, a CLI
subprocess) see none of them.  Writes are atomic: an object appears whole under the lock,
so there are no temporaries and no leftovers.
"""
from __future__ import annotations

import bisect
import dataclasses
import io
import os
import threading
import time
import urllib.parse
from typing import BinaryIO, Iterator

from ..core.errors import InvalidInput, NotFound
from .base import CHUNK, Entry, Store

NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclasses.dataclass
class _Object:
    data: bytes
    metadata: dict[str, str]
    modified: int  # UTC ms


class _Space:
    """One named memory lake: objects by full key, and the keys kept sorted for listings."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[str, _Object] = {}
        self.keys: list[str] = []


_SPACES: dict[str, _Space] = {}
_SPACES_LOCK = threading.Lock()


def _space(name: str) -> _Space:
    with _SPACES_LOCK:
        return _SPACES.setdefault(name, _Space())


def discard(name: str) -> None:
    """Forget every object of ``memory://name`` (the next Lake on it starts empty)."""
    with _SPACES_LOCK:
        _SPACES.pop(name, None)


def parse_memory_url(url: str) -> tuple[str, str]:
    """(name, prefix ending in '/' or ''), or InvalidInput naming what is wrong."""
    parsed = urllib.parse.urlparse(url)
    name, prefix = parsed.netloc, parsed.path.strip("/")
    if not name or not set(name) <= NAME_CHARS:
        raise InvalidInput("storage URL", f"{url!r}: give memory://NAME[/prefix], NAME of "
                                          "lowercase letters, digits, '-', '_' and '.'")
    if parsed.query or parsed.fragment or "//" in parsed.path or any(
            part in (".", "..") for part in prefix.split("/")):
        raise InvalidInput("storage URL", f"{url!r}: the prefix must be a plain path "
                                          "(memory://NAME/logs)")
    return name, prefix + "/" if prefix else ""


class MemoryStore(Store):
    """Objects in a dict shared by every store of the same name in this process."""

    shared_across_processes = False  # Lake.to_dask refuses it: its workers see nothing

    @classmethod
    def from_config(cls, url: str, config: object = None) -> "MemoryStore":
        return cls(url)

    def __init__(self, url: str):
        self.name, self.prefix = parse_memory_url(url)
        self.url = f"memory://{self.name}/{self.prefix}"
        self._space = _space(self.name)

    def _store(self, key: str, data: bytes, metadata: dict[str, str] | None,
               if_absent: bool) -> bool:
        full = self.prefix + key
        obj = _Object(data, dict(metadata or {}), time.time_ns() // 1_000_000)
        space = self._space
        with space.lock:
            if full in space.objects:
                if if_absent:
                    return False
            else:
                bisect.insort(space.keys, full)
            space.objects[full] = obj
        return True

    def put_file(self, key, source, metadata, progress=None, *, size=None, if_absent=False):
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as src:
                data = _read_all(src, progress)
        else:
            data = _read_all(source, progress)  # a read that raises abandons the upload
        return self._store(key, data, metadata, if_absent)

    def put_bytes(self, key, data, metadata=None, *, if_absent=False):
        return self._store(key, bytes(data), metadata, if_absent)

    def _object(self, key: str) -> _Object:
        with self._space.lock:
            obj = self._space.objects.get(self.prefix + key)
        if obj is None:
            raise NotFound(f"no object {key!r} in {self.url}")
        return obj

    def get_file(self, key, sink, progress=None, size=None):
        data = self._object(key).data
        for offset in range(0, len(data), CHUNK):
            chunk = data[offset:offset + CHUNK]
            sink.write_at(offset, chunk)
            if progress:
                progress(len(chunk))

    def open(self, key) -> BinaryIO:
        return io.BytesIO(self._object(key).data)

    def list(self, prefix, start_after=None, stop=None) -> Iterator[Entry]:
        full, cut, space = self.prefix + prefix, len(self.prefix), self._space
        after = self.prefix + start_after if start_after is not None else None
        with space.lock:
            at = bisect.bisect_right(space.keys, after) if after is not None \
                else bisect.bisect_left(space.keys, full)
            at = max(at, bisect.bisect_left(space.keys, full))
            found = []
            for name in space.keys[at:]:
                key = name[cut:]
                if not name.startswith(full) or (stop is not None and key >= stop):
                    break
                obj = space.objects[name]
                found.append(Entry(key, len(obj.data), modified=obj.modified))
        return iter(found)

    def list_dirs(self, prefix):
        names = set()
        for entry in self.list(prefix):
            rest = entry.key[len(prefix):]
            if "/" in rest:
                names.add(rest.split("/", 1)[0])
        return sorted(names)

    def head(self, key):
        with self._space.lock:
            obj = self._space.objects.get(self.prefix + key)
        return None if obj is None else Entry(key, len(obj.data), dict(obj.metadata),
                                              modified=obj.modified)

    def exists(self):
        return next(iter(self.list("")), None) is not None

    def delete(self, key):
        full, space = self.prefix + key, self._space
        with space.lock:
            if space.objects.pop(full, None) is not None:
                space.keys.pop(bisect.bisect_left(space.keys, full))

    def url_for(self, key):
        return self.url + key


def _read_all(src: BinaryIO, progress) -> bytes:
    parts = []
    while chunk := src.read(CHUNK):
        parts.append(chunk)
        if progress:
            progress(len(chunk))
    return b"".join(parts)
