"""datalake_nb.engine.hashing: the lake's blake2b (content_hash), hash_file over a file whatever
its size relative to the read buffer (it reads ahead in a helper thread once a buffer comes
back full), and VerifiedFile, which hashes a download's parts in order as they arrive."""
from __future__ import annotations

import concurrent.futures
import hashlib
import os
import random
import re
import threading

import pytest

from datalake_nb import DatalakeError
from datalake_nb.engine.hashing import CHUNK, SinkClosed, VerifiedFile, content_hash, hash_file

from support.helpers import until


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


# -- VerifiedFile: a download's parts written in any order, hashed in order -------------

def _pieces(data: bytes, size: int) -> list[tuple[int, bytes]]:
    return [(at, data[at:at + size]) for at in range(0, len(data), size)]


@pytest.mark.parametrize("size", [0, 1, 5000, 3 * CHUNK + 17])
def test_verified_file_hashes_pieces_written_out_of_order_from_threads(tmp_path, size):
    data = os.urandom(size)
    pieces = _pieces(data, 1000 if size < CHUNK else CHUNK // 3)
    random.Random(size).shuffle(pieces)
    path = tmp_path / "f.part"
    with VerifiedFile(path, ahead_limit=len(data) + 1) as sink:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda piece: sink.write_at(*piece), pieces))
        assert sink.result() == (hashlib.blake2b(data, digest_size=16).hexdigest(), size)
        assert sink.waiting_bytes == 0
    assert path.read_bytes() == data


def test_verified_file_holds_at_most_its_limit_ahead_and_the_gap_writer_never_waits(tmp_path):
    piece = 1000
    data = os.urandom(6 * piece)
    pieces = _pieces(data, piece)
    with VerifiedFile(tmp_path / "f.part", ahead_limit=2 * piece) as sink:
        ahead = [threading.Thread(target=sink.write_at, args=p) for p in pieces[1:]]
        for thread in ahead:
            thread.start()
        # every writer tries: two are held, three wait for room (and stay waiting)
        assert until(lambda: sink.waiting_bytes == 2 * piece
                     and sum(thread.is_alive() for thread in ahead) == 3)
        sink.write_at(*pieces[0])  # the bytes at the hash's position: never wait
        for thread in ahead:
            thread.join(30)
        assert not any(thread.is_alive() for thread in ahead), "a writer hung"
        assert sink.result() == (hashlib.blake2b(data, digest_size=16).hexdigest(), len(data))


def test_closing_a_verified_file_wakes_waiting_writers_and_refuses_later_ones(tmp_path):
    errors = []
    sink = VerifiedFile(tmp_path / "f.part", ahead_limit=10)
    sink.write_at(100, b"x" * 10)  # beyond a gap: held

    def late() -> None:
        try:
            sink.write_at(200, b"y" * 10)  # would exceed the limit: waits
        except SinkClosed as exc:
            errors.append(exc)
    waiting = threading.Thread(target=late)
    waiting.start()
    sink.close()
    waiting.join(30)
    assert not waiting.is_alive() and len(errors) == 1
    with pytest.raises(SinkClosed):
        sink.write_at(0, b"z")


def test_a_verified_file_refuses_bytes_written_twice_and_a_gap_at_its_end(tmp_path):
    with VerifiedFile(tmp_path / "f.part") as sink:
        sink.write_at(0, b"abc")
        with pytest.raises(ValueError, match="offset 0"):
            sink.write_at(0, b"abc")
        sink.write_at(10, b"later")
        with pytest.raises(DatalakeError, match="no bytes at offset 3"):
            sink.result()
