"""Issue 20 item 10: does a large fetch over a slow shared link fail with read timeouts?

Pushes N files of M MiB to a moto server, then fetches them at the default settings
through a bandwidth limit, and reports the time, the outcome and, per ranged GET, how
long it waited for its first byte and its longest gap between two reads.  The limit is
either bench/latency_proxy (``--via proxy``) or the kernel's token bucket on loopback
(``--via tbf``: run it as root inside ``unshare -n``, where loopback is ours alone; TCP
then shares the link as on a real network).

    unshare -n python -m bench.slow_link --via tbf --rate 80mbit
    python -m bench.slow_link --via proxy --rate 80mbit
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import boto3

from datalake_nb import Lake
from datalake_nb.config import resolve
from datalake_nb.stores import s3 as s3_store

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP answer: it is up
                return
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class PartLog:
    """Per ranged GET: seconds from the request to its first byte, and its longest gap
    between two chunks (what a per-read timeout sees), by wrapping S3's _RangedDownload."""

    def __init__(self) -> None:
        self.parts: list[tuple[float, float]] = []
        self.waited: list[float] = []  # GETs that ended (or failed) without a byte: how long
        self.lock = threading.Lock()
        original = s3_store._RangedDownload._part

        log = self

        def _part(download, start, end):  # noqa: ANN001
            asked = time.monotonic()
            get = download._get
            marks: list[float] = []

            def timed_get(a, b):  # noqa: ANN001
                body = get(a, b)
                chunks = body.iter_chunks

                def iter_chunks(size):  # noqa: ANN001
                    for chunk in chunks(size):
                        marks.append(time.monotonic())
                        yield chunk
                body.iter_chunks = iter_chunks
                return body
            download._get = timed_get
            try:
                return original(download, start, end)
            finally:
                download._get = get
                with log.lock:
                    if marks:
                        gaps = [b - a for a, b in zip(marks, marks[1:])] or [0.0]
                        log.parts.append((marks[0] - asked, max(gaps)))
                    else:
                        log.waited.append(time.monotonic() - asked)

        s3_store._RangedDownload._part = _part


@dataclasses.dataclass
class Outcome:
    error: str | None          # None: every file fetched and verified
    seconds: float
    parts: list[tuple[float, float]]  # per ranged GET with bytes: (first chunk after, longest gap)
    waited: list[float]        # per ranged GET that got no byte: how long it waited
    read_timeout: str
    part_concurrency: int


def run(via: str, rate: str, files: int, mib: int, settings: dict[str, str]) -> Outcome:
    """Push ``files`` random files of ``mib`` MiB to a fresh moto server, then fetch them
    through the limit ``via`` (proxy, tbf or none) at ``rate`` with ``settings``."""
    os.environ.update(CREDENTIALS)
    if via == "tbf":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "link", "set", "lo", "mtu", "1500"], check=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = None
    shaped = False
    work = Path(tempfile.mkdtemp(prefix="datalake-slow-link-"))
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_for(endpoint)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="slow")
        base = {"DATALAKE_STORAGE_URL": "s3://slow/lake", "AWS_ENDPOINT_URL": endpoint,
                "DATALAKE_CACHE_DIR": str(work / "cache"), "DATALAKE_PROGRESS": "off"}
        pusher = Lake(config=resolve(base), progress=False)
        records = []
        for n in range(files):
            path = work / f"big{n}.log"
            with open(path, "wb") as out:
                for _ in range(mib):
                    out.write(os.urandom(1 << 20))
            records.append(pusher.push(path, what="big", where="h", data_version="0",
                                       start=1_420_070_400_000 + n * 3_600_000))
            path.unlink()
        shutil.rmtree(work / "cache", ignore_errors=True)
        fetch_endpoint = endpoint
        if via == "proxy":
            proxy = subprocess.Popen([sys.executable, "-m", "bench.latency_proxy", "--target",
                                      f"127.0.0.1:{port}", "--rtt", "0", "--bandwidth", rate],
                                     stdout=subprocess.PIPE, text=True,
                                     cwd=Path(__file__).resolve().parents[1])
            fetch_endpoint = re.search(r"http://\S+", proxy.stdout.readline())[0]
        elif via == "tbf":
            subprocess.run(["tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", rate,
                            "burst", "64kb", "latency", "100ms"], check=True)
            shaped = True
        lake = Lake(config=resolve({**base, "AWS_ENDPOINT_URL": fetch_endpoint, **settings}),
                    progress=False)
        log = PartLog()
        began = time.monotonic()
        error = None
        try:
            lake.fetch(records, dest=work / "out")
        except Exception as exc:  # noqa: BLE001 - the outcome is what we report
            error = " ".join(str(exc).split())[:300]
        took = time.monotonic() - began
        time.sleep(1)  # parts given up on end their reads now
        return Outcome(error, took, list(log.parts), list(log.waited),
                       lake.config.value("DATALAKE_S3_READ_TIMEOUT"), lake.store.part_concurrency)
    finally:
        if shaped:
            subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], check=False)
        for proc in (proxy, server):
            if proc is not None:
                proc.terminate()
                proc.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slow_link", description=__doc__.splitlines()[0])
    parser.add_argument("--via", choices=("proxy", "tbf", "none"), default="proxy")
    parser.add_argument("--rate", default="80mbit")
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mib", type=int, default=48)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a datalake setting for the fetch, e.g. DATALAKE_PART_CONCURRENCY=1")
    args = parser.parse_args(argv)
    settings = dict(item.split("=", 1) for item in args.set)
    got = run(args.via, args.rate, args.files, args.mib, settings)
    total = args.files * args.mib
    outcome = "ok" if got.error is None else f"FAILED: {got.error[:200]}"
    print(f"via {args.via} at {args.rate}: {args.files} x {args.mib} MiB, settings "
          f"{settings or 'default'} (read timeout {got.read_timeout}, part concurrency "
          f"{got.part_concurrency}): {outcome} in {got.seconds:.1f} s"
          + (f" ({total / got.seconds:.1f} MiB/s)" if got.error is None else ""))
    if got.waited:
        print(f"  {len(got.waited)} ranged GETs got no byte; they waited up to "
              f"{max(got.waited):.1f} s")
    if got.parts:
        firsts = sorted(first for first, _ in got.parts)
        gaps = sorted(gap for _, gap in got.parts)
        print(f"  {len(got.parts)} ranged GETs got bytes: first 1 MiB chunk after median "
              f"{firsts[len(firsts) // 2]:.2f} s, max {firsts[-1]:.2f} s; longest gap between "
              f"1 MiB chunks median {gaps[len(gaps) // 2]:.2f} s, max {gaps[-1]:.2f} s")
    return 0 if got.error is None else 1


if __name__ == "__main__":
    sys.exit(main())
