"""Security: a hostile lake cannot make fetch write outside its destination, no secret
shows in output, logs or errors, and S3 encryption / bucket-owner settings go out
with every request."""
from __future__ import annotations

import contextlib
import http.server
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Iterator

import boto3
import botocore.exceptions
import pytest

from datalake_nb import DatalakeError, InvalidInput, Lake
from datalake_nb.engine.hashing import hash_file
from datalake_nb.engine.check import check
from datalake_nb.engine.hashing import content_hash
from datalake_nb.core.redact import redact_url, remember, scrub
from datalake_nb.stores.local import LocalStore
from datalake_nb.stores.s3 import S3Store

from support.helpers import write
from support.s3servers import new_bucket
from support.wire import wire_proxy

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
                 ["list", "--output", "json"], ["fetch", "--what", "app", "--dest", tmp_path / "d"],
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


# -- passwords in URLs: shown nowhere (issue 16, items 8 and 9) -----------------------

PASSWORD = "N0tShown-Pa55word"
DENIED = (403, b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
               b"<Message>Access Denied</Message></Error>")


def with_password(url: str) -> str:
    """``url`` with a user and PASSWORD, as MinIO users write it: http://key:secret@host."""
    return url.replace("://", f"://minio:{PASSWORD}@", 1)


def everything_shown(exc: BaseException) -> str:
    """What a traceback of ``exc`` shows (a notebook prints it): its text and its causes'."""
    return "".join(traceback.format_exception(exc))


@pytest.mark.parametrize("url, shown", [
    ("http://minio:Secret@127.0.0.1:9000", "http://***@127.0.0.1:9000"),
    ("https://minio:Secret@minio.local:9000/path", "https://***@minio.local:9000/path"),
    ("s3://AKIAEXAMPLE:Secret@bkt/logs", "s3://***@bkt/logs"),
    ("s3://AKIAEXAMPLE:Sec/ret@bkt/logs", "s3://***@bkt/logs"),       # an unescaped '/'
    ("http://key:p@ss@host/path@x", "http://***@host/path@x"),        # an unescaped '@'
    ("http://key:p%40ss@host", "http://***@host"),
    ("http://key@host/x", "http://***@host/x"),                       # a key id alone
    ("s3://bkt/logs@2024/x", "s3://bkt/logs@2024/x"),                 # '@' in the path
    ("http://host:9000/p", "http://host:9000/p"),
    ("http://host/a:b@c", "http://host/a:b@c"),
    ("/home/a:b@c", "/home/a:b@c"),
    ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    ("file:///srv/lake", "file:///srv/lake"),
])
def test_redact_url_masks_the_user_and_password_only(url, shown):
    assert redact_url(url) == shown


def test_scrub_masks_urls_inside_a_text_and_the_remembered_values():
    remember("Rem3mbered%2Fkey", None, "")
    text = ('Could not connect to the endpoint URL: "http://minio:Secret@127.0.0.1:1/b?list-type=2"'
            ' (password: Some("Rem3mbered/key")), then http://key:Other@host/x and s3://bkt/a@b')
    assert scrub(text) == ('Could not connect to the endpoint URL: "http://***@127.0.0.1:1/b?list-'
                           'type=2" (password: Some("***")), then http://***@host/x and s3://bkt/a@b')
    assert scrub("a given secret", ["given"]) == "a *** secret"


