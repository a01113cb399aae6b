"""S3 (and S3-compatible servers) as a Store, through boto3's standard chain.

Credentials, profile and region come from boto3 as usual; ``endpoint_url``
(or AWS_ENDPOINT_URL) points at another S3-compatible server.  Nothing is
ever written outside the URL's prefix.

botocore is imported and its client made on first use: listings and small files go
through obstore (stores/s3_fast.py), so a ``datalake list`` or ``fetch`` given its keys
starts ~0.2 s sooner (bench/PROFILE.md).
"""
from __future__ import annotations

import concurrent.futures
import configparser
import contextlib
import datetime
import io
import logging
import mmap
import os
import re
import threading
import urllib.parse
from typing import Any, Iterator

import botocore.exceptions

from ..config import Config, default_whole, duration_seconds
from ..core.errors import DatalakeError, IntegrityError, InvalidInput, NotFound, Refused
from ..core.redact import password_of, redact_url, remember, safe_cause, scrub
from . import s3_fast as fast
from .base import CHUNK, Entry, Leftover, Progress, Sink, Store

log = logging.getLogger(__name__)

PART = 16 << 20  # multipart part size; smaller files go as one PUT
DOWNLOAD_PART = 8 << 20  # bytes per ranged GET of a large download
PART_ATTEMPTS = 3  # tries of a ranged GET whose body broke off (each resumes where it stopped)
STOP_CHECK_S = 0.2  # how often a large download asks ``progress(0)`` whether to stop
# The body of an answer broke off mid-way (a reset connection, fewer bytes than announced);
# a silent server (ReadTimeoutError) is not tried again: timeouts stay bounded.
_BROKEN_BODY = (botocore.exceptions.ResponseStreamingError, botocore.exceptions.IncompleteReadError)

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PREFIX_MAX = 300  # leaves room for the longest key the lake writes (S3 allows 1024)
TIMEOUT_ATTEMPTS = 2  # tries of a request that timed out or found no server (see _bound_timeout_retries)
CONNECT_TIMEOUT = 5.0  # seconds; defaults of DATALAKE_S3_CONNECT_TIMEOUT / _READ_TIMEOUT
READ_TIMEOUT = 5.0


def parse_s3_url(url: str) -> tuple[str, str]:
    parsed = urllib.parse.urlparse(url)
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    if not BUCKET_RE.match(bucket):
        shown = redact_url(url)  # a user:password@ is no bucket name, and no echo either
        raise InvalidInput("storage URL", f"{shown!r}: {urllib.parse.urlparse(shown).netloc!r} is "
                                          "not a valid bucket name (3-63 lowercase letters, "
                                          "digits, '.' and '-')")
    if "//" in parsed.path or len(prefix.encode()) > PREFIX_MAX or parsed.query or parsed.fragment:
        raise InvalidInput("storage URL", f"{url!r}: the prefix must be a plain path of at most "
                                          f"{PREFIX_MAX} bytes")
    if any(part in (".", "..") for part in prefix.split("/")):
        # S3 keys are not paths: on AWS and moto 'a/../logs' is another lake than 'logs',
        # and SeaweedFS refuses every write under it.
        raise InvalidInput("storage URL", f"{url!r}: the prefix may not have '.' or '..' "
                                          "segments; write the plain path (s3://bucket/logs)")
    return bucket, prefix + "/" if prefix else ""


def _check_endpoint(endpoint_url: str | None) -> None:
    """An endpoint must be http(s)://host[:port][/path]: botocore and obstore fail on
    anything else with a traceback (obstore's is a Rust panic)."""
    if not endpoint_url:
        return
    parts = urllib.parse.urlsplit(endpoint_url)
    try:
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) \
            and not parts.query and not parts.fragment and parts.port != 0
    except ValueError:  # a port that is no number
        valid = False
    if not valid:
        raise InvalidInput("AWS_ENDPOINT_URL", f"{redact_url(endpoint_url)!r}: allowed: http:// "
                                               "or https://, a host and an optional port, e.g. "
                                               "http://127.0.0.1:8333")


class _Exists(Exception):
    """A conditional write found the key there already."""


class _Conflict(Exception):
    """A conditional write met another one of the same key in flight (S3's 409)."""


