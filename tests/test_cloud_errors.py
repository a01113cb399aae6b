"""Azure Blob Storage's failures read like S3's: one line naming the container or the
endpoint and what to do, no secret in it, and a silent or absent endpoint fails within
the same bounded time (two tries of the connect and read timeouts)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import traceback

import pytest

from datalake_nb import DatalakeError, Lake
from datalake_nb.config import resolve
from datalake_nb.core.errors import InvalidInput, Refused

from support.emulators import AZURITE_ACCOUNT, AZURITE_KEY
from support.helpers import until
from support.wire import SilentServer

BOUND = 30  # seconds: a bound on a hang, not a benchmark


def azure_lake(tmp_path, endpoint, **settings):
    return Lake(config=resolve({
        "DATALAKE_STORAGE_URL": "az://logs/x", "DATALAKE_AZURE_ENDPOINT_URL": endpoint,
        "AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT, "DATALAKE_CACHE_DIR": str(tmp_path / "c"),
        **settings}, environ={"AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY}))


def assert_one_clean_line(message, *secrets):
    assert "\n" not in message.strip() and "Debug source" not in message
    for secret in secrets:
        assert secret not in message


def test_a_silent_azure_endpoint_fails_in_bounded_time_with_one_line(tmp_path):
    server = SilentServer()
    try:
        lake = azure_lake(tmp_path, f"{server.url}/{AZURITE_ACCOUNT}",
                          DATALAKE_S3_READ_TIMEOUT="0.5s", DATALAKE_S3_CONNECT_TIMEOUT="0.5s")
        started = time.monotonic()
        with pytest.raises(DatalakeError) as info:
            lake.list(what="nginx")
        assert time.monotonic() - started < BOUND
        message = str(info.value)
        assert message.startswith(f"list: the Azure endpoint {server.url}/{AZURITE_ACCOUNT} "
                                  "did not answer in time"), message
        assert_one_clean_line(message, AZURITE_KEY)
        assert AZURITE_KEY not in "".join(traceback.format_exception(info.value))
    finally:
        server.close()


def test_a_timed_out_azure_request_is_tried_twice(tmp_path):
    server = SilentServer()
    try:
        lake = azure_lake(tmp_path, f"{server.url}/{AZURITE_ACCOUNT}",
                          DATALAKE_S3_READ_TIMEOUT="0.5s", DATALAKE_S3_CONNECT_TIMEOUT="0.5s")
        with pytest.raises(DatalakeError, match="did not answer in time"):
            lake.store.list_dirs("data/")  # one request
        assert until(lambda: len(server.accepted) >= 2)
        assert len(server.accepted) == 2
    finally:
        server.close()


def test_an_azure_endpoint_where_nothing_listens(tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    probe.close()
    started = time.monotonic()
    with pytest.raises(Refused) as info:
        azure_lake(tmp_path, f"{url}/{AZURITE_ACCOUNT}").list(what="nginx")
    assert time.monotonic() - started < BOUND
    assert str(info.value).startswith(f"list: cannot reach the Azure endpoint {url}/")
    assert "DATALAKE_AZURE_ENDPOINT_URL" in str(info.value)


@pytest.mark.emulators
def test_a_missing_container_and_a_wrong_key_on_azurite(azurite_server, tmp_path, monkeypatch):
    for name, value in azurite_server.env.items():
        monkeypatch.setenv(name, value)
    lake = Lake("az://no-such-container/x", cache_dir=tmp_path / "c", progress=False)
    (tmp_path / "a.log").write_text("x\n")
    with pytest.raises(DatalakeError) as info:
        lake.push(tmp_path / "a.log", what="app", where="h", start="2020-01-01T00:00Z",
                  data_version="1")
    assert "the container of az://no-such-container/x/ does not exist" in str(info.value)
    assert_one_clean_line(str(info.value), AZURITE_KEY)

    wrong = "AAAA" + AZURITE_KEY[4:]
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", wrong)
    container = azurite_server.new_container()
    with pytest.raises(Refused) as info:
        Lake(f"az://{container}/x", cache_dir=tmp_path / "c2").list(what="app")
    assert str(info.value).startswith(f"list: access denied to az://{container}/x/")
    assert "AZURE_STORAGE_ACCOUNT_KEY" in str(info.value)
    assert_one_clean_line(str(info.value), wrong)
    # the CLI: exit 1, one line, no traceback, no key
    proc = subprocess.run([sys.executable, "-m", "datalake_nb", "list", "--storage-url",
                           f"az://{container}/x"], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, DATALAKE_PROGRESS="off"))
    assert proc.returncode == 1 and proc.stderr.startswith("datalake: list: access denied")
    assert "Traceback" not in proc.stderr and wrong not in proc.stderr


@pytest.mark.parametrize("url, problem", [
    ("az://Bad_Name/x", "not a valid container name"),
    ("az://logs/a/../b", "plain path"),
    ("abfs://logs@example.com/x", "use az://"),
    ("https://acct1.blob.core.windows.net/UPPER/x", "not a valid container name"),
])
def test_a_bad_azure_url_is_one_line_naming_the_field(url, problem, tmp_path):
    with pytest.raises(InvalidInput, match=problem) as info:
        azure_lake(tmp_path, "http://127.0.0.1:9/x", DATALAKE_STORAGE_URL=url)
    assert str(info.value).startswith("storage URL: ")


def test_az_without_an_account_says_which_setting(tmp_path):
    with pytest.raises(InvalidInput, match="AZURE_STORAGE_ACCOUNT_NAME: not set"):
        Lake(config=resolve({"DATALAKE_STORAGE_URL": "az://logs/x"}, environ={}))


@pytest.mark.parametrize("url", ["az://logs/archive/x", "azure://logs/archive/x/",
                                 "abfss://logs@acct1.dfs.core.windows.net/archive/x",
                                 "https://acct1.blob.core.windows.net/logs/archive/x"])
def test_every_azure_url_form_names_the_same_lake(url, tmp_path):
    lake = azure_lake(tmp_path, "http://127.0.0.1:9/acct1", DATALAKE_STORAGE_URL=url,
                      AZURE_STORAGE_ACCOUNT_NAME="acct1")
    assert lake.url == "az://logs/archive/x/"


def test_a_silent_gcs_endpoint_fails_in_bounded_time_with_one_line(tmp_path):
    server = SilentServer()
    try:
        lake = Lake(config=resolve({
            "DATALAKE_STORAGE_URL": "gs://logs/x", "DATALAKE_GCS_ENDPOINT_URL": server.url,
            "DATALAKE_S3_READ_TIMEOUT": "0.5s", "DATALAKE_S3_CONNECT_TIMEOUT": "0.5s",
            "DATALAKE_CACHE_DIR": str(tmp_path / "c")}, environ={}))
        started = time.monotonic()
        with pytest.raises(DatalakeError) as info:
            lake.store.list_dirs("data/")
        assert time.monotonic() - started < BOUND
        assert str(info.value) == (f"list: the GCS endpoint {server.url} did not answer in time; "
                                   "check DATALAKE_GCS_ENDPOINT_URL, or raise "
                                   "DATALAKE_S3_CONNECT_TIMEOUT / DATALAKE_S3_READ_TIMEOUT")
        assert until(lambda: len(server.accepted) >= 2)
        assert len(server.accepted) == 2
    finally:
        server.close()


@pytest.mark.emulators
def test_a_missing_gcs_bucket_is_one_line(gcs_server, tmp_path, monkeypatch):
    monkeypatch.setenv("DATALAKE_GCS_ENDPOINT_URL", gcs_server.endpoint)
    (tmp_path / "a.log").write_text("x\n")
    lake = Lake("gs://no-such-bucket/x", cache_dir=tmp_path / "c", progress=False)
    with pytest.raises(DatalakeError) as info:
        lake.push(tmp_path / "a.log", what="app", where="h", start="2020-01-01T00:00Z",
                  data_version="1")
    assert "the bucket of gs://no-such-bucket/x/ does not exist" in str(info.value)
    assert_one_clean_line(str(info.value))
