"""One large push against boto3's ``upload_file`` at its own defaults (8 MiB parts, 10
threads), as issue 23 measured it: medians of alternating runs on one server, with the
bare hash of the same bytes for scale.

    python -m bench.push_large --server moto --size-mib 96 --runs 7
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

import boto3

from datalake_nb import Lake

from .support import CREDENTIALS, MotoServer, SeaweedFS, medians, timed

SERVERS = {"moto": MotoServer, "seaweedfs": SeaweedFS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.push_large",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=SERVERS, default="moto")
    parser.add_argument("--size-mib", type=int, default=96)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    os.environ.update(CREDENTIALS)
    server = SERVERS[args.server]()
    try:
        os.environ["AWS_ENDPOINT_URL"] = server.url
        client = boto3.client("s3")
        client.create_bucket(Bucket="push-large")
        with tempfile.TemporaryDirectory(prefix="datalake-push-large-") as tmp:
            path = Path(tmp) / "large.log"
            with open(path, "wb") as out:
                for _ in range(args.size_mib):
                    out.write(os.urandom(1 << 20))
            lakes: list[Lake] = []
            runs = [0]

            def fresh() -> None:  # a lake of its own per push: a re-push uploads nothing
                runs[0] += 1
                lakes.append(Lake(f"s3://push-large/lake-{runs[0]}", cache_dir=Path(tmp) / "c",
                                  progress=False))
                lakes[-1].store.client  # made on first use; boto3's is made before the runs too

            def ours() -> None:
                lakes[-1].push(path, what="bench", where="large", start=1_420_070_400_000,
                               data_version="0")

            def boto3_upload() -> None:
                client.upload_file(str(path), "push-large", f"boto3/{runs[0]}/large.log")

            result = medians({"ours": ours, "boto3 upload_file": boto3_upload}, args.runs,
                             before=fresh)
            data = path.read_bytes()
            bare = statistics.median(timed(lambda: hashlib.blake2b(data, digest_size=16).digest())
                                     for _ in range(3))
    finally:
        server.stop()
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    ratio = result["ours"] / result["boto3 upload_file"]
    print(f"push {args.size_mib} MiB on {args.server}, medians of {args.runs} alternating runs; "
          f"load {load}")
    print(f"ours {result['ours']:.3f} s, boto3 upload_file {result['boto3 upload_file']:.3f} s: "
          f"{ratio:.2f}x (goal <= 1.2, hash included); bare blake2b of the bytes {bare:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
