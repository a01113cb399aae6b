"""Security: a hostile lake cannot make fetch write outside its destination, no secret
shows in output, logs or errors, and S3 encryption / bucket-owner settings go out
with every request."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import boto3
import botocore.exceptions
import pytest

from datalake_nb import DatalakeError, InvalidInput, Lake
from datalake_nb.hashing import hash_file
from datalake_nb.check import check
from datalake_nb.hashing import content_hash
from datalake_nb.stores.base import LocalStore

from support.helpers import write

EVIL = b"evil\n"
H = content_hash()
H.update(EVIL)
HASH = H.hexdigest()
DAY = "data/nginx/1h/2015/03/20/"
STAMP = "20150320T000000000Z"
START = "2015-03-20T00:00:00Z"

# Keys a hostile writer could put in a lake, each meant to steer a fetched file's name.
HOSTILE = [
    f"{DAY}{STAMP}~-~..~{HASH}/0~.log",                          # where ".."
    f"{DAY}{STAMP}~-~.~{HASH}/0~.log",
    f"{DAY}{STAMP}~-~web01~{HASH}/0~.log/../../../escape",       # extra segments
    f"{DAY}{STAMP}~-~web01~{HASH}/0~%2F..%2F..%2Fescape.log",   # not the canonical encoding
    f"{DAY}{STAMP}~-~web01~{HASH}/0~x.log\\..\\..\\escape",     # backslashes in the ext
    f"{DAY}{STAMP}~-~web01\\..\\..~{HASH}/0~x.log",
    f"{DAY}{STAMP}~-~web01\u2215etc~{HASH}/0~x.log",             # a look-alike slash
    f"{DAY}{STAMP}~-~%2E%2E~{HASH}/0~x.log",
    f"data/../1h/2015/03/20/{STAMP}~-~web01~{HASH}/0~x.log",   # what ".."
    f"data/%2e%2e/1h/2015/03/20/{STAMP}~-~web01~{HASH}/0~x.log",
    f"data//1h/2015/03/20/{STAMP}~-~web01~{HASH}/0~x.log",
    f"data/nginx/1h/2015/03/20/../../../../{STAMP}~-~web01~{HASH}/0~x.log",
    f"work/x/5/nginx/1h/2015/03/20/{STAMP}~-~..~{HASH}/0~x.log",
    f"work/../5/nginx/1h/2015/03/20/{STAMP}~-~web01~{HASH}/0~x.log",
    f"where/nginx/../1h/2015/03/20/{STAMP}~-~web01~{HASH}/0~x.log/5",
    f"where/nginx/web01/1h/2015/03/20/{STAMP}~-~..~{HASH}/0~x.log/5",
    f"where/nginx/web01/1h/2015/03/20/{STAMP}~-~web02~{HASH}/0~x.log/5",  # not its folder's
    "catalog/nginx/..",
    "catalog/../../escape",
]
# A record that is valid, though odd: its work id is "/../../escape" (percent-encoded in
# the key).  It is listed and fetched, and its local name still has no work id in it.
ODD = f"{DAY}{STAMP}~-~web01~{HASH}/0~%2F%2E%2E%2F%2E%2E%2Fescape.log"


def raw_put(lake: Lake, key: str, data: bytes) -> bool:
    """Store ``key`` byte for byte, past the Store's own checks; False where the local
    file system cannot hold such a name, or the server refuses it (SeaweedFS refuses
    '..' segments and backslashes, and stores 'a//b' as 'a/b')."""
    store = lake.store
    if isinstance(store, LocalStore):
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts):
            return False
        path = store.root.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return True
    try:
        store.client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=data)
    except botocore.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidRequest"
        return False
    return True


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_a_hostile_lake_cannot_steer_fetched_names(lake, lake_url, tmp_path):
    good = lake.push(write(tmp_path / "src" / "good.log", "good\n"), what="nginx", where="web01",
                     start=START, data_version="0")
    written = [key for key in [*HOSTILE, ODD] if raw_put(lake, key, EVIL)]
    assert ODD in written and len(written) >= 9
    before = files_under(tmp_path)
    frame = lake.list()
    assert sorted(frame["where"]) == ["web01", "web01"]
    assert set(frame["work_id"].fillna("-")) == {"-", "/../../escape"}
    assert lake.catalog() == {"nginx": ["web01"]}
    assert list(lake.list(where="web01")["id"]) == [good.id]  # ODD has no where entry
    dest = tmp_path / "dest"
    paths = lake.fetch(frame, dest=dest)
    for path in paths:
        assert path.resolve().is_relative_to(dest.resolve()) and ".." not in path.parts
    new = files_under(tmp_path) - before
    assert new and all(p.is_relative_to(dest) or p.is_relative_to(lake.cache.root) for p in new)
    assert sorted(p.read_bytes() for p in paths) == [EVIL, b"good\n"]
    # the command line prints only paths inside its destination too
    env = dict(os.environ, DATALAKE_STORAGE_URL=lake_url, DATALAKE_CACHE_DIR=str(tmp_path / "c2"))
    out = subprocess.run([sys.executable, "-m", "datalake_nb", "fetch", "--what", "nginx", "--dest",
                          str(tmp_path / "cli")], capture_output=True, text=True, env=env, check=True,
                         timeout=120)
    assert len(out.stdout.splitlines()) == 2
    assert all(Path(p).resolve().is_relative_to((tmp_path / "cli").resolve())
               for p in out.stdout.splitlines())
    # and check names every planted key as an orphan (nothing it deletes unasked)
    kinds = sorted(f.kind for f in check(lake.store).findings)  # ODD: without index entries
    assert kinds == ["missing-where-entry", "missing-work-entry"] + ["orphan"] * (len(written) - 1)
    assert good.id in set(frame["id"])


@pytest.mark.parametrize("row", [
    {"where": "../../etc"}, {"what": "../x"}, {"url": "s3://b/k/0~..%2F..%2Fx.log"},
    {"url": "s3://b/k/0~x.log\\..\\..\\y"}, {"id": "0" * 32},
])
def test_hostile_rows_given_to_fetch_are_refused(lake, tmp_path, row):
    rec = lake.push(write(tmp_path / "a.log", "x"), what="nginx", where="web01", start=START,
                    data_version="0")
    hostile = {**rec.to_json(), **row}
    with pytest.raises(InvalidInput):
        lake.fetch([hostile], dest=tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


# -- secrets -------------------------------------------------------------------------

FAKE_KEY_ID, FAKE_SECRET = "AKIAFAKEDATALAKE0001", "fake/Secret+Key=DoNotPrint0123456789xyz"


@pytest.fixture
def credentials(s3_server, bucket, monkeypatch):
    """Credentials that must never be shown: distinctive fakes on moto (which takes any),
    the server's own on SeaweedFS (which checks every signature)."""
    if s3_server.name == "moto":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
        return FAKE_KEY_ID, FAKE_SECRET
    return s3_server.access_key, s3_server.secret_key


