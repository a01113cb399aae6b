"""A hung S3 endpoint (it accepts connections and never answers) gives a one-line error
that names the endpoint within a bounded time, through the API and the CLI; a timed-out
request is tried twice, not boto3's 8 times; and a slow transfer goes on as long as
bytes flow (the read timeout bounds each socket read, not the whole transfer)."""
from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
import traceback


import boto3
import botocore.exceptions
import obstore.exceptions
import pytest

from datalake_nb import DatalakeError, Lake
from datalake_nb.config import resolve
from datalake_nb.engine.hashing import VerifiedFile
from datalake_nb.stores.s3 import TIMEOUT_ATTEMPTS

from support.helpers import until
from support.wire import SilentServer

BOUND = 30  # seconds: a bound on a hang, not a benchmark (the default setting gives ~11 s)


def assert_names_the_endpoint(message: str, server: SilentServer) -> None:
    assert "\n" not in message.strip()
    assert server.url in message and "did not answer in time" in message
    assert "list-type" not in message and "prefix=" not in message and "nobucket" not in message


@pytest.mark.slow  # the default timeouts: about 11 s
@pytest.mark.parametrize("plane", ["auto", "boto3"])
def test_list_on_a_silent_endpoint_fails_in_bounded_time(silent, tmp_path, monkeypatch, plane):
    monkeypatch.setenv("DATALAKE_S3_DATA_PLANE", plane)
    lake = Lake("s3://nobucket/x", cache_dir=tmp_path / "cache", progress=False)
    started = time.monotonic()
    with pytest.raises(DatalakeError) as info:
        lake.list(what="nginx")
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"{elapsed:.1f} s"
    assert_names_the_endpoint(str(info.value), silent)
    # one line; the client's exception is kept as the cause, for debugging (issue 9)
    cause = obstore.exceptions.BaseError if plane == "auto" else botocore.exceptions.ReadTimeoutError
    assert isinstance(info.value.__cause__, cause)


@pytest.mark.slow  # the default timeouts: about 11 s
def test_cli_on_a_silent_endpoint_exits_1_with_one_line(silent, tmp_path):
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "datalake_nb", "list", "--what", "nginx",
                           "--storage-url", "s3://nobucket/x"], capture_output=True, text=True,
                          env=dict(os.environ, DATALAKE_PROGRESS="off"), timeout=BOUND + 30)
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"{elapsed:.1f} s"
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("datalake: list: ") and "Traceback" not in proc.stderr
    assert_names_the_endpoint(proc.stderr, silent)


@pytest.mark.slow
@pytest.mark.parametrize("plane", ["boto3", "auto"])
def test_a_silent_endpoints_password_is_never_shown(silent, plane, tmp_path):
    """The endpoint named in the timeout's line is http://***@host:port, and the
    password is not in the error, its causes (a notebook's traceback) or the CLI's output."""
    secret = "N0tShown-Pa55word"
    endpoint = silent.url.replace("://", f"://minio:{secret}@")
    shown = silent.url.replace("://", "://***@")
    settings = {"DATALAKE_STORAGE_URL": "s3://nobucket/x", "AWS_ENDPOINT_URL": endpoint,
                "DATALAKE_S3_DATA_PLANE": plane, "DATALAKE_S3_READ_TIMEOUT": "0.5s",
                "DATALAKE_S3_CONNECT_TIMEOUT": "0.5s", "DATALAKE_CACHE_DIR": str(tmp_path / "c")}
    lake = Lake(config=resolve(settings))
    assert (lake.store.fast_plane is not None) == (plane == "auto")
    with pytest.raises(DatalakeError, match="did not answer in time") as info:
        lake.store.put_bytes("data/a", b"x")  # the data plane's PUT
    assert str(info.value).startswith(f"put: the S3 endpoint {shown} did not answer in time")
    assert secret not in "".join(traceback.format_exception(info.value))
    proc = subprocess.run([sys.executable, "-m", "datalake_nb", "list", "--what", "nginx"],
                          capture_output=True, text=True, timeout=BOUND + 30,
                          env=dict(os.environ, **settings, DATALAKE_PROGRESS="off"))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith(f"datalake: list: the S3 endpoint {shown} did not answer")
    assert secret not in proc.stderr


