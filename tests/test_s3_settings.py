"""S3 settings the lake must honour or refuse clearly, whichever client (obstore or
botocore) sends a request: an endpoint URL that is no URL, a profile that does not exist,
and what only botocore follows (a CA bundle, an endpoint in ~/.aws/config)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from datalake_nb import DatalakeError, InvalidInput, Lake
from datalake_nb.config import resolve
from datalake_nb.stores.s3 import S3Store

from support.helpers import write

T0 = "2015-03-20T00:00:00Z"
# AWS's documented example keys: a secret is masked in every later error text of the
# process (core/redact.py), so a one-letter one would spoil other tests' messages.
KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("endpoint", ["localhost:9000", "ftp://host", "http://", "http://h:port"])
def test_an_endpoint_that_is_no_url_is_named_with_what_is_allowed(endpoint):
    with pytest.raises(InvalidInput) as info:
        S3Store("s3://bucket/logs", endpoint_url=endpoint, access_key=KEY, secret_key=SECRET,
                region="us-east-1")
    assert str(info.value) == (f"AWS_ENDPOINT_URL: {endpoint!r}: allowed: http:// or https://, "
                               "a host and an optional port, e.g. http://127.0.0.1:8333")


def test_the_cli_says_so_in_one_line_and_exits_2(tmp_path):
    env = dict(os.environ, AWS_ENDPOINT_URL="localhost:9000", AWS_ACCESS_KEY_ID=KEY,
               AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION="us-east-1")
    proc = subprocess.run([sys.executable, "-m", "datalake_nb", "list", "--what", "app",
                           "--storage-url", "s3://bucket/logs"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().endswith("AWS_ENDPOINT_URL: 'localhost:9000': allowed: http:// "
                                        "or https://, a host and an optional port, e.g. "
                                        "http://127.0.0.1:8333")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("plane", ["auto", "boto3"])
def test_a_profile_that_does_not_exist_is_named_even_with_keys_given(aws_env, bucket, tmp_path,
                                                                     plane):
    lake = Lake(config=resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/logs",
                                "AWS_PROFILE": "no-such-profile", "DATALAKE_S3_DATA_PLANE": plane,
                                "DATALAKE_CACHE_DIR": str(tmp_path / "cache")}), progress=False)
    with pytest.raises(DatalakeError, match=r"^connect: The config profile \(no-such-profile\)"):
        lake.list(what="app")


def pushed(aws_env, bucket, tmp_path) -> str:
    url = f"s3://{bucket}/logs"
    Lake(url, cache_dir=tmp_path / "seed", progress=False).push(
        write(tmp_path / "a.log", "hello\n"), what="app", where="web01", start=T0,
        data_version="0")
    return url


@pytest.mark.parametrize("section", ["default", "profile default"])
def test_an_endpoint_in_the_aws_config_file_is_followed(aws_env, bucket, tmp_path, monkeypatch,
                                                        section):
    """botocore reads ``endpoint_url`` from the profile (its section named either way);
    obstore would go to AWS itself."""
    url = pushed(aws_env, bucket, tmp_path)
    config = write(tmp_path / "aws-config", f"[{section}]\nendpoint_url = {aws_env}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    lake = Lake(url, cache_dir=tmp_path / "cache", progress=False)
    assert lake.store.fast_plane is None
    assert list(lake.list(what="app")["where"]) == ["web01"]
    [path] = lake.fetch(what="app", dest=tmp_path / "out")
    assert path.read_text() == "hello\n"


def test_a_ca_bundle_of_its_own_leaves_a_tls_endpoint_to_botocore(monkeypatch, tmp_path):
    """obstore cannot be given a CA bundle: with one of the user's own and a TLS endpoint,
    boto3 sends every request; the system's bundle (which some images name in
    AWS_CA_BUNDLE), or plain http, keeps obstore."""
    def plane(endpoint: str):
        return S3Store("s3://bucket/logs", endpoint_url=endpoint, access_key=KEY,
                       secret_key=SECRET, region="us-east-1").fast_plane
    monkeypatch.setenv("AWS_CA_BUNDLE", str(write(tmp_path / "ca.pem", "")))
    assert plane("https://s3.example.internal") is None
    assert plane("http://127.0.0.1:9") is not None
    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert plane("https://s3.example.internal") is not None