@contextlib.contextmanager
def _errors(what: str, url: str, created: bool = False,
            endpoint: str | None = None) -> Iterator[None]:
    """The one place boto3/botocore errors become ours: one clear line (never with
    credentials, nor the endpoint's password) that keeps boto's exception as its
    ``__cause__`` for debugging, unless its text shows a secret.  With ``created``, a
    failed If-None-Match condition is _Exists (and a 409 _Conflict).  ``endpoint`` is given
    for requests on the bucket (a listing): a bare 404 to one, not S3's NoSuchBucket,
    means no such bucket there, or a server that is no S3 server at all (a web server)."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        code = err.get("Code", "?")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        if created and code in ("PreconditionFailed", "412"):
            raise _Exists() from None
        if created and code in ("ConditionalRequestConflict", "409"):
            raise _Conflict() from None
        if endpoint is not None and status == 404 and code in ("", "?", "404", "NotFound"):
            bucket = url.removeprefix("s3://").partition("/")[0]
            raise Refused(f"{what}: no bucket {bucket!r} at {endpoint}, or not an S3 server"
                          ) from safe_cause(exc)
        if code in ("NoSuchKey", "404", "NotFound", "NoSuchUpload"):
            raise NotFound(f"{what}: no such object in {url}") from safe_cause(exc)
        if code == "NoSuchBucket":
            raise Refused(f"{what}: the bucket of {url} does not exist") from safe_cause(exc)
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise Refused(f"{what}: access denied to {url} ({code}); check the AWS "
                          "credentials and the bucket policy") from safe_cause(exc)
        message = scrub(str(err.get("Message") or "")).strip()
        kind = Refused if isinstance(status, int) and 400 <= status < 500 else DatalakeError
        raise kind(f"{what}: S3 error {code or f'HTTP {status}'} on {url}"
                   + (f": {message}" if message else "")) from safe_cause(exc)
    except botocore.exceptions.NoCredentialsError as exc:
        raise Refused(f"{what}: no AWS credentials found for {url}; set AWS_PROFILE or "
                            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from safe_cause(exc)
    except (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError) as exc:
        phase = "answer" if isinstance(exc, botocore.exceptions.ReadTimeoutError) else "accept a connection"
        raise DatalakeError(f"{what}: the S3 endpoint {_endpoint_of(exc)} did not {phase} in time "
                            f"({TIMEOUT_ATTEMPTS} tries); check AWS_ENDPOINT_URL, or raise "
                            "DATALAKE_S3_CONNECT_TIMEOUT / DATALAKE_S3_READ_TIMEOUT"
                            ) from safe_cause(exc)
    except botocore.exceptions.EndpointConnectionError as exc:
        raise Refused(f"{what}: cannot reach the S3 endpoint {_endpoint_of(exc)} "
                            f"({TIMEOUT_ATTEMPTS} tries); check AWS_ENDPOINT_URL"
                            ) from safe_cause(exc)
    except botocore.exceptions.ConnectionClosedError as exc:
        raise DatalakeError(f"{what}: the S3 endpoint {_endpoint_of(exc)} closed the connection "
                            f"before answering; {fast.CLOSED_HELP}") from safe_cause(exc)
    except botocore.exceptions.BotoCoreError as exc:
        raise DatalakeError(f"{what}: {scrub(str(exc))}") from safe_cause(exc)


SYSTEM_CA_BUNDLES = {os.path.realpath(p) for p in (  # Debian/Ubuntu, Fedora/RHEL, SUSE, Alpine
    "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem")}


def _botocore_only(profile: str | None, endpoint_url: str | None) -> bool:
    """Does the AWS configuration ask for what only botocore follows: a CA bundle of its
    own for a TLS endpoint, or an endpoint of its own (AWS_ENDPOINT_URL_S3, or one in the
    profile's ~/.aws/config)?  Then boto3 does all the work.  (The system's own bundle,
    which some images name in AWS_CA_BUNDLE, is the roots obstore trusts anyway.)"""
    bundle = os.environ.get("AWS_CA_BUNDLE")
    tls = not (endpoint_url or "").startswith("http://")
    if (tls and bundle and os.path.realpath(bundle) not in SYSTEM_CA_BUNDLES) \
            or (not endpoint_url and os.environ.get("AWS_ENDPOINT_URL_S3")):
        return True
    path = os.path.expanduser(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config")
    if not os.path.isfile(path):
        return False
    parser = configparser.ConfigParser(interpolation=None)
    with contextlib.suppress(configparser.Error, OSError, UnicodeError):
        parser.read(path)
    name = profile or os.environ.get("AWS_PROFILE") or "default"
    sections = [f"profile {name}"] + (["default"] if name == "default" else [])
    asked = {"ca_bundle", "services"} | (set() if endpoint_url else {"endpoint_url"})
    return any(asked & set(parser.options(section))
               for section in sections if parser.has_section(section))


def _seconds(value: float | str | None, default: float) -> float:
    if value is None or value == "":
        return default
    return duration_seconds("timeout", value) if isinstance(value, str) else float(value)


def _parse_timestamp(value: Any) -> datetime.datetime:
    """botocore's timestamp parser for responses, fast for S3's ISO 8601 form: botocore's
    own (dateutil) costs ~120 us per key, which was most of a 1,000-key listing's CPU.
    The other forms (HTTP dates of HEAD answers, epoch numbers) go to botocore's."""
    if isinstance(value, str) and value.endswith("Z"):
        with contextlib.suppress(ValueError):
            return datetime.datetime.fromisoformat(value[:-1]).replace(tzinfo=datetime.timezone.utc)
    import botocore.utils
    return botocore.utils.parse_timestamp(value)


