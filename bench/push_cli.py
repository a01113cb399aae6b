"""Client time, CPU and peak memory of one ``datalake push`` CLI process of many files to
SeaweedFS, for two or more copies of the code side by side (say, before and after a change):
runs alternate between the copies and the medians are reported, so a machine shared with
other work disturbs each copy alike.

    git archive HEAD~1 | tar -x -C /tmp/before      # a copy of the code to compare with
    python -m bench.push_cli --files 1000 --runs 3 --code before=/tmp/before --code after=.
    python -m bench.push_cli --rtt 20ms ...          # behind bench/latency_proxy.py
    python -m bench.push_cli --files 96 --size-kib 20480 --runs 1 --code after=.  # memory

Each run pushes into a fresh prefix (a re-push would upload nothing).  CPU is user + system
of the process and peak RSS its largest resident set (both from ``/usr/bin/time``), start-up
included; the README bounds a push's file bytes in memory by DATALAKE_PART_CONCURRENCY x
16 MiB (128 MiB by default), which the peak RSS of large files shows.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from .support import CREDENTIALS, SeaweedFS, code_copies, code_parser, compare_codes


def push_once(code: Path, env: dict[str, str], paths: list[str], work: Path) -> dict[str, float]:
    times = work / "time.txt"
    run_env = {**env, "PYTHONPATH": str(code),
               "DATALAKE_STORAGE_URL": f"s3://push-cli/lake-{time.time_ns()}"}
    proc = subprocess.run(["/usr/bin/time", "-o", str(times), "-f", "%e %U %S %M", sys.executable,
                           "-m", "datalake_nb", "push", *paths, "--what", "bench", "--where",
                           "small", "--start", "2015-01-01", "--data-version", "0"],
                          env=run_env, capture_output=True, text=True,
                          cwd=work)  # not a checkout: `-m` puts the folder it runs in first
    if proc.returncode != 0:
        raise SystemExit(f"push with {code} failed: {proc.stderr.strip()}")
    wall, user, system, rss_kib = (float(x) for x in times.read_text().split()[-4:])
    return {"wall": wall, "cpu": user + system, "rss_mib": rss_kib / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = code_parser("python -m bench.push_cli", __doc__, 1000, 32)
    parser.add_argument("--rtt", default="0", help="e.g. 20ms: a round trip added per request")
    parser.add_argument("--size-kib", type=int, default=4,
                        help="bytes per file, in KiB (20480: 20 MiB files, two multipart parts)")
    args = parser.parse_args(argv)
    codes = code_copies(args.code)
    os.environ.update(CREDENTIALS)
    server, proxy = SeaweedFS(), None
    try:
        boto3.client("s3", endpoint_url=server.url).create_bucket(Bucket="push-cli")
        endpoint = server.url
        if args.rtt not in ("0", "0ms"):
            proxy = subprocess.Popen([sys.executable, "-m", "bench.latency_proxy", "--target",
                                      server.url.split("//")[1], "--rtt", args.rtt],
                                     stdout=subprocess.PIPE, text=True,
                                     cwd=Path(__file__).parent.parent)
            endpoint = proxy.stdout.readline().split()[-1]  # "listening on http://..."
        with tempfile.TemporaryDirectory(prefix="datalake-push-cli-") as tmp:
            work = Path(tmp)
            (work / "in").mkdir()
            paths = []
            for i in range(args.files):
                paths.append(str(work / "in" / f"app-{i:05d}.log"))
                Path(paths[-1]).write_bytes(os.urandom(args.size_kib << 10))
            env = {**os.environ, "AWS_ENDPOINT_URL": endpoint,
                   "DATALAKE_CACHE_DIR": str(work / "cache"),
                   "DATALAKE_CONCURRENCY": str(args.concurrency)}
            compare_codes(codes, args.runs, lambda code: push_once(code, env, paths, work),
                          args.files, f"`datalake push` of {args.files} x {args.size_kib} KiB "
                          "to SeaweedFS, "
                          f"RTT {args.rtt}, concurrency {args.concurrency}")
    finally:
        if proxy:
            proxy.terminate()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
