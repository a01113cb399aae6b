"""Client CPU per small file of ``Lake.push`` and ``Lake.fetch`` (in one process, through
the API) with the small PUTs and GETs sent by boto3 (``DATALAKE_S3_DATA_PLANE=boto3``)
or by obstore (``auto``, the default; stores/s3_fast.py).  Listing and everything else are
boto3's in both.

    python -m bench.data_plane [--files 2000] [--concurrency 8] [--endpoint URL]

Without ``--endpoint`` it starts SeaweedFS itself.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import boto3

from datalake_nb import Lake
from datalake_nb.config import resolve

from .support import CREDENTIALS, SeaweedFS


PLANES = {"boto3": "boto3", "obstore": "auto"}  # row name -> DATALAKE_S3_DATA_PLANE


def measure(lake: Lake, paths: list[Path], work: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    cpu, wall = time.process_time(), time.perf_counter()
    records = lake.push_many(paths, what="bench", where="small", start=1_420_070_400_000,
                        data_version="0")
    out["push cpu"], out["push wall"] = time.process_time() - cpu, time.perf_counter() - wall
    shutil.rmtree(lake.cache.root, ignore_errors=True)
    cpu, wall = time.process_time(), time.perf_counter()
    fetched = lake.fetch(records, dest=work / "out")
    out["fetch cpu"], out["fetch wall"] = time.process_time() - cpu, time.perf_counter() - wall
    assert [p.read_bytes() for p in fetched[:5]] == [p.read_bytes() for p in paths[:5]]
    shutil.rmtree(work / "out")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.data_plane",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--endpoint", help="an S3 endpoint with the bench's credentials")
    args = parser.parse_args(argv)
    os.environ.update(CREDENTIALS)
    server = None if args.endpoint else SeaweedFS()
    endpoint = args.endpoint or server.url
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="data-plane")
    except Exception:  # noqa: BLE001 - it exists from an earlier run
        pass
    try:
        with tempfile.TemporaryDirectory(prefix="datalake-plane-") as tmp:
            work = Path(tmp)
            paths = []
            for i in range(args.files):
                paths.append(work / "in" / f"app-{i:05d}.log")
                paths[-1].parent.mkdir(exist_ok=True)
                paths[-1].write_bytes(os.urandom(4096))

            def lake(kind: str, run: int) -> Lake:
                url = f"s3://data-plane/{kind}-{run}-{time.time_ns()}"
                config = resolve({"DATALAKE_STORAGE_URL": url, "AWS_ENDPOINT_URL": endpoint,
                                  "DATALAKE_CACHE_DIR": str(work / "cache"),
                                  "DATALAKE_CONCURRENCY": str(args.concurrency),
                                  "DATALAKE_S3_DATA_PLANE": PLANES[kind]})
                return Lake(config=config, progress=False)

            kinds = list(PLANES)
            results: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
            for run in range(args.repeat):
                for kind in kinds[run % len(kinds):] + kinds[:run % len(kinds)]:
                    results[kind].append(measure(lake(kind, run), paths, work))
            n = args.files
            print(f"{n} files of 4 KiB, concurrency {args.concurrency}, medians of {args.repeat}; "
                  f"load {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
            print("| data plane | push CPU/file | push files/s | fetch CPU/file | fetch files/s |")
            print("|---|---:|---:|---:|---:|")
            for kind, runs in results.items():
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                print(f"| {kind} | {med['push cpu'] / n * 1000:.2f} ms | {n / med['push wall']:.0f} "
                      f"| {med['fetch cpu'] / n * 1000:.2f} ms | {n / med['fetch wall']:.0f} |")
    finally:
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
