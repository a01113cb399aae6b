"""What every case needs: an S3 server of its own, the baseline tools, timing, counting."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from tests.support import s3servers

TOOLS_VENV = Path(os.environ.get("DATALAKE_BENCH_TOOLS", "/tmp/datalake-bench-tools"))
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret-0123456789",
               "AWS_DEFAULT_REGION": "us-east-1"}


class _Launched:
    """A server from the tests' launchers (tests/support/s3servers.py, the one place that
    knows how to start moto and SeaweedFS), started now and stopped by ``stop()``."""

    def __init__(self, launcher: Any) -> None:
        self._launcher = launcher
        self.url = launcher.__enter__().url

    def stop(self) -> None:
        self._launcher.__exit__(None, None, None)


def MotoServer() -> _Launched:
    """moto's S3 server as a separate process on a free port of 127.0.0.1."""
    return _Launched(s3servers.moto())


def SeaweedFS() -> _Launched:
    """SeaweedFS (`weed mini`) on free ports of 127.0.0.1, with the bench's credentials."""
    return _Launched(s3servers.seaweedfs(CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                         CREDENTIALS["AWS_SECRET_ACCESS_KEY"]))


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
