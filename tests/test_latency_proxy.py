"""bench/latency_proxy.py adds the delay it claims and passes bytes unchanged: a real
proxy process between this test and a real echo server on 127.0.0.1.  Each delay is at
least the configured one (a sleep is never shorter); the upper bounds only catch a hang, since
the machine is shared (how close to the configured delay the proxy stays is the bench's to
measure, where the same proxy's round trips show in every figure)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RTT = 0.1
HANG = 30.0  # seconds: a bound on a hang, not on the delay


@pytest.fixture
def echo_server():
    """A threaded echo server; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1 << 16):
                conn.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def start_proxy(port: int, *extra: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.latency_proxy", "--target",
                             f"127.0.0.1:{port}", *extra], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()  # "listening on http://127.0.0.1:PORT"
    assert line.startswith("listening on "), line
    return proc, int(line.rsplit(":", 1)[1])


@pytest.fixture
def proxy(echo_server):
    proc, port = start_proxy(echo_server, "--rtt", f"{RTT * 1000:.0f}ms")
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def round_trip(sock: socket.socket, data: bytes) -> tuple[bytes, float]:
    start = time.perf_counter()
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(1 << 16)
        assert chunk, "the proxy closed the connection early"
        got += chunk
    return got, time.perf_counter() - start


def test_each_request_pays_the_round_trip_and_a_new_connection_one_more(proxy):
    with socket.create_connection(("127.0.0.1", proxy), timeout=30) as sock:
        _, first = round_trip(sock, b"ping")  # handshake + request
        _, second = round_trip(sock, b"ping again")
        _, third = round_trip(sock, b"and again")
    assert 2 * RTT <= first < HANG
    for later in (second, third):
        assert RTT <= later < HANG


def test_bytes_pass_unchanged_both_ways(proxy):
    data = os.urandom(3 << 20)
    with socket.create_connection(("127.0.0.1", proxy), timeout=30) as sock:
        got, _ = round_trip(sock, data)
        # The server's end of the stream reaches us too (half-close passed on).
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""
    assert got == data


def test_bandwidth_paces_the_link(echo_server):
    proc, port = start_proxy(echo_server, "--rtt", "0", "--bandwidth", "8mbit")  # 1 MB/s
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            got, seconds = round_trip(sock, os.urandom(300_000))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert len(got) == 300_000
    assert 0.3 <= seconds < HANG  # 0.3 s each way, overlapped as a stream


@pytest.fixture
def blast_server():
    """A server that sends ANSWER bytes as soon as a connection opens (as S3 answers a
    GET: the whole body at once, as fast as the socket takes it), then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))

    def blast(conn: socket.socket) -> None:
        with conn:
            try:
                conn.sendall(os.urandom(ANSWER))
            except OSError:
                pass

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=blast, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


ANSWER = 3_000_000


@pytest.mark.slow
def test_connections_share_a_limited_link_in_turns(blast_server):
    """Two answers of 3 MB through a 1 MB/s link, the second asked for while the first
    flows: its first byte comes before the first answer ends (the link is shared, as TCP
    shares one), not after all of it (a connection waiting seconds behind another is what
    a client's read timeout takes for a dead server)."""
    proc, port = start_proxy(blast_server, "--rtt", "0", "--bandwidth", "8mbit")
    marks: dict[str, list[float]] = {"a": [], "b": []}

    def receive(name: str, started: threading.Event | None) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=HANG) as sock:
            got = 0
            while chunk := sock.recv(1 << 16):
                got += len(chunk)
                marks[name].append(time.monotonic())
                if started is not None and got >= 200_000:
                    started.set()  # the first answer is flowing: ask for the second
        assert got == ANSWER

    try:
        flowing = threading.Event()
        first = threading.Thread(target=receive, args=("a", flowing))
        first.start()
        assert flowing.wait(HANG)
        second = threading.Thread(target=receive, args=("b", None))
        second.start()
        for thread in (first, second):
            thread.join(HANG)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert len(marks["a"]) and len(marks["b"])
    assert marks["b"][0] < marks["a"][-1], "the second answer waited for the whole first one"
    during = [t for t in marks["a"] if marks["b"][0] <= t <= marks["b"][-1]]
    assert during, "the first answer got no bytes while the second flowed: no sharing"


def test_bad_arguments_are_one_line_errors():
    done = subprocess.run([sys.executable, "-m", "bench.latency_proxy", "--target", "127.0.0.1:1",
                           "--rtt", "soon"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "'soon' is not a duration" in done.stderr and "Traceback" not in done.stderr
