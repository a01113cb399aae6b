"""Google Cloud Storage as a Store, through Google's own client (``google-cloud-storage``,
``pip install 'datalake_nb[gcs]'``), which speaks GCS's JSON API.

Why not obstore, as for Azure: object_store speaks GCS's XML API (PUT /bucket/key, XML
multipart uploads, ``list-type=2`` listings), which neither emulator on PyPI serves:
gcp-storage-emulator answers 501 to its listings, HEADs and multipart uploads and sends no
ETag, and fake-gcs-server has no XML object PUT (fsouza/fake-gcs-server#331).  The JSON
API is served by fake-gcs-server with its preconditions and offset listings, so the
contract is tested there.

``gs://bucket/prefix``.  Credentials: Application Default Credentials
(GOOGLE_APPLICATION_CREDENTIALS, gcloud's, the metadata server on Google Cloud);
DATALAKE_GCS_ENDPOINT_URL points at an emulator, which then gets no credentials.
Create-only writes are ``ifGenerationMatch=0``; a large file goes up as a resumable
upload (PART bytes a request) with the same precondition.  fake-gcs-server honours it
only on single-request uploads (not on resumable ones, copies or composes), so a large
file is also not sent when its key is already there: data keys hold the file's hash, so
two racing pushes of one large key send the same bytes anyway.  GCS lists no unfinished
resumable uploads (they expire after a week): ``check`` has no leftovers to report here.
"""
from __future__ import annotations

import contextlib
import re
import urllib.parse
from typing import Any, BinaryIO, Iterator

from ..config import Config, default_whole
from ..core.errors import DatalakeError, IntegrityError, InvalidInput, NotFound, Refused
from ..core.redact import redact_url, scrub
from .base import CHUNK, Entry, Progress, Store
from .blob import PART, TIMEOUT_ATTEMPTS, default_seconds

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
PREFIX_MAX = 300


def parse_gcs_url(url: str) -> tuple[str, str]:
    parsed = urllib.parse.urlparse(url)
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    if not BUCKET_RE.match(bucket):
        raise InvalidInput("storage URL", f"{redact_url(url)!r}: {bucket!r} is not a valid "
                                          "bucket name (3-63 lowercase letters, digits, '.', "
                                          "'_' and '-')")
    if "//" in parsed.path or len(prefix.encode()) > PREFIX_MAX or parsed.query \
            or parsed.fragment or any(part in (".", "..") for part in prefix.split("/")):
        raise InvalidInput("storage URL", f"{url!r}: the prefix must be a plain path of at most "
                                          f"{PREFIX_MAX} bytes")
    return bucket, prefix + "/" if prefix else ""


