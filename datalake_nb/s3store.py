"""S3 (and S3-compatible servers) as a Store, through boto3's standard chain.

Credentials, profile and region come from boto3 as usual; ``endpoint_url``
(or AWS_ENDPOINT_URL) points at another S3-compatible server.  Nothing is
ever written outside the URL's prefix.
"""
from __future__ import annotations

import contextlib
import os
import re
import urllib.parse
from typing import Any, Iterator

import boto3
import botocore.config
import botocore.exceptions
from boto3.s3.transfer import TransferConfig

from .errors import DatalakeError, InvalidInput, NotFound
from .store import CHUNK, Entry, Store, redact_url

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PREFIX_MAX = 300  # leaves room for the longest key the lake writes (S3 allows 1024)


def parse_s3_url(url: str) -> tuple[str, str]:
    parsed = urllib.parse.urlparse(url)
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    if not BUCKET_RE.match(bucket):
        raise InvalidInput("storage URL", f"{redact_url(url)!r}: {bucket!r} is not a valid "
                                          "bucket name (3-63 lowercase letters, digits, '.' and '-')")
    if "//" in parsed.path or len(prefix.encode()) > PREFIX_MAX or parsed.query or parsed.fragment:
        raise InvalidInput("storage URL", f"{url!r}: the prefix must be a plain path of at most "
                                          f"{PREFIX_MAX} bytes")
    return bucket, prefix + "/" if prefix else ""


