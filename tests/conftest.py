"""Fixtures: real S3 endpoints over HTTP on 127.0.0.1 (moto, and SeaweedFS where
selected: see s3servers.py) and lakes on a local folder or on each of them.

Every test on SeaweedFS is marked ``seaweedfs``: the default run leaves those out (with
``slow`` and ``browser``: see pyproject.toml), ``.ci/run`` runs them."""
from __future__ import annotations

import os
import socket
from typing import Iterator

import boto3
import pytest

from datalake_nb import Lake, config

from support.isolation import clean_environment, etc_file
from support import figures
from support.helpers import write
from support.s3servers import (SERVERS, S3Server, backend_marks, lake_kinds, new_bucket,
                               selected_backends)
from support.wire import SilentServer
from support import emulators

S3_BACKENDS = selected_backends()
LAKE_KINDS = lake_kinds(S3_BACKENDS)


def _server(request, name: str) -> S3Server:
    return request.getfixturevalue(f"{name}_server")


@pytest.fixture(scope="session")
def moto_server():
    """moto's S3 server as a separate process."""
    with SERVERS["moto"]() as server:
        yield server


@pytest.fixture(scope="session")
def seaweedfs_server():
    """SeaweedFS (weed mini) as a separate process; it checks request signatures."""
    with SERVERS["seaweedfs"]() as server:
        yield server


@pytest.fixture(scope="session")
def azurite_server():
    """Azurite's Blob service (Azure Blob Storage) as a separate process, in memory."""
    with emulators.azurite() as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server():
    """fake-gcs-server (Google Cloud Storage's JSON API) as a separate process, in memory."""
    with emulators.fake_gcs() as server:
        yield server


def _point_at(server: S3Server, monkeypatch) -> None:
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches the first credentials


@pytest.fixture(params=[pytest.param(b, marks=backend_marks(b)) for b in S3_BACKENDS])
def s3_server(request) -> S3Server:
    """Each selected S3 server in turn."""
    return _server(request, request.param)


@pytest.fixture
def s3_endpoint(s3_server):
    return s3_server.url


@pytest.fixture
def aws_env(s3_server, monkeypatch):
    """Environment that points boto3 (and CLI subprocesses) at the test server."""
    _point_at(s3_server, monkeypatch)
    return s3_server.url


@pytest.fixture
def bucket(aws_env, s3_server):
    return new_bucket(s3_server)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No test reads or writes the real user's config, data or cache folders or the
    machine's /etc/datalake.conf, and no DATALAKE_* or AWS_* setting from outside reaches
    it (support/isolation.py); test_environment.py checks what a test sees."""
    home = tmp_path / "home"
    home.mkdir()
    clean = clean_environment(os.environ, home)
    for name in set(os.environ) - set(clean):
        monkeypatch.delenv(name)
    for name, value in clean.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    monkeypatch.setattr(config, "ETC_FILE", etc_file())
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches the first credentials
    return home


@pytest.fixture(params=LAKE_KINDS)
def lake_url(request, tmp_path, monkeypatch):
    """A root URL for an empty lake: a local folder, or a prefix in a fresh bucket of
    each selected S3 server (the environment then points at that server)."""
    if request.param == "local":
        (tmp_path / "lake").mkdir()  # an empty lake (reading a folder that is not there fails)
        return str(tmp_path / "lake")
    server = _server(request, request.param.partition("-")[2] or "moto")
    _point_at(server, monkeypatch)
    return f"s3://{new_bucket(server)}/archive/logs"


def pytest_sessionfinish(session):
    """A pytest-xdist worker hands its figures to the controller (pytest_testnodedown)."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["figures"] = dict(figures.FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    figures.FIGURES.update(getattr(node, "workeroutput", {}).get("figures", {}))


def pytest_terminal_summary(terminalreporter):
    """The figures the reliability tests counted (faults injected, files lost, ...)."""
    if figures.line():
        terminalreporter.write_line(figures.line())


@pytest.fixture
def lake(lake_url, tmp_path):
    return Lake(lake_url, cache_dir=tmp_path / "cache", progress=False)


@pytest.fixture
def local_lake(tmp_path):
    """An empty lake in a local folder (the folder exists: reading one that does not fails)."""
    (tmp_path / "lake").mkdir()
    return Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)


@pytest.fixture
def silent(monkeypatch) -> Iterator[SilentServer]:
    """An S3 endpoint that accepts connections and never answers (the environment points
    at it)."""
    server = SilentServer()
    for name, value in {"AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    yield server
    server.close()


@pytest.fixture
def ip(lake_url, tmp_path, monkeypatch):
    """A fresh IPython shell with the extension loaded, its lake at lake_url."""
    monkeypatch.setenv("DATALAKE_STORAGE_URL", lake_url)
    monkeypatch.setenv("DATALAKE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DATALAKE_PROGRESS", "off")
    monkeypatch.chdir(tmp_path)  # fetch's default destination is the current folder
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing.globalipapp import start_ipython
    start_ipython()
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "datalake_nb")
    yield shell
    shell.run_line_magic("unload_ext", "datalake_nb")
    shell.config.pop("LakeMagics", None)  # %config settings outlive the extension


@pytest.fixture
def filled(lake_url, tmp_path):
    """Three records in the lake at lake_url: nginx of web01 and web02, syslog of web01."""
    lake = Lake(lake_url, cache_dir=tmp_path / "cache", progress=False)
    recs = []
    for what, where, hour in [("nginx", "web01", 10), ("nginx", "web02", 11), ("syslog", "web01", 10)]:
        recs.append(lake.push(write(tmp_path / f"{what}{where}.log", f"{what} {where}\n"), what=what,
                              where=where, start=f"2015-03-20T{hour}:00:00Z",
                              end=f"2015-03-20T{hour}:59:59Z", data_version="0", work_id=f"w-{where}"))
    return recs


@pytest.fixture
def refused(monkeypatch):
    """An S3 endpoint where nothing listens (a network failure, not the user's mistake)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    probe.close()
    for name, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    return url
