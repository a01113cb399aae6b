"""Fixtures: a real S3 endpoint (moto's server over HTTP on 127.0.0.1) and lakes."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import boto3
import pytest

from datalake_nb import Lake

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """Start moto's S3 server as a separate process; yield its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("moto server did not start")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def aws_env(s3_endpoint, monkeypatch):
    """Environment that points boto3 (and CLI subprocesses) at the test server."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return s3_endpoint


@pytest.fixture
def bucket(aws_env):
    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=aws_env).create_bucket(Bucket=name)
    return name


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No test reads or writes the real user's config, data or cache folders."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "DATALAKE_CONFIG",
                "DATALAKE_STORAGE_URL", "DATALAKE_CACHE_DIR", "DATALAKE_FETCH_DIR"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(params=["local", "s3"])
def lake_url(request, tmp_path):
    """A root URL for an empty lake: a local folder, or a prefix in a fresh bucket."""
    if request.param == "local":
        return str(tmp_path / "lake")
    bucket = request.getfixturevalue("bucket")
    return f"s3://{bucket}/archive/logs"


@pytest.fixture
def lake(lake_url, tmp_path):
    return Lake(lake_url, cache_dir=tmp_path / "cache", progress=False)