@contextlib.contextmanager
def _errors(what: str, url: str) -> Iterator[None]:
    """Turn boto's exceptions into one clear line (never with credentials)."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        code = err.get("Code", "?")
        if code in ("NoSuchKey", "404", "NotFound"):
            raise NotFound(f"{what}: no such object in {url}") from None
        if code == "NoSuchBucket":
            raise DatalakeError(f"{what}: the bucket of {url} does not exist") from None
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise DatalakeError(f"{what}: access denied to {url} ({code}); check the AWS "
                                "credentials and the bucket policy") from None
        raise DatalakeError(f"{what}: S3 error {code} on {url}: {err.get('Message', '')}") from None
    except botocore.exceptions.NoCredentialsError:
        raise DatalakeError(f"{what}: no AWS credentials found for {url}; set AWS_PROFILE or "
                            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from None
    except botocore.exceptions.EndpointConnectionError as exc:
        raise DatalakeError(f"{what}: cannot reach the S3 endpoint ({exc.kwargs.get('endpoint_url')})") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise DatalakeError(f"{what}: {exc}") from None


EXPECT_MIN_BODY = 2 << 20  # like the AWS SDK for Go: smaller bodies go without the handshake


def _no_expect_for_small_body(request: Any, **kwargs: Any) -> None:
    """Drop ``Expect: 100-continue`` from requests with a small body (botocore adds it to
    every PUT): the handshake costs a round trip before the body leaves, 20 ms of every
    small push on a 20 ms link, to save resending at most 2 MiB after a refusal.  Without
    a body it matters more: SeaweedFS then never answers the next request on that
    connection (our 0-byte index entries)."""
    if "Expect" in request.headers:
        try:
            small = int(request.headers.get("Content-Length")) < EXPECT_MIN_BODY
        except (TypeError, ValueError):  # no length (streamed): keep the handshake
            small = False
        if small:
            del request.headers["Expect"]


class S3Store(Store):
    def __init__(self, url: str, endpoint_url: str | None = None, region: str | None = None,
                 profile: str | None = None, concurrency: int = 8, retry_mode: str = "standard",
                 max_attempts: int = 8, access_key: str | None = None, secret_key: str | None = None,
                 sse: str | None = None, sse_kms_key_id: str | None = None,
                 expected_bucket_owner: str | None = None):
        self.bucket, self.prefix = parse_s3_url(url)
        self.url = f"s3://{self.bucket}/{self.prefix}"
        # Sent with every request: reads name the owner, writes also ask for encryption.
        self.read_args = {"ExpectedBucketOwner": expected_bucket_owner} if expected_bucket_owner else {}
        self.write_args = {**self.read_args, **({"ServerSideEncryption": sse} if sse else {}),
                           **({"SSEKMSKeyId": sse_kms_key_id} if sse_kms_key_id else {})}
        with _errors("connect", self.url):
            session = boto3.session.Session(profile_name=profile or None, region_name=region or None,
                                            aws_access_key_id=access_key or None,
                                            aws_secret_access_key=secret_key or None)
        config = botocore.config.Config(
            retries={"mode": retry_mode, "max_attempts": max_attempts},
            max_pool_connections=max(10, concurrency * 2))
        with _errors("connect", self.url):
            self.client = session.client("s3", endpoint_url=endpoint_url or None, config=config)
        self.client.meta.events.register("before-send.s3", _no_expect_for_small_body)
        self.transfer = TransferConfig(max_concurrency=concurrency, multipart_threshold=16 << 20,
                                       multipart_chunksize=16 << 20)

    def put_file(self, key, path, metadata, progress=None):
        size = os.path.getsize(path)
        if size < self.transfer.multipart_threshold:
            # One PUT of the bytes: boto3's upload_file would start a transfer manager (threads)
            # per file, and a file object as the body costs botocore a chunked checksum read.
            with open(path, "rb") as src:
                data = src.read()
            with _errors(f"upload {path}", self.url):
                self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data,
                                       Metadata=metadata, **self.write_args)
            if progress:
                progress(len(data))
            return
        with _errors(f"upload {path}", self.url):
            self.client.upload_file(str(path), self.bucket, self.prefix + key,
                                    ExtraArgs={"Metadata": metadata, **self.write_args},
                                    Config=self.transfer,
                                    Callback=progress)

    def put_bytes(self, key, data, metadata=None):
        with _errors("put", self.url):
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data,
                                   Metadata=metadata or {}, **self.write_args)

    def get_file(self, key, dest, progress=None, size=None):
        if size is not None and size < self.transfer.multipart_threshold:
            # One GET: download_file would first HEAD the object for its size.
            with _errors(f"download {key}", self.url):
                body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key,
                                              **self.read_args)["Body"]
                with body, open(dest, "wb") as out:
                    for chunk in body.iter_chunks(CHUNK):
                        out.write(chunk)
                        if progress:
                            progress(len(chunk))
            return
        with _errors(f"download {key}", self.url):
            self.client.download_file(self.bucket, self.prefix + key, str(dest),
                                      ExtraArgs=self.read_args or None, Config=self.transfer,
                                      Callback=progress)

    def open(self, key):
        with _errors(f"open {key}", self.url):
            return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key,
                                          **self.read_args)["Body"]

    def list(self, prefix, start_after=None, stop=None):
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix, **self.read_args}
        if start_after:
            # S3 compares whole keys, but SeaweedFS skips every key under a folder whose
            # name is StartAfter: start one character earlier (before any such folder's
            # keys) and drop what is not after start_after below.
            ahead = start_after[:-1] if start_after[-1] > "/" else start_after
            args["StartAfter"] = self.prefix + ahead
        if start_after and stop:
            # Every key between the two starts with their common prefix: asking for only
            # that keeps a narrow query's page from filling up with the keys after `stop`.
            narrow = os.path.commonprefix([self.prefix + start_after, self.prefix + stop])
            if narrow.startswith(args["Prefix"]):
                args["Prefix"] = narrow
        cut = len(self.prefix)
        while True:
            with _errors("list", self.url):
                page = self.client.list_objects_v2(**args)
            for obj in page.get("Contents", []):
                key = obj["Key"][cut:]
                if stop is not None and key >= stop:
                    return
                if start_after is None or key > start_after:
                    yield Entry(key, obj["Size"])
            if not page.get("IsTruncated"):
                return
            args["ContinuationToken"] = page["NextContinuationToken"]

    def list_dirs(self, prefix):
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix, "Delimiter": "/",
                                **self.read_args}
        names = []
        cut = len(self.prefix + prefix)
        while True:
            with _errors("list", self.url):
                page = self.client.list_objects_v2(**args)
            names += [p["Prefix"][cut:].rstrip("/") for p in page.get("CommonPrefixes", [])]
            if not page.get("IsTruncated"):
                return names
            args["ContinuationToken"] = page["NextContinuationToken"]

    def head(self, key):
        try:
            with _errors("head", self.url):
                obj = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key,
                                              **self.read_args)
        except NotFound:
            return None
        return Entry(key, obj["ContentLength"], obj.get("Metadata", {}))

    def delete(self, key):
        with _errors("delete", self.url):
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key, **self.read_args)

    def url_for(self, key):
        return f"s3://{self.bucket}/{self.prefix}{key}"
