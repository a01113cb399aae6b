"""An experiment, not a contender: client CPU per small file of ``Lake.push`` and
``Lake.fetch`` (in one process, through the API) with the data plane's GET and PUT done
by boto3 (what S3Store does), or by obstore (Rust object_store bindings) with credentials
from boto3's chain.  Listing, the catalog marker and everything else stay on boto3.

    python -m bench.data_plane [--files 2000] [--concurrency 8] [--endpoint URL]

Without ``--endpoint`` it starts SeaweedFS itself.  obstore is not a dependency of the
project: install it to see its rows (``pip install obstore``); missing, its rows say so.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from datalake_nb import Lake
from datalake_nb.cache import readable_name
from datalake_nb.config import resolve
from datalake_nb.stores.s3 import S3Store, _errors

from .support import CREDENTIALS, SeaweedFS


class ObstoreData(S3Store):
    """S3Store whose put_file/get_file go through obstore (credentials: boto3's chain,
    frozen once; a real implementation would refresh them)."""

    def __init__(self, url: str, endpoint_url: str, concurrency: int) -> None:
        super().__init__(url, endpoint_url=endpoint_url, concurrency=concurrency)
        import obstore.store
        frozen = boto3.session.Session().get_credentials().get_frozen_credentials()
        token = {"session_token": frozen.token} if frozen.token else {}
        self.obstore = obstore.store.S3Store(
            self.bucket, endpoint=endpoint_url, access_key_id=frozen.access_key,
            secret_access_key=frozen.secret_key, region=self.client.meta.region_name,
            client_options={"allow_http": True, "pool_max_idle_per_host": "64"}, **token)

    def put_file(self, key, path, metadata, progress=None):
        import obstore
        with open(path, "rb") as src:
            data = src.read()
        with _errors(f"upload {path}", self.url):
            obstore.put(self.obstore, self.prefix + key, data,
                        attributes={f"Metadata-{k}": v for k, v in metadata.items()})
        if progress:
            progress(len(data))

    def get_file(self, key, dest, progress=None, size=None):
        import obstore
        data = obstore.get(self.obstore, self.prefix + key).bytes()
        with open(dest, "wb") as out:
            out.write(data)
        if progress:
            progress(len(data))


class LeanFetchLake(Lake):
    """(Lake.fetch now works this way itself; kept to compare with the experiment.)
    Lake.fetch as proposed in bench/PROFILE.md: each worker downloads and places its
    file (placing overlaps other downloads instead of running after all of them, in the
    main thread), and placing is one os.link when the destination is new (the current
    Cache.place does samefile, mkstemp, unlink, link, replace: six system calls)."""

    def fetch(self, items: Any, dest: Any = None) -> list[Path]:
        records = self._resolve(items)
        folder = Path(dest if dest is not None else ".")

        def one(rec: Any) -> Path:
            cached = self.cache.lookup(rec) or self._download(rec, lambda n: None)
            target = folder / readable_name(rec)
            try:
                os.link(cached, target)
            except FileNotFoundError:
                target.parent.mkdir(parents=True, exist_ok=True)
                self.cache.place(cached, target)
            except OSError:  # it exists, or no hard links here: the careful way
                self.cache.place(cached, target)
            return target
        with concurrent.futures.ThreadPoolExecutor(self.concurrency) as pool:  # (group by hash first)
            return list(pool.map(one, records))


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
                                  "DATALAKE_CONCURRENCY": str(args.concurrency)})
                store = (ObstoreData(url, endpoint, args.concurrency) if "obstore" in kind
                         else None)
                cls = LeanFetchLake if "lean" in kind else Lake
                return cls(config=config, store=store, progress=False)

            kinds = ["boto3", "boto3 + lean fetch"]
            try:
                import obstore  # noqa: F401
                kinds += ["obstore", "obstore + lean fetch"]
            except ImportError:
                print("obstore is not installed: its rows are skipped", file=sys.stderr)
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
