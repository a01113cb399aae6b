"""A Store over obstore (Rust's object_store): what Azure Blob Storage (``stores.azure``)
and Google Cloud Storage (``stores.gcs``) share.  Each cloud's module builds the obstore
client (URL, credentials, endpoint) and words its errors; this one holds the contract.

Create-only writes are the service's own conditional PUT (``mode="create"``).  A large
file goes up in parts to a temporary object under ``<prefix>.uploads/`` and is then
copied into place (``overwrite=False``: the service refuses when the key exists) and the
temporary deleted: object_store's multipart uploads cannot be conditional.  A push killed
between the two leaves that temporary, which ``leftovers`` reports for ``datalake check``.
"""
from __future__ import annotations

import contextlib
import datetime
import io
import os
import uuid
from typing import Any, BinaryIO, Iterator

from ..config import default_of, duration_seconds
from ..core.errors import DatalakeError, IntegrityError, NotFound
from .base import CHUNK, Entry, Leftover, Progress, Store

obstore: Any = None  # imported with the first store: `import datalake_nb` stays quick

PART = 16 << 20  # files from this size up go in parts (like S3's)
UPLOADS = ".uploads/"  # under the lake's prefix: large files on their way in
TIMEOUT_ATTEMPTS = 2  # tries of a request that timed out (as S3's stores)


def default_seconds(name: str) -> float:
    return duration_seconds(name, default_of(name))


def load_obstore() -> Any:
    global obstore
    import obstore as module
    import obstore.exceptions  # noqa: F401
    import obstore.store  # noqa: F401
    obstore = module
    return module


def timeouts(connect: float | None, read: float | None,
             attempts: int = TIMEOUT_ATTEMPTS) -> tuple[dict[str, Any], dict[str, Any]]:
    """obstore's client and retry options: each try waits ``connect`` to connect and
    ``read`` for each answer, and tries stop after about ``attempts`` silent ones (the
    bound S3's stores keep: DATALAKE_S3_CONNECT_TIMEOUT / _READ_TIMEOUT)."""
    connect = default_seconds("DATALAKE_S3_CONNECT_TIMEOUT") if connect is None else connect
    read = default_seconds("DATALAKE_S3_READ_TIMEOUT") if read is None else read
    client = {"connect_timeout": datetime.timedelta(seconds=connect),
              "read_timeout": datetime.timedelta(seconds=read)}
    retry = {"max_retries": 4, "retry_timeout": datetime.timedelta(seconds=(attempts - 1) * (connect + read)),
             "backoff": {"init_backoff": datetime.timedelta(milliseconds=100),
                         "max_backoff": datetime.timedelta(seconds=5), "base": 2}}
    return client, retry


