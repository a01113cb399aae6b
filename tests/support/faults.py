"""Faults on demand, for the tests.

``FaultyStore`` wraps a real Store and spoils the Nth call of a kind (put, get,
list, head, delete): it fails before the call, fails after it (the answer is lost
though the work was done), throttles (the error S3Store raises once boto3 gave up on
SlowDown), cuts a download short, or corrupts its bytes.  A download is spoilt on its
way in (``SpoilingSink`` wraps the sink the lake hashes into), so what catches it is the
in-order hashing of the download itself, as with a real fault on the wire.  ``throttle`` does the same
one level lower, on the wire: a botocore hook answers chosen requests with S3's
503 SlowDown, so boto3's own retry (with backoff) is what gets tested.
"""
from __future__ import annotations

import collections
import io
import threading
from typing import Any, Callable

import botocore.awsrequest
import botocore.exceptions

from datalake_nb.core.errors import DatalakeError
from datalake_nb.stores.s3 import _errors
from datalake_nb.stores.base import Store

from . import figures

KINDS = ("put", "get", "list", "head", "delete")
MODES = ("fail", "after", "throttle", "oserror", "cut", "short", "corrupt")
SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>")


def slowdown_error(what: str, url: str) -> DatalakeError:
    """What S3Store raises when S3 still says SlowDown after boto3's last retry."""
    error = botocore.exceptions.ClientError(
        {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
         "ResponseMetadata": {"HTTPStatusCode": 503}}, what)
    try:
        with _errors(what, url):
            raise error
    except DatalakeError as converted:
        return converted
    raise AssertionError("unreachable")