def test_a_timed_out_request_is_tried_twice_not_eight_times(silent, tmp_path):
    lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": "s3://nobucket/x",
                                "DATALAKE_S3_READ_TIMEOUT": "0.5",
                                "DATALAKE_S3_CONNECT_TIMEOUT": "2s"}))
    assert lake.store.client.meta.config.read_timeout == 0.5
    assert lake.store.client.meta.config.connect_timeout == 2.0
    assert lake.store.client.meta.config.retries["total_max_attempts"] == 9  # for other errors
    with pytest.raises(DatalakeError, match="did not answer in time"):
        lake.store.list_dirs("data/")
    # the accept thread records each connection a little after the client made it
    assert until(lambda: len(silent.accepted) >= TIMEOUT_ATTEMPTS)
    assert len(silent.accepted) == TIMEOUT_ATTEMPTS == 2


def test_timeout_settings_come_from_the_environment_and_default_to_seconds(silent, monkeypatch):
    assert Lake("s3://nobucket/x").store.client.meta.config.read_timeout == 5.0
    monkeypatch.setenv("DATALAKE_S3_READ_TIMEOUT", "1m")
    monkeypatch.setenv("DATALAKE_S3_CONNECT_TIMEOUT", "1.5")
    config = Lake("s3://nobucket/x").store.client.meta.config
    assert (config.read_timeout, config.connect_timeout) == (60.0, 1.5)


def test_an_endpoint_that_refuses_fails_in_bounded_time(refused, tmp_path):
    """Nothing listens on the port: 2 tries, not 9 with up to 20 s of backoff between."""
    url = refused
    started = time.monotonic()
    with pytest.raises(DatalakeError) as info:
        Lake("s3://nobucket/x", cache_dir=tmp_path / "cache").list(what="nginx")
    assert time.monotonic() - started < BOUND
    assert str(info.value) == f"list: cannot reach the S3 endpoint {url} (2 tries); check AWS_ENDPOINT_URL"


class Trickle(http.server.BaseHTTPRequestHandler):
    """Answers any GET with CHUNKS pieces of bytes, one every PAUSE seconds: a slow
    download whose bytes keep flowing."""
    CHUNKS, PAUSE, PIECE = 6, 0.4, b"x" * 1000
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(self.CHUNKS * len(self.PIECE)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        for _ in range(self.CHUNKS):
            time.sleep(self.PAUSE)
            self.wfile.write(self.PIECE)
            self.wfile.flush()

    def log_message(self, *args) -> None:
        pass


@pytest.mark.slow
def test_a_slow_transfer_goes_on_while_bytes_flow(monkeypatch, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": "s3://slowbucket/x",
                                    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}",
                                    "AWS_DEFAULT_REGION": "us-east-1",
                                    "DATALAKE_S3_READ_TIMEOUT": "1"}))
        total = Trickle.CHUNKS * len(Trickle.PIECE)
        started = time.monotonic()
        with lake.store.open("data/slow.log") as stream:
            assert stream.read() == Trickle.PIECE * Trickle.CHUNKS
        with VerifiedFile(tmp_path / "slow.log") as sink:
            lake.store.get_file("data/slow.log", sink, size=total)
        assert (tmp_path / "slow.log").read_bytes() == Trickle.PIECE * Trickle.CHUNKS
        # each took about 2.4 s, more than the 1 s read timeout: the timeout is per read
        assert time.monotonic() - started > 2 * Trickle.CHUNKS * Trickle.PAUSE * 0.9
    finally:
        server.shutdown()
        server.server_close()