class BlobStore(Store):
    """Objects under ``prefix`` of one bucket or container, through an obstore client."""

    scheme = ""  # gs or az: url_for's

    def __init__(self, client: Any, bucket: str, prefix: str, *,
                 part_concurrency: int = 8) -> None:
        load_obstore()
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.part_concurrency = part_concurrency
        self.url = f"{self.scheme}://{bucket}/{prefix}"

    # -- errors: one line each; the subclass says what to do --------------------------

    def explain(self, what: str, exc: BaseException) -> DatalakeError:
        """``exc`` from obstore as one line (the subclass words it for its cloud)."""
        raise NotImplementedError

    @contextlib.contextmanager
    def _errors(self, what: str, missing_ok: bool = False) -> Iterator[None]:
        try:
            yield
        except (obstore.exceptions.BaseError, OSError, TimeoutError) as exc:
            if missing_ok and self.is_missing_object(exc):
                raise NotFound(f"{what}: no such object in {self.url}") from None
            raise self.explain(what, exc) from None

    def is_missing_object(self, exc: BaseException) -> bool:
        """A 404 of the object, not of its bucket or container."""
        return isinstance(exc, FileNotFoundError)

    def metadata_attributes(self, metadata: dict[str, str] | None) -> dict[str, str] | None:
        return dict(metadata) if metadata else None

    # -- writes ----------------------------------------------------------------------

    def put_bytes(self, key, data, metadata=None, *, if_absent=False):
        with self._errors("put"):
            try:
                obstore.put(self.client, self.prefix + key, memoryview(data),
                            attributes=self.metadata_attributes(metadata),
                            mode="create" if if_absent else "overwrite", use_multipart=False)
            except (obstore.exceptions.AlreadyExistsError, obstore.exceptions.PreconditionError):
                return False
        return True

    def put_file(self, key, source, metadata, progress=None, *, size=None, if_absent=False):
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as src:
                return self.put_file(key, src, metadata, progress,
                                     size=os.fstat(src.fileno()).st_size, if_absent=if_absent)
        if size is not None and size < PART:
            data = _read_all(source, progress)
            return self.put_bytes(key, data, metadata, if_absent=if_absent)
        chunks = _chunks(source, progress)
        if not if_absent:
            with self._errors("upload"):
                self._multipart(self.prefix + key, chunks, metadata)
            return True
        temporary = f"{self.prefix}{UPLOADS}{uuid.uuid4().hex}"
        try:
            with self._errors("upload"):
                self._multipart(temporary, chunks, metadata)
                try:
                    obstore.copy(self.client, temporary, self.prefix + key, overwrite=False)
                except (obstore.exceptions.AlreadyExistsError,
                        obstore.exceptions.PreconditionError):
                    return False
            return True
        finally:
            with contextlib.suppress(Exception):
                obstore.delete(self.client, temporary)

    def _multipart(self, full: str, chunks: Iterator[bytes], metadata: dict[str, str] | None) -> None:
        """Parts of PART bytes, ``part_concurrency`` at once; an error in the source (an
        interrupt) abandons the upload, and nothing becomes visible."""
        obstore.put(self.client, full, chunks, attributes=self.metadata_attributes(metadata),
                    use_multipart=True, chunk_size=PART, max_concurrency=self.part_concurrency)

    # -- reads -----------------------------------------------------------------------

    def get_file(self, key, sink, progress=None, size=None):
        what = f"download {key}"
        with self._errors(what, missing_ok=True):
            answer = obstore.get(self.client, self.prefix + key)
            if size is not None and answer.meta["size"] != size:
                raise IntegrityError(f"{what}: {self.url}{key} holds {answer.meta['size']} "
                                     f"bytes, its record says {size}; nothing was written")
            offset = 0
            for chunk in answer.stream(min_chunk_size=CHUNK):
                data = bytes(chunk)
                sink.write_at(offset, data)
                offset += len(data)
                if progress:
                    progress(len(data))

    def open(self, key) -> BinaryIO:
        what = f"open {key}"
        with self._errors(what, missing_ok=True):
            answer = obstore.get(self.client, self.prefix + key)
        return _Stream(iter(answer.stream(min_chunk_size=CHUNK)), self, f"read {key}")

    def list(self, prefix, start_after=None, stop=None) -> Iterator[Entry]:
        # obstore's prefix is a whole path segment: list the folder, keep what matches.
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        full, cut = self.prefix + prefix, len(self.prefix)
        offset = self.prefix + start_after if start_after else None
        with self._errors("list"):
            pages = obstore.list(self.client, (self.prefix + folder).rstrip("/") or None,
                                 offset=offset, chunk_size=1000)
            for page in pages:
                for meta in page:
                    path = meta["path"]
                    if not path.startswith(full):
                        continue
                    key = path[cut:]
                    if stop is not None and key >= stop:
                        return
                    if start_after is None or key > start_after:
                        yield Entry(key, meta["size"], modified=_ms(meta["last_modified"]))

    def list_dirs(self, prefix):
        cut = len(self.prefix + prefix)
        with self._errors("list"):
            found = obstore.list_with_delimiter(self.client, (self.prefix + prefix).rstrip("/") or None)
        return sorted(p[cut:].rstrip("/") for p in found["common_prefixes"])

    def head(self, key):
        try:
            with self._errors("head", missing_ok=True):
                meta = obstore.head(self.client, self.prefix + key)
        except NotFound:
            return None
        return Entry(key, meta["size"], modified=_ms(meta["last_modified"]))

    def exists(self):
        with self._errors("list"):
            for page in obstore.list(self.client, self.prefix.rstrip("/") or None, chunk_size=1):
                return bool(page)
        return False

    def delete(self, key):
        with contextlib.suppress(NotFound), self._errors("delete", missing_ok=True):
            obstore.delete(self.client, self.prefix + key)

    def url_for(self, key):
        return self.url + key

    # -- what killed pushes left --------------------------------------------------------

    def leftovers(self):
        """Temporary objects of large uploads under ``<prefix>.uploads/`` (a push killed
        between sending the parts and copying them into place)."""
        return iter([Leftover("upload", entry.key, entry.size, entry.modified or 0)
                     for entry in self.list(UPLOADS)])

    def remove_leftover(self, leftover, older_than_ms):
        entry = self.head(leftover.name)
        if entry is None or (entry.modified or 0) >= older_than_ms:
            return False
        self.delete(leftover.name)
        return True


class _Stream(io.RawIOBase):
    """An object's body, read as it arrives; reading after ``close()`` raises ValueError."""

    def __init__(self, chunks: Iterator[Any], store: BlobStore, what: str):
        super().__init__()
        self._chunks, self._store, self._what = chunks, store, what
        self._chunk, self._at = b"", 0  # the chunk being read, and how far

    def readable(self) -> bool:
        return True

    def _next(self) -> bool:
        """The next chunk in place; False at the end."""
        with self._store._errors(self._what):
            self._chunk, self._at = bytes(next(self._chunks, b"")), 0
        return bool(self._chunk)

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if self._at >= len(self._chunk) and not self._next():
            return 0
        n = min(len(buffer), len(self._chunk) - self._at)
        buffer[:n] = self._chunk[self._at:self._at + n]
        self._at += n
        return n

    def readall(self) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        parts = [self._chunk[self._at:]]
        while self._next():
            parts.append(self._chunk)
        self._at = len(self._chunk)
        return b"".join(parts)


def _read_all(src: BinaryIO, progress: Progress | None) -> bytes:
    return b"".join(_chunks(src, progress))


def _chunks(src: BinaryIO, progress: Progress | None,
            size: int = CHUNK) -> Iterator[bytes]:
    """The source's bytes in order; a read (or ``progress``) that raises stops them."""
    for chunk in iter(lambda: src.read(size), b""):
        if progress:
            progress(len(chunk))
        yield chunk


def _ms(when: datetime.datetime) -> int:
    return int(when.timestamp() * 1000)