class GCSStore(Store):
    @classmethod
    def from_config(cls, url: str, config: Config) -> "GCSStore":
        return cls(url, endpoint_url=config["DATALAKE_GCS_ENDPOINT_URL"],
                   credentials_file=config["GOOGLE_APPLICATION_CREDENTIALS"],
                   part_concurrency=config.whole("DATALAKE_PART_CONCURRENCY"),
                   connect_timeout=config.seconds("DATALAKE_S3_CONNECT_TIMEOUT"),
                   read_timeout=config.seconds("DATALAKE_S3_READ_TIMEOUT"))

    def __init__(self, url: str, *, endpoint_url: str | None = None,
                 credentials_file: str | None = None,
                 part_concurrency: int = default_whole("DATALAKE_PART_CONCURRENCY"),
                 connect_timeout: float | None = None, read_timeout: float | None = None):
        self.bucket_name, self.prefix = parse_gcs_url(url)
        self.url = f"gs://{self.bucket_name}/{self.prefix}"
        self.endpoint = redact_url(endpoint_url or "https://storage.googleapis.com")
        try:
            from google.api_core import exceptions, retry
            from google.cloud import storage
        except ImportError:
            raise DatalakeError(f"{url} needs Google's client: pip install "
                                "'datalake_nb[gcs]'") from None
        self._gerr = exceptions
        connect = default_seconds("DATALAKE_S3_CONNECT_TIMEOUT") if connect_timeout is None else connect_timeout
        read = default_seconds("DATALAKE_S3_READ_TIMEOUT") if read_timeout is None else read_timeout
        self.timeout = (connect, read)
        # Tries stop after about TIMEOUT_ATTEMPTS silent ones, as on S3.
        self.retry = retry.Retry(initial=0.1, maximum=5.0, multiplier=2.0,
                                 timeout=(TIMEOUT_ATTEMPTS - 1) * (connect + read))
        self.part_concurrency = part_concurrency
        with self._errors("connect"):
            if endpoint_url:
                from google.auth.credentials import AnonymousCredentials
                self.client = storage.Client(project="datalake", credentials=AnonymousCredentials(),
                                             client_options={"api_endpoint": endpoint_url.rstrip("/")})
            elif credentials_file:
                self.client = storage.Client.from_service_account_json(credentials_file)
            else:
                self.client = storage.Client()
        self.bucket = self.client.bucket(self.bucket_name)

    # -- errors ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, what: str, missing_ok: bool = False) -> Iterator[None]:
        import requests
        try:
            yield
        except (DatalakeError, KeyboardInterrupt):
            raise
        except self._gerr.RetryError as exc:
            raise self._explain(what, exc.cause or exc, tries=True) from None
        except self._gerr.NotFound as exc:
            if missing_ok and "bucket" not in str(exc).lower():
                raise NotFound(f"{what}: no such object in {self.url}") from None
            raise self._explain(what, exc) from None
        except (self._gerr.GoogleAPIError, requests.RequestException, OSError) as exc:
            raise self._explain(what, exc) from None
        except Exception as exc:  # google.auth's: no credentials, a bad key file
            if type(exc).__module__.startswith("google.auth"):
                raise Refused(f"{what}: no usable Google credentials for {self.url} "
                              f"({type(exc).__name__}); set GOOGLE_APPLICATION_CREDENTIALS to "
                              "a service account key file, or run on Google Cloud") from None
            raise

    def _explain(self, what: str, exc: BaseException, tries: bool = False) -> DatalakeError:
        import requests
        count = f" ({TIMEOUT_ATTEMPTS} tries)" if tries else ""
        if isinstance(exc, requests.Timeout):
            return DatalakeError(f"{what}: the GCS endpoint {self.endpoint} did not answer in "
                                 f"time{count}; check DATALAKE_GCS_ENDPOINT_URL, or raise "
                                 "DATALAKE_S3_CONNECT_TIMEOUT / DATALAKE_S3_READ_TIMEOUT")
        if isinstance(exc, requests.ConnectionError):
            return Refused(f"{what}: cannot reach the GCS endpoint {self.endpoint}{count}; "
                           "check DATALAKE_GCS_ENDPOINT_URL")
        if isinstance(exc, self._gerr.NotFound):
            return Refused(f"{what}: the bucket of {self.url} does not exist; create it, or "
                           "check the URL")
        if isinstance(exc, (self._gerr.Forbidden, self._gerr.Unauthorized)):
            return Refused(f"{what}: access denied to {self.url}; check "
                           "GOOGLE_APPLICATION_CREDENTIALS and the bucket's IAM roles")
        code = getattr(exc, "code", None)
        message = scrub(str(getattr(exc, "message", "") or exc).splitlines()[0])[:200]
        kind = Refused if isinstance(code, int) and 400 <= code < 500 else DatalakeError
        return kind(f"{what}: GCS error {code or type(exc).__name__} on {self.url}: {message}")

    # -- writes ------------------------------------------------------------------------

    def put_bytes(self, key, data, metadata=None, *, if_absent=False):
        blob = self.bucket.blob(self.prefix + key)
        blob.metadata = dict(metadata) if metadata else None
        with self._errors("put"):
            try:
                blob.upload_from_string(bytes(data), if_generation_match=0 if if_absent else None,
                                        timeout=self.timeout, retry=self.retry)
            except self._gerr.PreconditionFailed:
                return False
        return True

    def put_file(self, key, source, metadata, progress=None, *, size=None, if_absent=False):
        if not hasattr(source, "read"):
            with open(source, "rb") as src:
                import os
                return self.put_file(key, src, metadata, progress,
                                     size=os.fstat(src.fileno()).st_size, if_absent=if_absent)
        if size is not None and size < PART:
            return self.put_bytes(key, b"".join(_chunks(source, progress)), metadata,
                                  if_absent=if_absent)
        if if_absent and self.head(key) is not None:
            return False  # (the precondition below is the guarantee; this saves the upload)
        blob = self.bucket.blob(self.prefix + key, chunk_size=PART)
        blob.metadata = dict(metadata) if metadata else None
        with self._errors("upload"):
            try:
                blob.upload_from_file(_Counting(source, progress), size=size,
                                      if_generation_match=0 if if_absent else None,
                                      timeout=self.timeout, retry=self.retry)
            except self._gerr.PreconditionFailed:
                return False
        return True

    # -- reads -------------------------------------------------------------------------

    def get_file(self, key, sink, progress=None, size=None):
        what = f"download {key}"
        with self._errors(what, missing_ok=True):
            blob = self.bucket.get_blob(self.prefix + key, timeout=self.timeout, retry=self.retry)
            if blob is None:
                raise NotFound(f"{what}: no such object in {self.url}")
            if size is not None and blob.size != size:
                raise IntegrityError(f"{what}: {self.url}{key} holds {blob.size} bytes, its "
                                     f"record says {size}; nothing was written")
            blob.download_to_file(_SinkWriter(sink, progress), if_generation_match=blob.generation,
                                  timeout=self.timeout, retry=self.retry)

    def open(self, key) -> BinaryIO:
        what = f"open {key}"
        with self._errors(what, missing_ok=True):
            blob = self.bucket.get_blob(self.prefix + key, timeout=self.timeout, retry=self.retry)
            if blob is None:
                raise NotFound(f"{what}: no such object in {self.url}")
            return blob.open("rb", chunk_size=PART, timeout=self.timeout, retry=self.retry)

    def list(self, prefix, start_after=None, stop=None) -> Iterator[Entry]:
        cut = len(self.prefix)
        with self._errors("list"):
            found = self.client.list_blobs(
                self.bucket_name, prefix=self.prefix + prefix,
                start_offset=self.prefix + start_after if start_after else None,
                end_offset=self.prefix + stop if stop else None, page_size=1000,
                timeout=self.timeout, retry=self.retry)
            for blob in found:
                key = blob.name[cut:]
                if stop is not None and key >= stop:
                    return  # an emulator that ignores end_offset
                if start_after is None or key > start_after:
                    yield Entry(key, blob.size, modified=_ms(blob.updated))

    def list_dirs(self, prefix):
        cut = len(self.prefix + prefix)
        with self._errors("list"):
            found = self.client.list_blobs(self.bucket_name, prefix=self.prefix + prefix,
                                           delimiter="/", timeout=self.timeout, retry=self.retry)
            for _ in found:
                pass
            return sorted(p[cut:].rstrip("/") for p in found.prefixes)

    def head(self, key):
        with self._errors("head"):
            blob = self.bucket.get_blob(self.prefix + key, timeout=self.timeout, retry=self.retry)
        if blob is None:
            return None
        return Entry(key, blob.size, dict(blob.metadata or {}), modified=_ms(blob.updated))

    def exists(self):
        with self._errors("list"):
            return any(True for _ in self.client.list_blobs(
                self.bucket_name, prefix=self.prefix, max_results=1, timeout=self.timeout,
                retry=self.retry))

    def delete(self, key):
        with contextlib.suppress(NotFound), self._errors("delete", missing_ok=True):
            self.bucket.blob(self.prefix + key).delete(timeout=self.timeout, retry=self.retry)

    def url_for(self, key):
        return self.url + key


