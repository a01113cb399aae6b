"""Case 3 of the bench alone, at the size issue 12 names: one large fetch, hash verified,
against s5cmd and boto3's CRT transfer manager, with nothing else running (the full bench
pushes the file with every contender first, which at 1 GiB takes long on 2 cores).

    python -m bench.fetch_large [--mib 1024] [--repeat 3] [--part-concurrency 8] [--part-mib N]
                                [--endpoint URL]

Without ``--endpoint`` it starts SeaweedFS itself.  The tools come from the bench's tool
folder (``python -m bench`` installs them); a missing one has no row.  Times are medians of
runs in turns (ours, before, s5cmd, CRT rotate); ours is ``Lake.fetch`` into an emptied
cache, so it includes hashing and placing the file; "before" is what it did until the
download was hashed as it arrived (boto3's download_file, then hash_file reading the file
again), in the same process and with the same settings.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import boto3
from boto3.s3.transfer import TransferConfig

from datalake_nb import Lake
from datalake_nb.engine.cache import temp_path
from datalake_nb.engine.hashing import hash_file
from datalake_nb.config import resolve
from datalake_nb.core import layout

from .support import CREDENTIALS, SeaweedFS, Tools, medians, run, timed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fetch_large",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the file (MiB)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--part-concurrency", type=int, default=8,
                        help="our ranged GETs in flight (DATALAKE_PART_CONCURRENCY)")
    parser.add_argument("--part-mib", type=int, help="our ranged GETs' part size (MiB; default "
                        "S3Store's)")
    parser.add_argument("--endpoint", help="an S3 endpoint with the bench's credentials")
    args = parser.parse_args(argv)
    os.environ.update(CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    server = None if args.endpoint else SeaweedFS()
    endpoint = args.endpoint or server.url
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    bucket = "fetch-large"
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    except Exception:  # noqa: BLE001 - it exists from an earlier run
        pass
    try:
        with tempfile.TemporaryDirectory(prefix="datalake-fetch-large-") as tmp:
            work = Path(tmp)
            source = work / "large.log"
            with open(source, "wb") as out:
                for _ in range(args.mib):
                    out.write(os.urandom(1 << 20))
            url = f"s3://{bucket}/run-{time.time_ns()}"

            def lake() -> Lake:
                shutil.rmtree(work / "cache", ignore_errors=True)
                made = Lake(config=resolve({"DATALAKE_STORAGE_URL": url, "AWS_ENDPOINT_URL": endpoint,
                                            "DATALAKE_CACHE_DIR": str(work / "cache"),
                                            "DATALAKE_PART_CONCURRENCY": str(args.part_concurrency)}),
                            progress=False)
                if args.part_mib:
                    made.store.download_part = args.part_mib << 20
                return made
            rec = lake().push(source, what="bench", where="large", start=1_420_070_400_000,
                              data_version="0")
            source.unlink()
            key = url.split("/", 3)[3] + "/" + layout.data_key(rec)
            dest = work / "out"
            tools = Tools(endpoint, work, install=False)
            lakes: list[Lake] = []

            def fresh() -> None:
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir()
                lakes.append(lake())

            def before() -> None:
                """What the fetch engine did before: boto3's download_file into a temporary
                file, then hash_file reading it again, then the same cache and placing."""
                target = lakes[-1].cache.path(rec.hash)
                with temp_path(target.parent) as tmp:
                    store = lakes[-1].store
                    store.client.download_file(bucket, key, str(tmp), Config=TransferConfig(
                        max_concurrency=store.part_concurrency))
                    assert hash_file(tmp)[0] == rec.hash
                    lakes[-1].cache.add(tmp, rec)
                lakes[-1].fetch([rec], dest=dest)

            contenders: dict[str, Callable[[], object]] = {
                "ours": lambda: lakes[-1].fetch([rec], dest=dest), "before": before}
            if tools.s5cmd:
                contenders["s5cmd"] = lambda: run(tools.s5cmd_cmd(
                    "cp", f"s3://{bucket}/{key}", str(dest / "large.log")))
            if tools.crt:
                contenders["crt"] = lambda: float(__import__("subprocess").run(
                    tools.crt_cmd("down", dest / "large.log", bucket, key), check=True,
                    capture_output=True, text=True).stdout)
            cpu: dict[str, float] = {}
            result = medians(contenders, args.repeat, before=fresh, cpu=cpu)
            fresh()
            lakes[-1].fetch([rec], dest=dest)
            hashing = timed(lambda: hash_file(lakes[-1].cache.path(rec.hash)))
            load = "/".join(f"{x:.1f}" for x in os.getloadavg())
            part = (args.part_mib << 20 if args.part_mib else lakes[-1].store.download_part) >> 20
            print(f"fetch {args.mib} MiB, verified; {args.part_concurrency} parts in flight, our parts "
                  f"{part} MiB; medians of "
                  f"{args.repeat} runs in turns; load after {load}")
            for name, seconds in result.items():
                ratio = f" ({result['ours'] / seconds:.2f}x ours/this)" if name != "ours" else ""
                print(f"  {name:6s} {seconds:6.2f} s  {args.mib / seconds:5.0f} MiB/s  client CPU "
                      f"{cpu[name]:5.2f} s{ratio}")
            print(f"  hash_file of the fetched file alone: {hashing:.2f} s")
    finally:
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
