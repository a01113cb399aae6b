"""Compressed files read transparently, chosen by the file's extension.

One helper for everyone who reads content (``Lake.read``, ``grep``, ``to_dask``,
``Lake.open(decompress=True)``): ``.gz`` (logrotate's output), ``.bz2`` and ``.xz``,
all from the standard library.  ``.zst`` is not supported: no zstandard library is a
dependency of the package.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from typing import Any, BinaryIO, Callable

from ..core.errors import DamagedFile, DatalakeError

OPENERS: dict[str, Callable[[BinaryIO], BinaryIO]] = {
    ".gz": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    ".bz2": lambda raw: bz2.BZ2File(raw, "rb"),
    ".xz": lambda raw: lzma.LZMAFile(raw, "rb"),
}
DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress,
}


def codec_of(name: str) -> str | None:
    """'.gz', '.bz2' or '.xz' when the name (or extension) ends with it, else None; a
    ``.zst`` name is refused (its bytes read as text would be garbage rows)."""
    lowered = name.lower()
    if lowered.endswith(".zst"):
        raise DatalakeError(f"{name}: cannot read a .zst file: Zstandard is not supported (no "
                            "zstandard library is a dependency); fetch it and run zstd -d")
    return next((ext for ext in DECOMPRESSORS if lowered.endswith(ext)), None)


# What the decompressors raise for bad data: gzip's "Not a gzipped file" and bz2's "Invalid
# data stream" are OSErrors, a truncated stream an EOFError, damaged deflate data a zlib.error.
DAMAGE = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


def damaged(source: str | None, name: str, codec: str, exc: BaseException) -> DamagedFile:
    """One line naming the file (``source``: a record whose verified bytes these are)."""
    why = (" (its stored bytes match the record's hash: the file was damaged before it was "
           "pushed; fetch, or cat --raw, gives the bytes as they are)") if source else ""
    return DamagedFile(f"{source or name}: cannot decompress ({codec}): {exc}{why}")


def decompress(data: bytes, name: str, source: str | None = None) -> bytes:
    """The content of a file called ``name`` (its bytes unchanged unless compressed).
    ``source`` names the record in the DamagedFile raised for bad compressed data."""
    codec = codec_of(name)
    if codec is None:
        return data
    try:
        return DECOMPRESSORS[codec](data)
    except DAMAGE as exc:
        raise damaged(source, name, codec, exc) from exc


def open_decompressed(raw: BinaryIO, name: str, source: str | None = None) -> BinaryIO:
    """A stream of the content of ``raw``, a stream of a file called ``name``; closing it
    closes ``raw``.  Bad compressed data raises DamagedFile naming ``source``."""
    codec = codec_of(name)
    return raw if codec is None else io.BufferedReader(_Decompressed(raw, name, codec, source))


class _Tracked:
    """The compressed stream, remembering what it raised: an error of the store or the disk
    passes through as it is; only the decompressor's own errors mean damaged data."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            return self.raw.read(size)
        except BaseException as exc:
            self.error = exc
            raise


class _Decompressed(io.RawIOBase):
    """The decompressor's output, its errors turned into one DamagedFile."""

    def __init__(self, raw: BinaryIO, name: str, codec: str, source: str | None):
        super().__init__()
        self._raw, self._name, self._codec, self._source = raw, name, codec, source
        self._tracked = _Tracked(raw)
        self._inner = OPENERS[codec](self._tracked)  # type: ignore[arg-type]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self._inner.readinto(buffer)  # type: ignore[attr-defined]
        except DAMAGE as exc:
            if exc is self._tracked.error:
                raise
            # Read on to the end first: a verified stream checks the hash there, and bytes
            # spoilt in the store are its IntegrityError, not a file damaged before the push.
            while self._raw.read(1 << 20):
                pass
            raise damaged(self._source, self._name, self._codec, exc) from exc

    def close(self) -> None:
        if not self.closed:
            try:
                self._inner.close()
            finally:
                self._raw.close()
        super().close()