def test_no_secret_in_cli_output_or_debug_logs(credentials, bucket, tmp_path):
    key_id, secret = credentials
    env = dict(os.environ, DATALAKE_STORAGE_URL=f"s3://{bucket}/lake",
               DATALAKE_CACHE_DIR=str(tmp_path / "cache"), DATALAKE_LOG_LEVEL="debug")
    src = write(tmp_path / "a.log", "hello\n")
    rec_id = None
    transcript = []
    for args in [["push", src, "--what", "app", "--where", "h1", "--start", START,
                  "--data-version", "0", "--work-id", "w1"],
                 ["list", "--format", "json"], ["fetch", "--what", "app", "--dest", tmp_path / "d"],
                 ["cat", "{id}"], ["check", "--deep"], ["config"], ["latest", "--what", "nothing"],
                 ["list", "--what", "bad.name"], ["list", "--storage-url", "s3://no-such-bucket-dl/x"]]:
        args = [str(a).replace("{id}", rec_id or "") for a in args]
        proc = subprocess.run([sys.executable, "-m", "datalake_nb", *args], capture_output=True,
                              text=True, env=env, timeout=120)
        if args[0] == "push":
            rec_id = json.loads(proc.stdout)["id"]
        transcript.append(proc.stdout + proc.stderr)
    text = "\n".join(transcript)
    assert "Sending http request" in text and "***" in text  # debug logs were on, and masked
    assert secret not in text and key_id not in text
    assert "(set, hidden)" in text  # `config` names them without their values


