"""Compressed files damaged before they are pushed (their hash in the lake is right, their
content does not decompress): the cases read, grep, cat and to_dask must each turn into
one DamagedFile line."""
from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from pathlib import Path

SAMPLES = Path(__file__).parent.parent.parent / "samples" / "logs"
PLAIN = SAMPLES / "web01_nginx_2026-11-01T09.log"
DAMAGED = [  # extension, compressor, damage, what the decompressor raises while streaming
    (".log.gz", gzip.compress, "truncated", EOFError),
    (".log.gz", gzip.compress, "altered", zlib.error),  # bad deflate data
    (".log.bz2", bz2.compress, "truncated", EOFError),
    (".log.bz2", bz2.compress, "altered", OSError),  # "Invalid data stream"
    (".log.xz", lzma.compress, "truncated", EOFError),
    (".log.xz", lzma.compress, "altered", lzma.LZMAError),
]


def damaged_file(folder: Path, ext: str, compress, damage: str) -> Path:
    """A compressed copy of PLAIN, cut in half or with a byte of its compressed data altered
    before it is pushed (so the lake's hash of it is right)."""
    data = bytearray(compress(PLAIN.read_bytes()))
    if damage == "truncated":
        del data[len(data) // 2:]
    else:
        data[30] ^= 0xFF
    path = folder / f"damaged{ext}"
    path.write_bytes(data)
    return path