class _Counting:
    """A source whose reads tell ``progress`` (which may raise to abandon the upload)."""

    def __init__(self, source: BinaryIO, progress: Progress | None):
        self.source, self.progress, self.position = source, progress, 0

    def read(self, size: int = -1) -> bytes:
        data = b"".join(_chunks(self.source, None, size)) if size and size > 0 else self.source.read()
        self.position += len(data)
        if self.progress and data:
            self.progress(len(data))
        return data

    def tell(self) -> int:  # where each chunk of a resumable upload starts
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        """Only to where it is: the source is read once, in order (a hashing stream)."""
        if (whence, offset) not in ((0, self.position), (1, 0)):
            raise DatalakeError("upload: the service asked to resend bytes already sent; "
                                "push the file again")
        return self.position


class _SinkWriter:
    """A file-like ``write`` in order into the sink's ``write_at``."""

    def __init__(self, sink: Any, progress: Progress | None):
        self.sink, self.progress, self.offset = sink, progress, 0

    def write(self, data: bytes) -> int:
        data = bytes(data)
        self.sink.write_at(self.offset, data)
        self.offset += len(data)
        if self.progress:
            self.progress(len(data))
        return len(data)


def _chunks(src: BinaryIO, progress: Progress | None, size: int | None = None) -> Iterator[bytes]:
    """The source's bytes in order (``size`` of them at most), CHUNK at a time."""
    left = size
    while left is None or left > 0:
        chunk = src.read(CHUNK if left is None else min(CHUNK, left))
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        if progress:
            progress(len(chunk))
        yield chunk


def _ms(when: Any) -> int | None:
    return int(when.timestamp() * 1000) if when is not None else None