def test_cli_config_shows_no_password_secret_key_or_token(tmp_path):
    """`datalake config` names every setting: a URL's password is ***, the keys are
    '(set, hidden)', a session token is not a setting (never shown); from the
    environment, a config file and an argument alike."""
    token = "FwoGZXIvYXdzEJr-session-token-DoNotPrint"
    conf = write(tmp_path / "datalake.conf", f"AWS_SECRET_ACCESS_KEY={FAKE_SECRET}\n"
                                             f"DATALAKE_STORAGE_URL=s3://{FAKE_KEY_ID}:{PASSWORD}@bkt/logs\n")
    env = dict(os.environ, DATALAKE_CONFIG=str(conf), AWS_SESSION_TOKEN=token,
               AWS_ACCESS_KEY_ID=FAKE_KEY_ID)
    texts = []
    for args in (["config"], ["config", "--endpoint-url", with_password("http://minio.local:9000")]):
        proc = subprocess.run([sys.executable, "-m", "datalake_nb", *args], capture_output=True,
                              text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        texts.append(proc.stdout + proc.stderr)
    rows = {line.split()[0]: line.split()[1] for line in texts[1].splitlines()[1:]}
    assert rows["DATALAKE_STORAGE_URL"] == "s3://***@bkt/logs"
    assert rows["AWS_ENDPOINT_URL"] == "http://***@minio.local:9000"
    assert rows["AWS_SECRET_ACCESS_KEY"] == rows["AWS_ACCESS_KEY_ID"] == "(set,"
    for text in texts:
        for secret in (PASSWORD, FAKE_SECRET, FAKE_KEY_ID, token):
            assert secret not in text


def test_the_notebook_shows_no_password(tmp_path, monkeypatch):
    """%lake config (a DataFrame) masks it; %lake use of a URL with one refuses it unshown."""
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing.globalipapp import start_ipython
    monkeypatch.setenv("DATALAKE_STORAGE_URL", str(tmp_path / "lake"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", with_password("http://minio.local:9000"))
    start_ipython()
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "datalake_nb")
    try:
        frame = shell.run_line_magic("lake", "config").set_index("name")
        assert frame.loc["AWS_ENDPOINT_URL", "value"] == "http://***@minio.local:9000"
        assert PASSWORD not in frame.to_string() and PASSWORD not in repr(frame.to_dict())
        with pytest.raises(UsageError) as info:
            shell.run_line_magic("lake", f"use s3://{FAKE_KEY_ID}:{PASSWORD}@bkt/logs")
        assert "s3://***@bkt/logs" in str(info.value) and PASSWORD not in str(info.value)
    finally:
        shell.run_line_magic("unload_ext", "datalake_nb")


class NotFoundEverywhere(http.server.BaseHTTPRequestHandler):
    """A web server that is no S3: 404 and a page of HTML for every request."""
    protocol_version = "HTTP/1.1"

    def _any(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        page = b"<html><body>Not Found</body></html>"
        self.send_response(404)
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(page)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def closing_server() -> Iterator[str]:
    """An endpoint that reads each request and closes the connection without an answer."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.recv(1 << 16)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@contextlib.contextmanager
def faulty_endpoint(kind: str, s3_server) -> Iterator[tuple[str, str]]:
    """(endpoint URL, bucket) where every request meets the fault ``kind``."""
    if kind == "refused":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"http://127.0.0.1:{port}", "bkt"
    elif kind == "not-found":
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFoundEverywhere)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", "bkt"
        finally:
            server.shutdown()
            server.server_close()
    elif kind == "closed":
        with closing_server() as url:
            yield url, "bkt"
    elif kind == "denied":
        with wire_proxy(s3_server.url, pick=lambda n: True, answer=DENIED) as wire:
            yield wire.url, new_bucket(s3_server)
    else:  # no-bucket
        if s3_server.name == "seaweedfs":
            pytest.skip("SeaweedFS creates a bucket on its first PUT: it never says NoSuchBucket")
        yield s3_server.url, "no-such-bucket-dl"


# What the PUT's one line says on either plane (their words are alike, up to the tries).
FAULTS = {
    "refused": "put: cannot reach the S3 endpoint http://***@127.0.0.1:{port}; check AWS_ENDPOINT_URL",
    "closed": "put: the S3 endpoint http://***@127.0.0.1:{port} closed the connection before "
              "answering; try again, and check AWS_ENDPOINT_URL (or a proxy on the way) if it "
              "keeps happening",
    "not-found": "put: no bucket 'bkt' at http://***@127.0.0.1:{port}, or not an S3 server",
    "denied": "put: access denied to s3://{bucket}/x/ (AccessDenied); check the AWS credentials "
              "and the bucket policy",
    "no-bucket": "put: the bucket of s3://no-such-bucket-dl/x/ does not exist",
}


# What every operation's line says, whichever plane and call met the fault.
GIST = {"refused": r"cannot reach the S3 endpoint http://\*\*\*@127\.0\.0\.1:",
        "closed": r"the S3 endpoint http://\*\*\*@127\.0\.0\.1:\d+ closed the connection",
        "not-found": r"no bucket 'bkt' at http://\*\*\*@127\.0\.0\.1:\d+, or not an S3 server"
                     # a GET of a key: the key may be missing, the bucket there
                     r"|no such object in s3://bkt/x/|S3 error HTTP 404 on s3://bkt/x/",
        "denied": r"access denied to s3://",
        "no-bucket": r"the bucket of s3://no-such-bucket-dl/x/ does not exist"}


class NoSink:
    def write_at(self, offset: int, data: bytes) -> None:
        raise AssertionError("no byte may arrive from a faulty endpoint")


@pytest.mark.slow
@pytest.mark.parametrize("kind", FAULTS)
def test_no_error_shows_the_endpoints_password(kind, aws_env, s3_server, tmp_path):
    """Each fault, on each data plane, through the store and the Lake: one line, the
    endpoint (if named) as http://***@host:port, and the password nowhere in what a
    traceback would print (botocore and obstore quote the full URL in their own errors)."""
    errors: dict[str, BaseException] = {}
    with faulty_endpoint(kind, s3_server) as (url, bucket):
        for plane in ("boto3", "auto"):
            store = S3Store(f"s3://{bucket}/x", endpoint_url=with_password(url), max_attempts=2,
                            connect_timeout=1, read_timeout=1, data_plane=plane)
            assert (store.fast_plane is not None) == (plane == "auto")
            lake = Lake(store=store, cache_dir=tmp_path / "cache", progress=False)
            calls = {"put": lambda: store.put_bytes("data/a", b"x"),
                     "get": lambda: store.get_file("data/a", NoSink(), size=1),
                     "push": lambda: lake.push(write(tmp_path / "a.log", "x\n"), what="app",
                                               where="h1", start=START, data_version="0"),
                     "list": lambda: lake.list(what="app")}
            for op, call in calls.items():
                with pytest.raises(DatalakeError, match=GIST[kind]) as info:
                    call()
                errors[f"{plane} {op}"] = info.value
    port = url.rsplit(":", 1)[1]
    for name, exc in errors.items():
        assert "\n" not in str(exc) and "Generic S3 error" not in str(exc), (name, str(exc))
        assert PASSWORD not in everything_shown(exc), (name, everything_shown(exc))
    for plane in ("boto3", "auto"):
        put = re.sub(r" \(\d+ tries\)", "", str(errors[f"{plane} put"]))
        assert put == FAULTS[kind].format(port=port, bucket=bucket), plane


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["refused", "not-found", "denied", "no-bucket"])
def test_no_cli_output_shows_the_endpoints_password(kind, aws_env, s3_server, tmp_path):
    """push on each plane and list, at --log-level debug (botocore logs every request's
    URL): exit 1, the error as the last line, the password nowhere on stdout or stderr."""
    src = write(tmp_path / "a.log", "x\n")
    with faulty_endpoint(kind, s3_server) as (url, bucket):
        env = dict(os.environ, AWS_ENDPOINT_URL=with_password(url), DATALAKE_LOG_LEVEL="debug",
                   DATALAKE_STORAGE_URL=f"s3://{bucket}/x", DATALAKE_CACHE_DIR=str(tmp_path / "c"),
                   DATALAKE_S3_CONNECT_TIMEOUT="1", DATALAKE_S3_READ_TIMEOUT="1")
        runs = [(["push", str(src), "--what", "app", "--where", "h1", "--start", START,
                  "--data-version", "0", "--s3-data-plane", plane], "put: ")
                for plane in ("boto3", "auto")] + [(["list", "--what", "app"], "list: ")]
        for args, what in runs:
            proc = subprocess.run([sys.executable, "-m", "datalake_nb", *args], capture_output=True,
                                  text=True, env=env, timeout=120)
            last = proc.stderr.strip().splitlines()[-1]
            assert proc.returncode == 1 and last.startswith("datalake: ") and what in last, proc.stderr
            assert re.search(GIST[kind], last), last
            assert PASSWORD not in proc.stdout + proc.stderr, proc.stderr
            if "boto3" in args:  # (the fast plane, which lists too, sends none through botocore)
                assert "***@127.0.0.1" in proc.stderr  # botocore's debug lines, masked


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
