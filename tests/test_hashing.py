"""datalake_nb.hashing: the lake's blake2b (content_hash), and hash_file over a file whatever
its size relative to the read buffer (it reads ahead in a helper thread once a buffer comes
back full)."""
from __future__ import annotations

import hashlib
import os
import re

import pytest

from datalake_nb.hashing import CHUNK, content_hash, hash_file


@pytest.mark.parametrize("size", [0, 1, 4096, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17])
def test_hash_file_matches_hashlib(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "f.log"
    path.write_bytes(data)
    assert hash_file(path) == (hashlib.blake2b(data, digest_size=16).hexdigest(), size)


def test_hash_file_of_a_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "nope.log")


@pytest.mark.parametrize("data", [b"", b"a", b"hello world\n", bytes(range(256)) * 1000])
def test_content_hash_is_blake2b_16(data):
    digest = content_hash()
    digest.update(data)
    expected = hashlib.blake2b(data, digest_size=16).hexdigest()
    assert digest.hexdigest() == expected
    assert len(digest.digest()) == 16
    assert re.fullmatch(r"[0-9a-f]{32}", digest.hexdigest())


def test_content_hash_in_chunks_and_fresh_each_time():
    data = b"x" * 100_000 + b"y" * 12_345
    digest = content_hash()
    for i in range(0, len(data), 4096):
        digest.update(data[i:i + 4096])
    assert digest.hexdigest() == hashlib.blake2b(data, digest_size=16).hexdigest()
    assert content_hash().hexdigest() == hashlib.blake2b(b"", digest_size=16).hexdigest()
    assert content_hash().hexdigest() != hashlib.blake2b(b"", digest_size=32).hexdigest()[:32]