class FaultyStore(Store):
    """A Store whose chosen calls go wrong.  ``inject("put", 2)`` spoils the 2nd put;
    ``inject("get", "*", "corrupt")`` every get.  ``fired`` counts the faults."""

    def __init__(self, inner: Store):
        self.inner = inner
        self.url = inner.url
        self.calls: collections.Counter[str] = collections.Counter()
        self.fired: collections.Counter[str] = collections.Counter()
        self._plan: dict[tuple[str, int | str], str] = {}
        self._lock = threading.Lock()

    def inject(self, kind: str, nth: int | str, mode: str = "fail") -> "FaultyStore":
        assert kind in KINDS and mode in MODES and (nth == "*" or (isinstance(nth, int) and nth >= 1))
        self._plan[(kind, nth)] = mode
        return self

    def _mode(self, kind: str) -> str | None:
        with self._lock:
            self.calls[kind] += 1
            mode = self._plan.get((kind, self.calls[kind])) or self._plan.get((kind, "*"))
            if mode:
                self.fired[mode] += 1
                figures.add("faults injected")
            return mode

    def _call(self, kind: str, what: str, func: Callable[[], Any]) -> Any:
        """Run one call with whatever fault is planned for it."""
        return self._run(self._mode(kind), kind, what, func)

    def _run(self, mode: str | None, kind: str, what: str, func: Callable[[], Any]) -> Any:
        if mode == "fail":
            raise DatalakeError(f"{what}: injected failure of {kind} #{self.calls[kind]}")
        if mode == "throttle":
            raise slowdown_error(what, self.url)
        if mode == "oserror":
            raise OSError(28, "No space left on device (injected)")
        result = func()
        if mode == "after":
            raise DatalakeError(f"{what}: injected lost answer of {kind} #{self.calls[kind]}")
        return result, mode

    def put_file(self, key, source, metadata, progress=None, **options):
        return self._call("put", f"upload {key}", lambda: self.inner.put_file(
            key, source, metadata, progress, **options))[0]

    def put_bytes(self, key, data, metadata=None, **options):
        return self._call("put", "put", lambda: self.inner.put_bytes(key, data, metadata, **options))[0]

    def get_file(self, key, sink, progress=None, size=None):
        mode = self._mode("get")
        what = f"download {key}"
        spoilt = sink
        if mode in ("cut", "short", "corrupt"):
            total = size if size is not None else self.inner.head(key).size
            spoilt = SpoilingSink(sink, mode, total, what)
        self._run(mode, "get", what, lambda: self.inner.get_file(key, spoilt, progress, size))
        if mode == "corrupt" and total == 0:
            sink.write_at(0, b"\0")  # nothing to flip in an empty object: one byte too many

    def open(self, key):
        stream, mode = self._call("get", f"open {key}", lambda: self.inner.open(key))
        if mode not in ("cut", "short", "corrupt"):
            return stream
        with stream:
            data = stream.read()
        if mode == "corrupt":
            return io.BytesIO(spoil(data))
        return _CutStream(data[:len(data) // 2], fail=mode == "cut", what=f"open {key}")

    def list(self, prefix, start_after=None, stop=None):
        entries, _ = self._call("list", "list", lambda: list(self.inner.list(prefix, start_after, stop)))
        yield from entries

    def list_dirs(self, prefix):
        return self._call("list", "list", lambda: self.inner.list_dirs(prefix))[0]

    def head(self, key):
        return self._call("head", "head", lambda: self.inner.head(key))[0]

    def exists(self):
        return self.inner.exists()

    def delete(self, key):
        self._call("delete", "delete", lambda: self.inner.delete(key))

    def url_for(self, key):
        return self.inner.url_for(key)


def spoil(data: bytes) -> bytes:
    """The same length with one bit flipped (or one byte where there was none)."""
    if not data:
        return b"\0"
    return spoil_at(data, len(data) // 2)


class SpoilingSink:
    """A sink between a store and the real one that spoils the stream as it passes, from
    whichever thread writes each piece: ``corrupt`` flips one bit of the object's middle
    byte; ``short`` drops every byte from the middle on (the store reports success);
    ``cut`` fails like a reset connection when the first byte past the middle arrives."""

    def __init__(self, inner: Any, mode: str, total: int, what: str):
        self.inner, self.mode, self.total, self.what = inner, mode, total, what
        self.middle = total // 2

    def write_at(self, offset: int, data: bytes) -> None:
        end = offset + len(data)
        if self.mode == "corrupt":
            if offset <= self.middle < end:
                data = spoil_at(data, self.middle - offset)
        elif end > self.middle:
            if self.mode == "cut":
                raise DatalakeError(f"{self.what}: connection reset (injected, after "
                                    f"{self.middle} of {self.total} bytes)")
            data = data[:max(0, self.middle - offset)]
        self.inner.write_at(offset, data)


def spoil_at(data: bytes, index: int) -> bytes:
    """``data`` with one bit of byte ``index`` flipped."""
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


class _CutStream(io.RawIOBase):
    """Gives ``data``, then fails like a reset connection (or just ends, if not ``fail``)."""

    def __init__(self, data: bytes, fail: bool, what: str):
        super().__init__()
        self._data, self._fail, self._what = io.BytesIO(data), fail, what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer):
        n = self._data.readinto(buffer)
        if n == 0 and self._fail:
            raise DatalakeError(f"{self._what}: connection reset (injected)")
        return n


# -- on the wire ---------------------------------------------------------------

class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **kwargs: Any):
        yield self._body


class throttle:
    """Answer the requests that ``pick(n)`` chooses (n counts every request the
    client sends, retries included) with 503 SlowDown, before they leave; count them."""

    def __init__(self, client: Any, pick: Callable[[int], bool]):
        self.client, self.pick = client, pick
        self.sent = 0
        self.throttled = 0
        self._lock = threading.Lock()

    def __enter__(self) -> "throttle":
        self.client.meta.events.register_first("before-send.s3", self._before_send)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.client.meta.events.unregister("before-send.s3", self._before_send)

    def _before_send(self, request: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.sent += 1
            if not self.pick(self.sent):
                return None
            self.throttled += 1
        figures.add("faults injected")
        return botocore.awsrequest.AWSResponse(
            request.url, 503, {"Content-Type": "application/xml"}, _Raw(SLOWDOWN))


class StopBefore(FaultyStore):
    """A Store that stops dead before its first put of a key family (``data``, ``where``,
    ``catalog``, ``work``), after writing ``marker``: the test then kills the process, so
    the push ends exactly there."""

    def __init__(self, inner: Store, family: str, marker: Any):
        super().__init__(inner)
        self.family, self.marker = family, marker

    def _stop_at(self, key: str) -> None:
        if key.startswith(self.family + "/"):
            self.marker.write_text(key)
            threading.Event().wait()  # until the kill

    def put_file(self, key, source, metadata, progress=None, **options):
        self._stop_at(key)
        return super().put_file(key, source, metadata, progress, **options)

    def put_bytes(self, key, data, metadata=None, **options):
        self._stop_at(key)
        return super().put_bytes(key, data, metadata, **options)


class StopBeforeDelete(FaultyStore):
    """A Store that stops dead before its first delete of a key family (``work``,
    ``where``, ``data``, ``removing``, ``catalog``), or before its first put of one (the
    remove marker: ``put:removing``), after writing ``marker``: the test then kills the
    process, so a remove ends exactly there."""

    def __init__(self, inner: Store, family: str, marker: Any):
        super().__init__(inner)
        self.family, self.marker = family, marker

    def _stop_at(self, call: str, key: str) -> None:
        kind, _, family = self.family.rpartition(":")
        if (kind or "delete") == call and key.startswith(family + "/"):
            self.marker.write_text(key)
            threading.Event().wait()  # until the kill

    def put_bytes(self, key, data, metadata=None, **options):
        self._stop_at("put", key)
        return super().put_bytes(key, data, metadata, **options)

    def delete(self, key):
        self._stop_at("delete", key)
        return super().delete(key)