def _endpoint_of(exc: botocore.exceptions.BotoCoreError) -> str:
    """scheme://host[:port] of the request that failed: the endpoint, without the bucket
    path and the query (``?list-type=2&prefix=...``) that would only confuse."""
    parts = urllib.parse.urlsplit(str(exc.kwargs.get("endpoint_url") or ""))
    return redact_url(f"{parts.scheme}://{parts.netloc}") if parts.netloc else "(unknown)"


def _bound_timeout_retries(caught_exception: BaseException | None = None,
                           request_dict: dict[str, Any] | None = None, **kwargs: Any) -> bool | None:
    """A ``needs-retry`` hook (registered first): a request that timed out or could not
    connect (refused, no such host) is tried at most TIMEOUT_ATTEMPTS times, so a silent
    or absent endpoint fails within about TIMEOUT_ATTEMPTS x the timeout instead of 9 x it
    plus up to 20 s of backoff between tries (a refused port took 61 s).  Other errors
    (throttling, 5xx, a connection reset mid-answer) keep boto3's full retry count.
    Returning False stops the retry; None lets boto3 decide."""
    if not isinstance(caught_exception, (botocore.exceptions.ReadTimeoutError,
                                         botocore.exceptions.ConnectionError)):
        return None
    context = (request_dict or {}).setdefault("context", {})
    context["datalake_timeouts"] = context.get("datalake_timeouts", 0) + 1
    return False if context["datalake_timeouts"] >= TIMEOUT_ATTEMPTS else None


class S3Stream(io.RawIOBase):
    """An object's body as a stream that behaves like a local file: reading it after
    ``close()`` raises ValueError (botocore raises IncompleteReadError), and a
    connection that breaks or goes silent mid-read is one DatalakeError line."""

    def __init__(self, body: Any, what: str, url: str):
        super().__init__()
        self._body, self._what, self._url = body, what, url

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        with _errors(self._what, self._url):
            return self._body.read(None if size is None or size < 0 else size)

    def readall(self) -> bytes:
        return self.read()

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


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


def _read_part(source: Any, size: int) -> mmap.mmap | None:
    """Up to ``size`` bytes of ``source`` (None at its end) in memory of their own: an
    anonymous mmap, which botocore reads like a file as it sends, and whose ``close()``
    gives the memory back to the system at once.  With parts as bytes, the allocator kept
    freed ones for each thread's later use: 96 x 20 MiB files peaked at 420-540 MiB
    resident, 240 MiB in mmaps (8 slots: 128 MiB)."""
    body = mmap.mmap(-1, size)
    try:
        got = _fill(body, source)
    except BaseException:
        body.close()
        raise
    if got == size:
        return body
    with body:  # the source ended early (rare): what it gave, in a mapping of that size
        if not got:
            return None
        short = mmap.mmap(-1, got)
        short[:] = body[:got]
        return short


def _fill(buffer: Any, source: Any) -> int:
    """Bytes read from ``source`` into ``buffer`` until it is full or the source ends."""
    got = 0
    with memoryview(buffer) as view:
        while got < len(view):
            with view[got:] as rest:
                n = source.readinto(rest)
            if not n:
                break
            got += n
    return got


class PartSlots:
    """A store's part slots: ``count`` x PART bytes that every transfer in flight shares,
    so the file bytes a push holds in memory stay within them.  A part of a large upload
    or download takes a whole slot (PART bytes: the size of an upload's part, read only
    once it holds one); a small file read whole takes its own size (``read_whole``).
    Waiters are not served in order: a slot freed may go to any of them."""

    def __init__(self, count: int):
        self.capacity = count * PART
        self.free = self.capacity  # bytes not held (read it under no lock: a snapshot)
        self._cond = threading.Condition()

    def acquire(self, timeout: float | None = None, size: int = PART) -> bool:
        """Take ``size`` bytes (at most the capacity) once they are free; False if
        ``timeout`` seconds passed first."""
        size = min(size, self.capacity)
        with self._cond:
            if not self._cond.wait_for(lambda: self.free >= size, timeout):
                return False
            self.free -= size
            return True

    def release(self, size: int = PART) -> None:
        with self._cond:
            self.free += min(size, self.capacity)
            self._cond.notify_all()


