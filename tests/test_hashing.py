"""cache.hash_file: the lake's blake2b over a file, whatever its size relative to the
read buffer (it reads ahead in a helper thread once a buffer comes back full)."""
from __future__ import annotations

import hashlib
import os

import pytest

from datalake_nb.cache import CHUNK, hash_file


@pytest.mark.parametrize("size", [0, 1, 4096, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17])
def test_hash_file_matches_hashlib(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "f.log"
    path.write_bytes(data)
    assert hash_file(path) == (hashlib.blake2b(data, digest_size=16).hexdigest(), size)


def test_hash_file_of_a_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "nope.log")
