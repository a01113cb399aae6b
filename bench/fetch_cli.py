"""Client time and CPU of one ``datalake fetch`` CLI process of many small files from
SeaweedFS, for two or more copies of the code side by side (say, before and after a change):
runs alternate between the copies and the medians are reported, so a machine shared with
other work disturbs each copy alike.

    git archive HEAD~1 | tar -x -C /tmp/before      # a copy of the code to compare with
    python -m bench.fetch_cli --files 2000 --runs 5 --code before=/tmp/before --code after=.

``--store local`` fetches from a lake in a local folder instead: no S3 client, so what is
left is our own per-file work (listing, cache, verification, placing) and start-up.  Each run starts with an empty cache and destination (every file is downloaded, verified
and placed) and fetches by query (``--what bench``).  CPU is user + system of the process
(``/usr/bin/time``), which includes start-up.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from .support import CREDENTIALS, SeaweedFS, code_copies, code_parser, compare_codes


def seed(endpoint: dict[str, str], url: str, files: int, work: Path) -> None:
    """Push ``files`` files of 4 KiB once (with this checkout's code)."""
    from datalake_nb import Lake
    from datalake_nb.config import resolve
    paths = []
    for i in range(files):
        paths.append(work / "in" / f"app-{i:05d}.log")
        paths[-1].parent.mkdir(exist_ok=True)
        paths[-1].write_bytes(os.urandom(4096))
    config = resolve({"DATALAKE_STORAGE_URL": url, **endpoint,
                      "DATALAKE_CACHE_DIR": str(work / "seed-cache"),
                      "DATALAKE_CONCURRENCY": "32"})
    Lake(config=config).push_many(paths, what="bench", where="small",
                                  start=1_420_070_400_000, data_version="0")


def fetch_once(code: Path, env: dict[str, str], work: Path, files: int) -> dict[str, float]:
    cache, dest = work / "cache", work / "out"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(dest, ignore_errors=True)
    times = work / "time.txt"
    run_env = {**env, "PYTHONPATH": str(code), "DATALAKE_CACHE_DIR": str(cache)}
    proc = subprocess.run(["/usr/bin/time", "-o", str(times), "-f", "%e %U %S", sys.executable,
                           "-m", "datalake_nb", "fetch", "--what", "bench", "--dest", str(dest)],
                          env=run_env, capture_output=True, text=True,
                          cwd=work)  # not a checkout: `-m` puts the folder it runs in first
    if proc.returncode != 0:
        raise SystemExit(f"fetch with {code} failed: {proc.stderr.strip()}")
    printed = proc.stdout.split()
    if len(printed) != files or not all(Path(p).stat().st_size == 4096 for p in printed[:50]):
        raise SystemExit(f"fetch with {code} printed {len(printed)} paths, not {files}")
    wall, user, system = (float(x) for x in times.read_text().split()[-3:])
    return {"wall": wall, "cpu": user + system}


def main(argv: list[str] | None = None) -> int:
    parser = code_parser("python -m bench.fetch_cli", __doc__, 2000, 8)
    parser.add_argument("--store", choices=["seaweedfs", "local"], default="seaweedfs")
    args = parser.parse_args(argv)
    codes = code_copies(args.code)
    os.environ.update(CREDENTIALS)
    server = SeaweedFS() if args.store == "seaweedfs" else None
    try:
        if server:
            boto3.client("s3", endpoint_url=server.url).create_bucket(Bucket="fetch-cli")
        with tempfile.TemporaryDirectory(prefix="datalake-fetch-cli-") as tmp:
            work = Path(tmp)
            url = f"s3://fetch-cli/lake-{time.time_ns()}" if server else str(work / "lake")
            endpoint = {"AWS_ENDPOINT_URL": server.url} if server else {}
            seed(endpoint, url, args.files, work)
            env = {**os.environ, "DATALAKE_STORAGE_URL": url, **endpoint,
                   "DATALAKE_CONCURRENCY": str(args.concurrency)}
            compare_codes(codes, args.runs, lambda code: fetch_once(code, env, work, args.files),
                          args.files, f"`datalake fetch` of {args.files} x 4 KiB from "
                          f"{args.store}, concurrency {args.concurrency}")
    finally:
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
