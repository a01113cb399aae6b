"""Query cost against lake size: HTTP requests and time for a query returning the same
~100 rows from S3 lakes of growing size (moto's server on 127.0.0.1), with a full
listing of the same lake (what `aws s3 ls --recursive` does) as the baseline.

    python bench/query_scaling.py [--sizes 1000,5000]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

import boto3

from datalake_nb import Lake, layout
from datalake_nb.metadata import check_fields

HOUR = 3_600_000
BASE = 1_420_070_400_000  # 2015-01-01T00:00:00Z
WHERES = [f"web{i:02d}" for i in range(10)]


def start_moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto server did not start")


def seed(lake: Lake, records: int) -> None:
    """Hourly records from 10 hosts, written as the 0-byte data objects a push makes."""
    keys = []
    for n in range(records):
        hour, where = divmod(n, len(WHERES))
        fields = check_fields(what="nginx", where=WHERES[where], start=BASE + hour * HOUR,
                              end=BASE + (hour + 1) * HOUR - 1, data_version="0")
        keys.append(layout.data_key(layout.build_record(fields, "0" * 32, ".log")))
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: lake.store.put_bytes(k, b""), keys))


def measure(fn, repeat: int = 5) -> tuple[float, int]:
    times, counts = [], []
    for _ in range(repeat):
        sent = []
        t0 = time.perf_counter()
        fn(sent)
        times.append(time.perf_counter() - t0)
        counts.append(len(sent))
    return statistics.median(times), max(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1")
    proc, endpoint = start_moto()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        print(f"{'records':>8} {'rows':>5} {'query s':>8} {'requests':>8} "
              f"{'full list s':>11} {'requests':>8} {'ratio':>6}")
        for size in sizes:
            bucket = f"bench-{size}"
            boto3.client("s3").create_bucket(Bucket=bucket)
            lake = Lake(f"s3://{bucket}/lake", progress=False)
            seed(lake, size)
            client = lake.store.client
            hook = {}
            client.meta.events.register("before-send.s3.*", lambda **kw: hook["sink"].append(1))

            def narrow(sent):
                hook["sink"] = sent
                rows = lake.records(what="nginx", start=BASE + 50 * HOUR, end=BASE + 59 * HOUR)
                assert len(rows) == 100, len(rows)

            def full_listing(sent):
                hook["sink"] = sent
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                    pass

            q_time, q_req = measure(narrow)
            f_time, f_req = measure(full_listing)
            print(f"{size:>8} {100:>5} {q_time:>8.3f} {q_req:>8} {f_time:>11.3f} {f_req:>8} "
                  f"{f_time / q_time:>6.1f}")
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