def test_no_secret_in_api_errors_reprs_or_library_logs(credentials, bucket, tmp_path, caplog,
                                                       s3_server):
    """With the application's own logging at DEBUG, botocore logs the access key id in
    the Authorization header (that is botocore's); the secret key is never logged."""
    key_id, secret = credentials
    caplog.set_level(logging.DEBUG)
    lake = Lake(f"s3://{bucket}/lake", cache_dir=tmp_path / "cache", progress=False)
    rec = lake.push(write(tmp_path / "a.log", "x"), what="app", where="h1", start=START,
                    data_version="0")
    lake.fetch([rec], dest=tmp_path / "d")
    shown = [repr(lake), repr(lake.config), str(lake.config.describe()), repr(rec)]
    with pytest.raises(DatalakeError) as missing:
        Lake("s3://no-such-bucket-dl/x", progress=False).list()
    shown.append(str(missing.value))
    if s3_server.name == "seaweedfs":  # a server that checks signatures: a wrong secret
        os.environ["AWS_SECRET_ACCESS_KEY"] = secret[::-1]
        with pytest.raises(DatalakeError) as denied:
            Lake(f"s3://{bucket}/lake", progress=False).list()
        assert "access denied" in str(denied.value) and "SignatureDoesNotMatch" in str(denied.value)
        shown.append(str(denied.value))
        os.environ["AWS_SECRET_ACCESS_KEY"] = secret
    text = "\n".join(shown)
    assert secret not in text and key_id not in text and secret[::-1] not in text
    assert secret not in caplog.text and secret[::-1] not in caplog.text
    assert "Sending http request" in caplog.text


def test_a_secret_in_a_storage_url_is_not_echoed():
    with pytest.raises(InvalidInput) as info:
        Lake(f"s3://{FAKE_KEY_ID}:{FAKE_SECRET}@bucket/x")
    assert FAKE_SECRET not in str(info.value) and FAKE_KEY_ID not in str(info.value)


# -- server-side encryption and the expected bucket owner ------------------------------

OWNER = "123456789012"  # moto's account; SeaweedFS ignores the header


class Wire:
    """Every request's operation and headers, as sent."""

    def __init__(self, client):
        self.sent: list[tuple[str, dict[str, str]]] = []
        client.meta.events.register("before-send.s3", self.record)

    def record(self, request, event_name, **kwargs):
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v
                   for k, v in request.headers.items()}
        self.sent.append((event_name.rsplit(".", 1)[-1], headers))

    def ops(self) -> set[str]:
        return {op for op, _ in self.sent}


