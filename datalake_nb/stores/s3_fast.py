"""Listings and small objects' PUT and GET through obstore (Rust's object_store)
instead of boto3.

Why: on a small file the request *is* the work, and boto3 spends 3-3.5 ms of client
CPU on each (event hooks, endpoint rules, signing, urllib3, parsing); obstore spends
0.3-0.7 ms (bench/PROFILE.md).  And a command that only lists and GETs (``datalake
list``, ``fetch``) need not import botocore nor load its models (~0.2 s).  boto3 stays
the control plane (HEAD, DELETE, multipart, listings that do not start at a folder)
and the source of credentials unless both keys are given: obstore asks it for them
(refreshed as boto3 refreshes them), so profiles, roles and SSO keep working.

Used only where it sends what boto3 would: not with an expected bucket owner (obstore
cannot sign a header of our choosing), nor without credentials (boto3's error says
better what to do).  ``DATALAKE_S3_DATA_PLANE=boto3`` turns it off.  Its retries are
boto3's standard mode's (``FastPlane._retried``), so both planes ride out the same
throttling.
"""
from __future__ import annotations

import contextlib
import datetime
import importlib.util
import itertools
import logging
import random
import re
import time
from typing import Any, Callable, Iterator

from ..core.errors import DatalakeError, NotFound, Refused
from ..core.redact import redact_url, remember, safe_cause, scrub

obstore: Any = None  # imported with the first FastPlane: `import datalake_nb` stays quick


class Exists(Exception):
    """A create-only PUT found the key there already (S3's 412)."""


class BadPath(Exception):
    """A key or prefix obstore cannot name (a '..' or '.' segment, '//'): boto3 lists it."""


class Unsuitable(Exception):
    """The bucket wants what this plane does not do: it is in another region than the one
    configured (S3 answers 301 PermanentRedirect; boto3 follows it, obstore does not)."""


CLOSED_HELP = "try again, and check AWS_ENDPOINT_URL (or a proxy on the way) if it keeps happening"
REGION_ERRORS = ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException")
# What botocore's standard retry mode tries again (botocore/retries/standard.py): these
# statuses, throttling and transient error codes, and failed connections and timeouts.
RETRY_CAP_S = 20.0  # its longest wait between two tries
RETRIED_STATUS = (429, 500, 502, 503, 504)
RETRIED_CODES = ("SlowDown", "Throttling", "ThrottlingException", "ThrottledException",
                 "RequestThrottled", "RequestThrottledException", "TooManyRequestsException",
                 "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
                 "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete")
TRANSPORT_KINDS = ("Connect", "Request", "Timeout", "Interrupted")  # obstore's HttpErrorKind

log = logging.getLogger(__name__)


def available() -> bool:
    """Is obstore installed? (A speed-up: without it boto3 does the same work.)"""
    return importlib.util.find_spec("obstore") is not None


