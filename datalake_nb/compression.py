"""Compressed files read transparently, chosen by the file's extension.

One helper for everyone who reads content (``Lake.read``, ``grep``, ``to_dask``,
``Lake.open(decompress=True)``): ``.gz`` (logrotate's output), ``.bz2`` and ``.xz``,
all from the standard library.  ``.zst`` is not supported: no zstandard library is a
dependency of the package.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
from typing import BinaryIO, Callable

from .core.errors import DatalakeError

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


def decompress(data: bytes, name: str) -> bytes:
    """The content of a file called ``name`` (its bytes unchanged unless compressed)."""
    codec = codec_of(name)
    if codec is None:
        return data
    try:
        return DECOMPRESSORS[codec](data)
    except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise DatalakeError(f"{name}: cannot decompress ({codec}): {exc}") from None


def open_decompressed(raw: BinaryIO, name: str) -> BinaryIO:
    """A stream of the content of ``raw``, a stream of a file called ``name``."""
    codec = codec_of(name)
    return raw if codec is None else OPENERS[codec](raw)
