"""Local files: the fetch cache (keyed by hash), temporary paths and readable names.

Cached files are written once, after their hash is verified, and made
read-only; fetched files are hard links to them where the file system allows
(else copies), so a second fetch of the same file costs no download.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .core import times
from .core.metadata import Record

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