class FastPlane:
    """PUT and GET of whole small objects under one bucket and prefix."""

    def __init__(self, bucket: str, prefix: str, url: str, *, endpoint_url: str | None,
                 region: str | None, credentials: Any, sse: str | None,
                 sse_kms_key_id: str | None, connect_timeout: float, read_timeout: float,
                 attempts: int, transport_attempts: int) -> None:
        """``credentials``: botocore's, or the keys and session token themselves;
        ``attempts``: tries of a throttled or failed request in all (boto3's total max
        attempts); ``transport_attempts``: of one that timed out or found no server."""
        global obstore
        import obstore
        import obstore.exceptions
        import obstore.store
        self.url = url
        self.endpoint = redact_url(endpoint_url or f"https://s3.{region or 'us-east-1'}.amazonaws.com")
        config: dict[str, Any] = {"region": region or "us-east-1"}
        if endpoint_url:
            # A custom endpoint (SeaweedFS, MinIO, moto) is addressed by path, as boto3 does.
            config.update(endpoint=endpoint_url, virtual_hosted_style_request=False)
        if sse:
            config["server_side_encryption"] = sse
        if sse_kms_key_id:
            config["sse_kms_key_id"] = sse_kms_key_id
        provider = None
        if isinstance(credentials, tuple):
            access_key, secret_key, token = credentials
            config.update(access_key_id=access_key, secret_access_key=secret_key,
                          **({"token": token} if token else {}))
        else:
            provider = _provider(credentials)
        client = {"allow_http": bool(endpoint_url and endpoint_url.startswith("http://")),
                  "connect_timeout": datetime.timedelta(seconds=connect_timeout),
                  "read_timeout": datetime.timedelta(seconds=read_timeout)}
        self.attempts, self.transport_attempts = attempts, transport_attempts
        self.store = obstore.store.S3Store(  # no retries of its own: see _retried
            bucket, prefix=prefix.rstrip("/") or None, config=config, client_options=client,
            retry_config={"max_retries": 0}, credential_provider=provider)

    def put(self, key: str, data: bytes, metadata: dict[str, str], if_absent: bool) -> None:
        """Raises Exists when ``if_absent`` and the key is there."""
        with self._errors("put", key):
            self._retried(lambda: obstore.put(self.store, key, data, attributes=metadata or None,
                                              mode="create" if if_absent else "overwrite"))

    def get(self, key: str, write: Callable[[bytes], Any], whole: bool = False) -> None:
        """The object's bytes, in order, into ``write``; with ``whole`` (a small object)
        in one piece: one wait on obstore's runtime instead of one per chunk and one more
        for the end of the stream."""
        with self._errors(f"download {key}", key):
            if whole:
                write(self._retried(lambda: obstore.get(self.store, key).bytes()))
                return
            # Tried again until the answer starts; once bytes are written, an error is final.
            for chunk in self._retried(lambda: obstore.get(self.store, key)):
                write(chunk)

    def list(self, folder: str, offset: str | None) -> Iterator[tuple[str, int, int]]:
        """(key, size, modified ms) of each object under ``folder`` ('' or a prefix that
        ends in '/') after ``offset``, in key order.  A page that fails is asked again from
        the last key given, as boto3's retry mode would ask again.  (obstore drops a
        key's final '/': no key of the lake ends in one.)"""
        failures = 0
        with self._errors("list", folder) as tried:
            while True:
                try:
                    for page in obstore.list(self.store, folder.rstrip("/") or None,
                                             offset=offset, chunk_size=1000):
                        for obj in page:
                            offset = obj["path"]
                            yield offset, obj["size"], int(obj["last_modified"].timestamp() * 1000)
                        failures = 0
                    return
                except (ValueError, obstore.exceptions.InvalidPathError) as exc:
                    raise BadPath(str(exc).split("\n", 1)[0]) from None
                except (obstore.exceptions.BaseError, OSError) as exc:
                    failures += 1
                    if failures >= self._tries(str(exc)):
                        tried.append(failures)
                        raise
                    time.sleep(random.random() * min(2.0 ** (failures - 1), RETRY_CAP_S))

    def _retried(self, call: Callable[[], Any]) -> Any:
        """``call()``, tried again as boto3's standard retry mode does (and as S3Store
        bounds it): throttling and server errors up to ``attempts`` tries in all, a
        timeout or a failed connection up to ``transport_attempts``, each after a random
        wait of up to 1, 2, 4, ... seconds (at most RETRY_CAP_S).  obstore's own retries
        wait 100 ms, then about twice as long each time: they gave up on 4 s of throttling
        within 2 s, when boto3 rode it out."""
        for attempt in itertools.count(1):
            try:
                return call()
            except (obstore.exceptions.BaseError, OSError) as exc:
                if attempt >= self._tries(str(exc)):
                    raise
                delay = random.random() * min(2.0 ** (attempt - 1), RETRY_CAP_S)
                log.debug("%s: try %d failed, the next in %.2f s: %s", self.url, attempt, delay,
                          str(exc).split("\n", 1)[0])
            time.sleep(delay)

    def _tries(self, text: str) -> int:
        """How many tries an error that obstore describes so is worth, in all."""
        kind = re.search(r"kind: (\w+)", text)
        if kind and kind[1] in TRANSPORT_KINDS:
            return self.transport_attempts
        status = re.search(r"status code: (\d+)", text)
        code = re.search(r"<Code>([^<]+)</Code>", text)
        if (status and int(status[1]) in RETRIED_STATUS) or (code and code[1] in RETRIED_CODES):
            return self.attempts
        return 1

    @contextlib.contextmanager
    def _errors(self, what: str, key: str) -> Iterator[list[int]]:
        """obstore's errors as ours, worded as S3Store words boto3's: one line, what
        failed, the store's URL or the endpoint (never a password), what to do.  obstore's
        own text (many lines: the request's full URL, a debug dump) stays the cause,
        unless it shows a secret.  Yields a list where the caller may put how many
        tries it made."""
        tried: list[int] = []  # the tries a caller made, if it counts them (a listing)
        try:
            yield tried
        except obstore.exceptions.AlreadyExistsError:
            raise Exists() from None
        except (obstore.exceptions.BaseError, OSError, TimeoutError) as exc:
            text = str(exc)
            if "redirect" in text.split("\n", 1)[0] or any(f"<Code>{c}</Code>" in text
                                                            for c in REGION_ERRORS):
                raise Unsuitable(scrub(text.splitlines()[0])) from exc
            if isinstance(exc, FileNotFoundError) and what != "put" \
                    and _tag("Code", text) in (None, "NoSuchKey"):  # not NoSuchBucket
                raise NotFound(f"{what}: no such object in {self.url}") from None
            status = re.search(r"status code: (4\d\d)", text)  # the client's mistake, as boto3's
            refused = "kind: Connect" in text or _denied(exc, text) or bool(status) \
                or _tag("Code", text) == "NoSuchBucket"
            raise (Refused if refused else DatalakeError)(
                f"{what}: {self._explain(exc, text, tried)}") from safe_cause(exc)

    def _explain(self, exc: BaseException, text: str, tried: list[int]) -> str:
        """The gist of obstore's message, in S3Store's words for boto3's errors."""
        code, message = _tag("Code", text), _tag("Message", text)
        status = re.search(r"status code: (\d+)", text)
        retries = re.search(r"after (\d+) retries", text)
        count = tried[-1] if tried else int(retries[1]) + 1 if retries else 1
        tries = f" ({count} tries)" if count > 1 else ""
        if "kind: Timeout" in text:
            return (f"the S3 endpoint {self.endpoint} did not answer in time{tries}; check "
                    "AWS_ENDPOINT_URL, or raise DATALAKE_S3_READ_TIMEOUT")
        if "kind: Connect" in text:
            return f"cannot reach the S3 endpoint {self.endpoint}{tries}; check AWS_ENDPOINT_URL"
        if "IncompleteMessage" in text or "connection closed" in text.lower():
            return (f"the S3 endpoint {self.endpoint} closed the connection before answering"
                    f"{tries}; {CLOSED_HELP}")
        if code == "NoSuchBucket":
            return f"the bucket of {self.url} does not exist"
        if status and status[1] == "404" and code is None:  # a put: no S3 error answer at all
            bucket = self.url.removeprefix("s3://").partition("/")[0]
            return f"no bucket {bucket!r} at {self.endpoint}, or not an S3 server"
        if _denied(exc, text):
            return (f"access denied to {self.url} ({code or 'AccessDenied'}); "
                    "check the AWS credentials and the bucket policy")
        if code or status:
            detail = code or f"HTTP {status[1]}"  # type: ignore[index]
            return f"S3 error {detail} on {self.url}" + (f": {scrub(message)}" if message else "")
        # "Generic S3 error: Error performing PUT <URL> in 1.4s, after 7 retries, ... - why"
        first = (text.strip().splitlines() or ["unknown error"])[0]
        why = scrub(first.rpartition(" - ")[2].strip())[:200]
        return f"S3 request on {self.url} failed{tries}: {why}; {CLOSED_HELP}"


def _denied(exc: BaseException, text: str) -> bool:
    """Access denied, as obstore says it for a GET or PUT, or S3's answer to a listing."""
    return isinstance(exc, (obstore.exceptions.PermissionDeniedError,
                            obstore.exceptions.UnauthenticatedError)) \
        or _tag("Code", text) in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch")


def _tag(name: str, text: str) -> str | None:
    """The text of the first <name> element of an S3 error answer quoted in ``text``."""
    found = re.search(f"<{name}>([^<]+)</{name}>", text)
    return found[1] if found else None


def _provider(credentials: Any) -> Callable[[], dict[str, Any]]:
    """boto3's credentials (refreshable ones refresh themselves) in obstore's form."""
    def current() -> dict[str, Any]:
        frozen = credentials.get_frozen_credentials()
        remember(frozen.secret_key, frozen.token)  # never in an error text, even quoted
        return {"access_key_id": frozen.access_key, "secret_access_key": frozen.secret_key,
                "token": frozen.token,
                "expires_at": datetime.datetime.now(datetime.timezone.utc)
                + datetime.timedelta(minutes=5)}
    return current