@pytest.mark.parametrize("sse, kms_key", [("AES256", None), ("aws:kms", "alias/datalake-test")])
def test_encryption_and_owner_go_out_with_every_request(s3_server, bucket, tmp_path, sse, kms_key):
    if kms_key and s3_server.name == "seaweedfs":
        pytest.skip("weed mini has no KMS: SSE-KMS writes get InternalError there")
    from datalake_nb.config import resolve
    config = resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/lake", "DATALAKE_S3_SSE": sse,
                      "DATALAKE_S3_SSE_KMS_KEY_ID": kms_key, "DATALAKE_S3_EXPECTED_BUCKET_OWNER": OWNER,
                      "DATALAKE_CACHE_DIR": str(tmp_path / "cache")})
    lake = Lake(config=config, progress=False)
    wire = Wire(lake.store.client)
    small = lake.push(write(tmp_path / "a.log", "small\n"), what="app", where="h1", start=START,
                      data_version="0", work_id="w1")
    big_file = tmp_path / "big.log"
    big_file.write_bytes(os.urandom((16 << 20) + 1000))  # multipart: two parts
    big = lake.push(big_file, what="app", where="h1", start=START, data_version="0")
    lake.store.put_bytes("data/app/orphan", b"x")
    assert len(lake.list()) == 2 and len(lake.list(work_id="w1")) == 1
    paths = lake.fetch([small, big], dest=tmp_path / "d")
    assert hash_file(paths[1])[0] == big.hash
    assert check(lake.store, deep=True, delete_orphans=True).findings[0].fixed
    assert {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
            "GetObject", "HeadObject", "ListObjectsV2", "DeleteObject"} <= wire.ops()
    for op, headers in wire.sent:
        assert headers.get("x-amz-expected-bucket-owner") == OWNER, op
        if op in ("PutObject", "CreateMultipartUpload"):
            assert headers.get("x-amz-server-side-encryption") == sse, op
            assert headers.get("x-amz-server-side-encryption-aws-kms-key-id") == kms_key, op
        else:
            assert "x-amz-server-side-encryption" not in headers, op
    client = boto3.client("s3")
    for rec in (small, big):
        head = client.head_object(Bucket=bucket, Key=rec.url.split(f"{bucket}/", 1)[1])
        assert head["ServerSideEncryption"] == sse
        assert head.get("SSEKMSKeyId") == kms_key


@pytest.mark.parametrize("sse, kms_key", [("AES256", None), ("aws:kms", "alias/datalake-test")])
def test_the_fast_plane_asks_for_encryption_on_every_write(s3_server, bucket, tmp_path, sse, kms_key):
    """Small PUTs and GETs go through obstore (no expected owner set): the encryption
    headers still go out with every write, on the wire, and the server keeps them."""
    if kms_key and s3_server.name == "seaweedfs":
        pytest.skip("weed mini has no KMS: SSE-KMS writes get InternalError there")
    from datalake_nb.config import resolve
    from support.wire import wire_proxy
    with wire_proxy(s3_server.url) as wire:
        config = resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/lake", "DATALAKE_S3_SSE": sse,
                          "DATALAKE_S3_SSE_KMS_KEY_ID": kms_key, "AWS_ENDPOINT_URL": wire.url,
                          "DATALAKE_CACHE_DIR": str(tmp_path / "cache")})
        lake = Lake(config=config, progress=False)
        assert lake.store.fast_plane is not None
        rec = lake.push(write(tmp_path / "a.log", "small\n"), what="app", where="h1", start=START,
                        data_version="0", work_id="w1")
        assert lake.fetch([rec], dest=tmp_path / "d")[0].read_text() == "small\n"
        puts = wire.requests("PUT")
        assert len(puts) == 4 and wire.requests("GET", "/data/")  # data, where, catalog, work
        for sent in puts:
            assert sent.headers.get("x-amz-server-side-encryption") == sse, sent.path
            assert sent.headers.get("x-amz-server-side-encryption-aws-kms-key-id") == kms_key, sent.path
    head = boto3.client("s3").head_object(Bucket=bucket, Key=rec.url.split(f"{bucket}/", 1)[1])
    assert head["ServerSideEncryption"] == sse and head.get("SSEKMSKeyId") == kms_key


def test_an_expected_bucket_owner_keeps_every_request_on_boto3(s3_server, bucket, tmp_path):
    """obstore cannot sign a header of our choosing, so with an expected owner set the
    small transfers stay on boto3 (which sends it: the test above checks every request)."""
    from datalake_nb.config import resolve
    config = resolve({"DATALAKE_STORAGE_URL": f"s3://{bucket}/lake",
                      "DATALAKE_S3_EXPECTED_BUCKET_OWNER": OWNER})
    assert Lake(config=config, progress=False).store.fast_plane is None
