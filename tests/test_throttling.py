"""Both data planes ride out the same throttling (issue 16): S3 answers 503 SlowDown to
every PUT for some seconds, then lets them through, and a `datalake push` through boto3
and one through obstore (the fast plane, files under 16 MiB) both succeed.  obstore's
default backoff (100 ms, then about twice as long) spent its retries within 2 s.
Checked with the CLI on moto, through the wire proxy that answers for S3."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from datalake_nb import Lake
from datalake_nb.stores import s3_fast as fast

from support.wire import wire_proxy

WINDOW = 4.0  # seconds of SlowDown, as in the issue


class PutWindow:
    """A wire proxy's ``pick``: every PUT answered with 503 SlowDown for ``seconds`` from
    the first PUT on, then none."""

    def __init__(self, wire, seconds: float):
        self.wire, self.seconds = wire, seconds
        self.started: float | None = None
        self.lock = threading.Lock()

    def __call__(self, n: int) -> bool:
        if self.wire.sent[n - 1].method != "PUT":  # called under the proxy's lock
            return False
        with self.lock:
            now = time.monotonic()
            if self.started is None:
                self.started = now
            return now - self.started < self.seconds


def push_cli(env: dict[str, str], path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "datalake_nb", "push", str(path), "--what", "nginx",
                           "--where", "web01", "--start", "2015-03-20", "--data-version", "0"],
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.skipif(not fast.available(), reason="obstore is not installed")
@pytest.mark.parametrize("plane", ["auto", "boto3"])
def test_a_push_on_either_data_plane_rides_out_seconds_of_throttling(s3_server, bucket, tmp_path,
                                                                     plane):
    path = tmp_path / "a.log"
    path.write_text("line\n")
    url = f"s3://{bucket}/lake"
    with wire_proxy(s3_server.url) as wire:
        wire.pick = PutWindow(wire, WINDOW)
        env = {**os.environ, "AWS_ENDPOINT_URL": wire.url, "DATALAKE_STORAGE_URL": url,
               "DATALAKE_S3_DATA_PLANE": plane, "DATALAKE_PROGRESS": "off",
               "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}
        proc = push_cli(env, path)
    assert proc.returncode == 0, proc.stderr
    assert len(Lake(url, progress=False).list(where="web01")) == 1
    puts = wire.requests("PUT")
    # refused more than once, and every PUT in the window was: the push waited it out
    assert wire.throttled >= 2
    # who sent them: obstore (the fast plane) for "auto", botocore for "boto3"
    agents = {"boto3" if s.headers.get("user-agent", "").startswith(("Boto3/", "Botocore/"))
              else "other" for s in puts}
    assert agents == ({"other"} if plane == "auto" else {"boto3"}), agents


def test_the_fast_plane_still_gives_up_on_an_absent_endpoint_at_once(tmp_path, monkeypatch):
    """Its retries wait longer now, but a refused connection is tried twice, as on boto3
    (S3Store's TIMEOUT_ATTEMPTS), not for the minute a throttled request may take."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "a.log"
    path.write_text("line\n")
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
           "DATALAKE_STORAGE_URL": "s3://nobucket/lake", "DATALAKE_PROGRESS": "off",
           "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}
    started = time.monotonic()
    proc = push_cli(env, path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "cannot reach the S3 endpoint" in proc.stderr, proc.stderr
    assert time.monotonic() - started < 30  # a bound on a hang, not a benchmark