class _RangedDownload:
    """One large object fetched as parallel ranged GETs (``store.download_part`` bytes
    each, taken in order; each holds one of the store's part slots, shared with every
    other large transfer, while it downloads) into a sink that
    hashes them in order as they arrive.  Memory stays bounded: each part is read and
    written in CHUNK pieces, and the sink makes a part that runs too far ahead wait.

    Every answer must name the object's expected size and the same ETag as the others:
    an object shorter or longer than the record says is an IntegrityError, one replaced
    between two parts an error, never a silently mixed file.  The first error (or a
    ``progress`` that raises: an interrupt) stops every part at its next piece, and the
    caller does not wait for parts stuck in a read."""

    def __init__(self, store: "S3Store", key: str, sink: Sink, progress: Progress | None,
                 size: int):
        self.store, self.key, self.sink, self.progress, self.size = store, key, sink, progress, size
        self.what = f"download {key}"
        part = store.download_part
        self.parts = iter([(start, min(start + part, size)) for start in range(0, size, part)])
        self.workers = max(1, min(store.part_concurrency, -(-size // part)))
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.etag: str | None = None

    def run(self) -> None:
        pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="datalake-get")
        try:
            pending: Any = [pool.submit(self._worker) for _ in range(self.workers)]
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, STOP_CHECK_S, return_when=concurrent.futures.FIRST_EXCEPTION)
                for future in done:
                    future.result()  # the first error stops the rest (finally)
                if self.progress:
                    self.progress(0)  # raises once interrupted, even if every part is stuck
        finally:
            self.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)

    def _worker(self) -> None:
        with _errors(self.what, self.store.url):
            while not self.stop.is_set():
                if not self.store.part_slots.acquire(timeout=STOP_CHECK_S):
                    continue  # every slot is taken (other files' parts too): look at stop again
                try:
                    with self.lock:
                        part = next(self.parts, None)
                    if part is None:
                        return
                    self._part(*part)
                finally:
                    self.store.part_slots.release()

    def _part(self, start: int, end: int) -> None:
        """Bytes start..end-1 into the sink as they arrive; a body that breaks off is asked
        again from where it stopped (PART_ATTEMPTS in all)."""
        at = start
        for attempt in range(1, PART_ATTEMPTS + 1):
            body = self._get(at, end)
            try:
                with body:
                    for chunk in body.iter_chunks(CHUNK):
                        if self.stop.is_set():
                            return
                        if at + len(chunk) > end:
                            raise DatalakeError(f"{self.what}: the server sent more than the "
                                                f"bytes {start}-{end - 1} asked for")
                        self.sink.write_at(at, chunk)
                        at += len(chunk)
                        if self.progress:
                            self.progress(len(chunk))
            except _BROKEN_BODY:
                if attempt == PART_ATTEMPTS:
                    raise
                continue
            if at == end:
                return
            raise IntegrityError(f"{self.what}: {self.store.url}{self.key} ended after {at} "
                                 f"bytes, {self.size} were expected; nothing was written")

    def _get(self, start: int, end: int) -> Any:
        """The answer's body of one ranged GET, after checking its size and ETag."""
        try:
            answer = self.store.client.get_object(
                Bucket=self.store.bucket, Key=self.store.prefix + self.key,
                Range=f"bytes={start}-{end - 1}", **self.store.read_args)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":  # starts past its end
                raise self._size_error("fewer than " + str(start + 1)) from None
            raise
        total = str(answer.get("ContentRange", "")).rpartition("/")[2]
        if total != str(self.size):
            answer["Body"].close()
            raise self._size_error(total or "?")
        with self.lock:
            if self.etag is None:
                self.etag = answer.get("ETag")
            changed = answer.get("ETag") != self.etag
        if changed:
            answer["Body"].close()
            raise DatalakeError(f"{self.what}: {self.store.url}{self.key} changed while it was "
                                f"downloaded (ETag {self.etag} then {answer.get('ETag')}); "
                                "nothing was written")
        return answer["Body"]

    def _size_error(self, found: str) -> IntegrityError:
        return IntegrityError(f"{self.what}: {self.store.url}{self.key} holds {found} bytes, "
                              f"its record says {self.size}; nothing was written")


class S3Store(Store):
    @classmethod
    def from_config(cls, url: str, config: Config) -> "S3Store":
        """The store for ``url`` with the S3 settings of a resolved configuration."""
        return cls(url, endpoint_url=config["AWS_ENDPOINT_URL"], region=config["AWS_DEFAULT_REGION"],
                   profile=config["AWS_PROFILE"], concurrency=config.whole("DATALAKE_CONCURRENCY"),
                   part_concurrency=config.whole("DATALAKE_PART_CONCURRENCY"),
                   retry_mode=config.value("DATALAKE_S3_RETRY_MODE"),
                   access_key=config["AWS_ACCESS_KEY_ID"], secret_key=config["AWS_SECRET_ACCESS_KEY"],
                   sse=config["DATALAKE_S3_SSE"], sse_kms_key_id=config["DATALAKE_S3_SSE_KMS_KEY_ID"],
                   expected_bucket_owner=config["DATALAKE_S3_EXPECTED_BUCKET_OWNER"],
                   connect_timeout=config["DATALAKE_S3_CONNECT_TIMEOUT"],
                   read_timeout=config["DATALAKE_S3_READ_TIMEOUT"],
                   data_plane=config.value("DATALAKE_S3_DATA_PLANE"))

    def __init__(self, url: str, endpoint_url: str | None = None, region: str | None = None,
                 profile: str | None = None,
                 concurrency: int = default_whole("DATALAKE_CONCURRENCY"),
                 part_concurrency: int = default_whole("DATALAKE_PART_CONCURRENCY"),
                 retry_mode: str = "standard",
                 max_attempts: int = 8, access_key: str | None = None, secret_key: str | None = None,
                 sse: str | None = None, sse_kms_key_id: str | None = None,
                 expected_bucket_owner: str | None = None,
                 connect_timeout: float | str | None = None, read_timeout: float | str | None = None,
                 data_plane: str = "auto", download_part: int = DOWNLOAD_PART):
        self.bucket, self.prefix = parse_s3_url(url)
        remember(password_of(endpoint_url or ""), secret_key)  # masked in every error text
        _check_endpoint(endpoint_url)
        self.download_part = download_part
        self.url = f"s3://{self.bucket}/{self.prefix}"
        # Sent with every request: reads name the owner, writes also ask for encryption.
        self.read_args = {"ExpectedBucketOwner": expected_bucket_owner} if expected_bucket_owner else {}
        self.write_args = {**self.read_args, **({"ServerSideEncryption": sse} if sse else {}),
                           **({"SSEKMSKeyId": sse_kms_key_id} if sse_kms_key_id else {})}
        self._endpoint_url, self._region, self._profile = endpoint_url or None, region, profile
        # Keys given (a file or the environment) are used as they are, with the environment's
        # session token when they are the environment's keys (temporary credentials).
        self._keys = (access_key or None, secret_key or None,
                      os.environ.get("AWS_SESSION_TOKEN") or None
                      if access_key and access_key == os.environ.get("AWS_ACCESS_KEY_ID") else None)
        remember(self._keys[2])
        # The timeouts bound each connect and each socket read (not a whole transfer: a big
        # upload or download goes on as long as bytes flow).
        self._timeouts = (_seconds(connect_timeout, CONNECT_TIMEOUT),
                          _seconds(read_timeout, READ_TIMEOUT))
        self._retries = {"mode": retry_mode, "max_attempts": max_attempts}
        self._session: Any = None
        self._client: Any = None
        # botocore's session is not thread-safe: every use of it holds _session_lock.
        self._session_lock, self._client_lock = threading.RLock(), threading.Lock()
        self._fast_args = None if data_plane == "boto3" or expected_bucket_owner or not fast.available() \
            or _botocore_only(profile, endpoint_url) \
            else dict(endpoint_url=endpoint_url or None, sse=sse, sse_kms_key_id=sse_kms_key_id,
                      connect_timeout=self._timeouts[0], read_timeout=self._timeouts[1],
                      attempts=max_attempts + 1,  # botocore's total_max_attempts
                      transport_attempts=TIMEOUT_ATTEMPTS)
        self._fast_plane: fast.FastPlane | None = None
        self._fast_lock = threading.Lock()
        self._abandoned: set[str] = set()  # multipart uploads this store aborted
        self.concurrency = concurrency  # files in flight (the Lake's pool; sizes the connection pool)
        # Parts of large transfers in flight, across every file this store moves at once:
        # a push holds each part (PART bytes) and each small file it reads whole in memory,
        # and both take their bytes from these slots, so they bound that memory.
        self.part_concurrency = part_concurrency
        self.part_slots = PartSlots(part_concurrency)

    @property
    def endpoint(self) -> str:
        """The endpoint for error lines, without a password."""
        if self._client is not None:
            return redact_url(self._client.meta.endpoint_url)
        return redact_url(self._endpoint_url
                          or f"https://s3.{self._region or 'us-east-1'}.amazonaws.com")

    def _botocore_session(self) -> Any:
        """botocore's session as boto3's Session would set it up (the same credential chain,
        profile and region), without importing boto3 and s3transfer: every call here is a
        plain S3 operation."""
        with self._session_lock:
            if self._session is None:
                self._session = self._new_botocore_session()
        return self._session

    def _new_botocore_session(self) -> Any:
        import botocore.session
        core = botocore.session.get_session()
        core.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=_parse_timestamp)
        if self._profile:
            core.set_config_variable("profile", self._profile)
        if self._region:
            core.set_config_variable("region", self._region)
        if self._keys[0] or self._keys[1]:
            core.set_credentials(*self._keys)
        return core

    @property
    def client(self) -> Any:
        """botocore's S3 client, made on first use (HEAD, DELETE, multipart, a listing
        obstore cannot ask for): its models cost a command ~0.1 s."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        import botocore.config
        config = botocore.config.Config(
            retries=dict(self._retries),
            connect_timeout=self._timeouts[0], read_timeout=self._timeouts[1],
            # Connections for the files in flight, the listings running beside them (a
            # query's fetch) and the parts in flight, so no request waits for one.
            max_pool_connections=max(10, 2 * self.concurrency + self.part_concurrency))
        with _errors("connect", self.url), self._session_lock:
            client = self._botocore_session().create_client(
                "s3", endpoint_url=self._endpoint_url, config=config)
        client.meta.events.register("before-send.s3", _no_expect_for_small_body)
        client.meta.events.register_first("needs-retry.s3", _bound_timeout_retries)
        client.meta.events.register_first("needs-retry.s3.UploadPart", self._no_retry_if_aborted)
        return client

    @property
    def fast_plane(self) -> "fast.FastPlane | None":
        """The obstore data plane for listings and small PUTs and GETs, made on first use
        (None: boto3 does them; see stores/s3_fast.py for when)."""
        if self._fast_args is None or self._fast_plane is not None:
            return self._fast_plane
        with self._fast_lock:
            if self._fast_plane is None and self._fast_args is not None:
                try:
                    self._fast_plane = self._new_fast_plane(self._fast_args)
                finally:  # only now: the threads that asked meanwhile waited for the
                    self._fast_args = None  # lock, not sent through boto3 (3x the CPU)
        return self._fast_plane

    def _new_fast_plane(self, args: dict[str, Any]) -> "fast.FastPlane | None":
        """Given both keys and a region (no profile), botocore is not needed at all;
        otherwise its chain finds the credentials and the region (None if it finds no
        credentials: boto3 will say what is wrong)."""
        keys, region = self._keys, self._region
        if keys[0] and keys[1] and region and not self._profile:
            return fast.FastPlane(self.bucket, self.prefix, self.url, region=region,
                                  credentials=keys, **args)
        credentials = None
        with self._session_lock:
            session = self._botocore_session()
            if self._profile:  # a profile that is not there is the user's to fix
                with _errors("connect", self.url):
                    session.get_scoped_config()
            with contextlib.suppress(Exception):
                credentials = session.get_credentials()
                region = region or session.get_config_variable("region")
        if credentials is None:
            return None
        return fast.FastPlane(self.bucket, self.prefix, self.url, region=region,
                              credentials=credentials, **args)

    def put_file(self, key, source, metadata, progress=None, *, size=None, if_absent=False):
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as stream:
                return self.put_file(key, stream, metadata, progress, if_absent=if_absent,
                                     size=os.fstat(stream.fileno()).st_size)
        if size is None or size < PART:
            # One PUT: a transfer manager per file would cost a small file more client
            # CPU than its request.
            data = source.read()
            created = self.put_bytes(key, data, metadata, if_absent=if_absent)
            if progress:
                progress(len(data))
            return created
        if if_absent and self.head(key) is not None:
            return False  # a key names its bytes' hash: the same bytes are there already
        return self._multipart(key, source, metadata, progress, if_absent, size)

    @contextlib.contextmanager
    def read_whole(self, src, size, progress=None):
        while not self.part_slots.acquire(timeout=STOP_CHECK_S, size=size):
            if progress:
                progress(0)  # raises once the push is interrupted
        try:
            # From 1 MiB up in an mmap of its own (see _read_part); smaller bytes are kept
            # by the allocator at little cost.
            body = _read_part(src, size) if size >= CHUNK else None
            rest = src.read()  # a small file; what a large one grew by since (rare)
            if body is not None and not rest:
                with body:
                    yield body
                return
            if body is not None:
                rest = body[:] + rest
                body.close()
            yield rest
        finally:
            self.part_slots.release(size)

    def _not_fast(self, why: fast.Unsuitable) -> None:
        """From now on boto3 does the small transfers too (it follows region redirects)."""
        log.info("%s: small transfers go through boto3 from now on (%s)", self.url, why)
        with self._fast_lock:
            self._fast_plane = self._fast_args = None

    def put_bytes(self, key, data, metadata=None, *, if_absent=False):
        if self.fast_plane is not None:
            try:
                self.fast_plane.put(key, data, metadata or {}, if_absent)
                return True
            except fast.Exists:
                return False
            except fast.Unsuitable as why:
                self._not_fast(why)
        condition = {"IfNoneMatch": "*"} if if_absent else {}
        for attempt in range(3):
            try:
                with _errors("put", self.url, created=True, endpoint=self.endpoint):
                    self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data,
                                           Metadata=metadata or {}, **condition, **self.write_args)
                return True
            except _Exists:
                return False
            except _Conflict:  # another conditional write of the key is in flight: ask again
                continue
        raise DatalakeError(f"put: concurrent writes of {self.url}{key} kept conflicting")

    def _multipart(self, key: str, source: Any, metadata: dict[str, str], progress: Any,
                   if_absent: bool, size: int) -> bool:
        """Our own multipart upload: parts are read in order (so a verifying stream sees
        every byte before the last read) and sent in parallel; the object appears only
        when the upload completes, which is conditional with ``if_absent``.  Any error,
        an interrupt included, aborts the upload, so nothing is left half-made."""
        full = self.prefix + key
        # As boto3's upload_file at botocore's default (request checksums "when_supported"):
        # the server checks each part's CRC32 and keeps a checksum of the object.  (moto,
        # given none, works out a CRC64 of the whole object at completion: 0.13 s per 96 MiB.)
        checksum = ({"ChecksumAlgorithm": "CRC32"}
                    if getattr(self.client.meta.config, "request_checksum_calculation", None)
                    == "when_supported" else {})
        with _errors("upload", self.url):
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=full, Metadata=metadata, **checksum,
                **self.write_args)["UploadId"]
        try:
            parts = [{"PartNumber": n, **part}
                     for n, part in enumerate(self._send_parts(full, upload_id, source,
                                                               progress, size), 1)]
            condition = {"IfNoneMatch": "*"} if if_absent else {}
            with _errors("upload", self.url, created=True):
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=full, UploadId=upload_id,
                    MultipartUpload={"Parts": parts}, **condition, **self.read_args)
            return True
        except _Exists:
            self._abort(full, upload_id)
            return False
        except BaseException:
            self._abort(full, upload_id)
            raise

    def _send_parts(self, full: str, upload_id: str, source: Any, progress: Any,
                    size: int) -> list[dict[str, str]]:
        """Each part's ETag (and CRC32, when the server gave one), as completion names
        them.  Each worker takes a part slot (shared with every large
        transfer in flight), then reads the next part (in turn: the source is read in
        order, so a verifying stream sees every byte before its last read), uploads it and
        drops its bytes before giving the slot back: at most ``part_concurrency`` parts
        are in memory across all the files in flight."""
        slots, lock, stop = self.part_slots, threading.Lock(), threading.Event()
        sent: dict[int, dict[str, str]] = {}
        offset = 0  # bytes read

        def worker() -> None:
            nonlocal offset
            while not stop.is_set():
                if not slots.acquire(timeout=STOP_CHECK_S):
                    continue  # every slot is taken (other files' parts too): look at stop again
                body: Any = None
                try:
                    with lock:
                        if stop.is_set() or offset >= size:
                            return  # all read (the other workers find that too)
                        body = _read_part(source, min(PART, size - offset))
                        if body is None:
                            return  # shorter than announced: what there was is sent
                        offset += len(body)
                        number = len(sent) + 1
                        sent[number] = {}  # taken: the next worker's part is the next one
                    with _errors("upload", self.url):
                        answer = self.client.upload_part(
                            Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number,
                            Body=body, **self.read_args)
                    sent[number] = {name: answer[name] for name in ("ETag", "ChecksumCRC32")
                                    if name in answer}
                    if progress:
                        progress(len(body))
                finally:
                    if body is not None:
                        body.close()  # the bytes go before the slot comes back
                    slots.release()

        workers = max(1, min(self.part_concurrency, -(-size // PART)))
        pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="datalake-put")
        try:
            pending: Any = [pool.submit(worker) for _ in range(workers)]
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, STOP_CHECK_S, return_when=concurrent.futures.FIRST_EXCEPTION)
                for future in done:
                    future.result()  # the first error stops the others (finally)
                if progress:
                    progress(0)  # raises once the push is interrupted
            return [sent[n] for n in range(1, len(sent) + 1)]
        finally:  # on an error, the caller aborts the upload at once: parts in flight fail
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)

    def _no_retry_if_aborted(self, request_dict: dict[str, Any] | None = None,
                             **kwargs: Any) -> bool | None:
        """A ``needs-retry`` hook: a part of an upload aborted meanwhile (one of its parts
        failed) is not tried again.  Some servers answer it with a 500 that boto3 would
        retry for up to a minute, holding the part's slot all along (moto does)."""
        upload_id = ((request_dict or {}).get("query_string") or {}).get("uploadId")
        return False if upload_id in self._abandoned else None

    def _abort(self, full: str, upload_id: str) -> None:
        self._abandoned.add(upload_id)  # parts still in flight are not tried again
        with contextlib.suppress(Exception):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id,
                                               **self.read_args)

    def get_file(self, key, sink, progress=None, size=None):
        what = f"download {key}"
        if size is None:
            with _errors(what, self.url):
                size = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key,
                                               **self.read_args)["ContentLength"]
        if size < PART and self.fast_plane is not None:
            offset = 0

            def write(chunk: Any) -> None:  # obstore's Bytes: a buffer, made bytes here
                nonlocal offset
                chunk = bytes(chunk)
                sink.write_at(offset, chunk)
                offset += len(chunk)
                if progress:
                    progress(len(chunk))
            try:
                self.fast_plane.get(key, write, whole=size <= CHUNK)
                return
            except fast.Unsuitable as why:  # answered before any byte came: boto3 starts over
                self._not_fast(why)
        if size < PART:
            # One GET, written (and hashed by the sink) in order as it arrives.
            with _errors(what, self.url):
                body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key,
                                              **self.read_args)["Body"]
                with body:
                    offset = 0
                    for chunk in body.iter_chunks(CHUNK):
                        sink.write_at(offset, chunk)
                        offset += len(chunk)
                        if progress:
                            progress(len(chunk))
            return
        _RangedDownload(self, key, sink, progress, size).run()

    def open(self, key):
        with _errors(f"open {key}", self.url):
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key,
                                          **self.read_args)["Body"]
        return S3Stream(body, f"read {key}", self.url)

    def list(self, prefix, start_after=None, stop=None):
        asked, after = self.prefix + prefix, None
        if start_after:
            # S3 compares whole keys, but SeaweedFS skips every key under a folder whose
            # name is StartAfter: start one character earlier (before any such folder's
            # keys) and drop what is not after start_after below.
            after = self.prefix + (start_after[:-1] if start_after[-1] > "/" else start_after)
        if start_after and stop:
            # Every key between the two starts with their common prefix: asking for only
            # that keeps a narrow query's page from filling up with the keys after `stop`.
            narrow = os.path.commonprefix([self.prefix + start_after, self.prefix + stop])
            if narrow.startswith(asked):
                asked = narrow
        for key, size, modified in self._listed(asked, after):
            if stop is not None and key >= stop:
                return
            if start_after is None or key > start_after:
                yield Entry(key, size, modified=modified)

    def _listed(self, asked: str, after: str | None) -> Iterator[tuple[str, int, int]]:
        """(key under the lake, size, modified ms) of each key that starts with ``asked``
        and comes after ``after`` (both whole keys), in order.  obstore lists only whole
        folders: a prefix that ends mid-name (a narrow query's) goes to boto3."""
        cut = len(self.prefix)
        # obstore drops an offset's final '/' (and SeaweedFS then skips that folder's keys,
        # see list): such a listing, and one from the lake's own folder, go to boto3.
        whole = asked.endswith("/") or asked == self.prefix
        starts = after is None or (after[cut:] != "" and not after.endswith("/"))
        plane = self.fast_plane if whole and starts else None
        if plane is not None:
            try:
                for key, size, modified in plane.list(asked[cut:], after and after[cut:]):
                    yield key, size, modified
                    after = self.prefix + key  # where boto3 goes on, if it has to
                return
            except fast.BadPath as why:  # a foreign key: boto3 lists on from the last one given
                log.debug("%s: listing %s through boto3: %s", self.url, asked, why)
            except fast.Unsuitable as why:
                self._not_fast(why)
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": asked, **self.read_args}
        if after:
            args["StartAfter"] = after
        client = self.client  # first: the endpoint it resolved names the errors
        while True:
            with _errors("list", self.url, endpoint=self.endpoint):
                page = client.list_objects_v2(**args)
            for obj in page.get("Contents", []):
                yield (obj["Key"][cut:], obj["Size"],
                       int(obj["LastModified"].timestamp() * 1000))
            if not page.get("IsTruncated"):
                return
            args["ContinuationToken"] = page["NextContinuationToken"]

    def list_dirs(self, prefix):
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix, "Delimiter": "/",
                                **self.read_args}
        names = []
        cut = len(self.prefix + prefix)
        client = self.client
        while True:
            with _errors("list", self.url, endpoint=self.endpoint):
                page = client.list_objects_v2(**args)
            names += [p["Prefix"][cut:].rstrip("/") for p in page.get("CommonPrefixes", [])]
            if not page.get("IsTruncated"):
                return names
            args["ContinuationToken"] = page["NextContinuationToken"]

    def exists(self):
        client = self.client
        with _errors("list", self.url, endpoint=self.endpoint):
            page = client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1,
                                          **self.read_args)
        return bool(page.get("Contents"))

    def head(self, key):
        try:
            with _errors("head", self.url):
                obj = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key,
                                              **self.read_args)
        except NotFound:
            return None
        return Entry(key, obj["ContentLength"], obj.get("Metadata", {}),
                     modified=int(obj["LastModified"].timestamp() * 1000))

    def delete(self, key):
        with _errors("delete", self.url):
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key, **self.read_args)

    def url_for(self, key):
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def leftovers(self):
        """Multipart uploads under the lake's prefix that were started and never completed
        or aborted (a push killed mid-upload): their parts are stored, and billed, until
        they are aborted."""
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix, **self.read_args}
        cut = len(self.prefix)
        while True:
            with _errors("list uploads", self.url):
                page = self.client.list_multipart_uploads(**args)
            for upload in page.get("Uploads", []):
                key, upload_id = upload["Key"], upload["UploadId"]
                if not key.startswith(self.prefix):
                    continue
                yield Leftover("upload", key[cut:], self._parts_size(key, upload_id),
                               int(upload["Initiated"].timestamp() * 1000), upload_id)
            if not page.get("IsTruncated"):
                return
            args["KeyMarker"], args["UploadIdMarker"] = page["NextKeyMarker"], page["NextUploadIdMarker"]

    def _parts_size(self, key: str, upload_id: str) -> int:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id,
                                **self.read_args}
        size = 0
        while True:
            try:
                with _errors("list parts", self.url):
                    page = self.client.list_parts(**args)
            except NotFound:  # aborted or completed meanwhile (NoSuchUpload)
                return size
            size += sum(part["Size"] for part in page.get("Parts", []))
            if not page.get("IsTruncated"):
                return size
            args["PartNumberMarker"] = page["NextPartNumberMarker"]

    def remove_leftover(self, leftover, older_than_ms):
        if leftover.kind != "upload" or leftover.modified_ms >= older_than_ms:
            return False
        try:
            with _errors("abort upload", self.url):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.prefix + leftover.name,
                                                   UploadId=leftover.upload_id, **self.read_args)
        except NotFound:
            return False
        return True
