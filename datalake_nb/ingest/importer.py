"""Bring an existing archive along: ``datalake import SRC --path-template ...``.

The source is a local folder or ``s3://bucket/prefix`` (with its own endpoint and
credentials: ``source_endpoint_url``, ``source_profile``), an archive made by s3cmd and
logrotate or anything else.  Each object's metadata come from its key (a template), the
flags and its content, as in ``push``; each is streamed into a temporary file (a local
source is read where it is), pushed, and the temporary file removed, so nothing is both
downloaded and kept.  The source is only read, never changed.  Pushes are idempotent, so
an import run again (after a crash or Ctrl-C) pushes only what is missing; the report
counts what was imported, what was already there, and what was skipped and why.
"""
from __future__ import annotations

import collections
import dataclasses
import itertools
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from ..core.errors import DatalakeError, InvalidInput
from ..engine import push as pushing
from ..engine.pool import Pool, counted
from ..engine.progress import Progress
from ..stores.base import Store
from .plan import plan
from .templates import PathPattern

UNMATCHED = "does not match the path pattern"


@dataclasses.dataclass(frozen=True)
class SourceObject:
    key: str            # the path below the source's root, '/'-separated (what templates see)
    size: int
    local: Path | None  # a local source's file, read in place


@dataclasses.dataclass
class ImportReport:
    """What an import did: records pushed now, records that were there already, and
    objects skipped, by reason (with one example key each)."""
    imported: list[Any] = dataclasses.field(default_factory=list)
    already: list[Any] = dataclasses.field(default_factory=list)
    skipped: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        skipped = sum(len(v) for v in self.skipped.values())
        why = "; ".join(f"{len(keys)} {reason} (e.g. {keys[0]})"
                        for reason, keys in self.skipped.items())
        return (f"imported {len(self.imported)}, already there {len(self.already)}, skipped "
                f"{skipped}" + (f": {why}" if why else ""))


class Source:
    """A local folder or an S3 prefix, listed and read (never written)."""

    def __init__(self, url: str, endpoint_url: str | None = None, profile: str | None = None):
        self.url = url
        if url.startswith("s3://"):
            from ..stores.s3 import S3Store
            bucket, _, prefix = url[5:].partition("/")
            if not bucket:
                raise InvalidInput("source", f"{url!r}: give s3://bucket/prefix or a folder")
            self.bucket, self.prefix = bucket, prefix
            # The lake's own S3 store, rooted at the bucket: its small GETs go through
            # obstore (a tenth of boto3's CPU per object), its large ones in ranged parts.
            self.store = S3Store(f"s3://{bucket}/", profile=profile or None,
                                 endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL"),
                                 region=os.environ.get("AWS_DEFAULT_REGION"))
            self.client = self.store.client
            self.root = None
        else:
            if endpoint_url or profile:
                raise InvalidInput("source-endpoint-url", "only an s3:// source takes an "
                                                          "endpoint or profile")
            self.root = Path(url[7:] if url.startswith("file://") else url)
            if not self.root.is_dir():
                raise InvalidInput("source", f"{url!r} is no folder; give a folder or "
                                             "s3://bucket/prefix")

    def objects(self) -> Iterator[SourceObject]:
        if self.root is not None:
            for folder, dirs, names in os.walk(self.root):
                dirs.sort()
                for name in sorted(names):
                    path = Path(folder) / name
                    if path.is_file():
                        yield SourceObject(path.relative_to(self.root).as_posix(),
                                           path.stat().st_size, path)
            return
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    if not item["Key"].endswith("/"):
                        yield SourceObject(item["Key"], item["Size"], None)
        except Exception as exc:  # botocore's errors: one line naming the source
            raise DatalakeError(f"listing {self.url}: {exc}") from None

    def fetch(self, obj: SourceObject, folder: Path) -> Path:
        """The object as a file: a local one where it is, an S3 one streamed into
        ``folder`` under its own name (so its extension is kept)."""
        if obj.local is not None:
            return obj.local
        dest = folder / obj.key.rsplit("/", 1)[-1]
        try:
            with open(dest, "wb") as out:
                self.store.get_file(obj.key, _FileSink(out.fileno()), size=obj.size)
        except OSError:
            raise
        except Exception as exc:
            raise DatalakeError(f"reading s3://{self.bucket}/{obj.key}: {exc}") from None
        return dest


class _FileSink:
    """``Store.get_file``'s sink into an open file (parts may come in any order)."""

    def __init__(self, fd: int):
        self.fd = fd

    def write_at(self, offset: int, data: bytes | bytearray) -> None:
        os.pwrite(self.fd, data, offset)


def import_archive(store: Store, pool: Pool, bar: Progress, source: Source,
                   pattern: PathPattern, flags: dict[str, Any], format: Any = None,
                   default_where: str | None = None) -> ImportReport:
    """Push every object of ``source`` that ``pattern`` matches (see the module)."""
    report = ImportReport()
    skipped: dict[str, list[str]] = collections.defaultdict(list)
    given = {k: v for k, v in flags.items() if v is not None}
    cataloged = pushing.Cataloged()
    formats: dict[Any, Any] = {}  # the lake's format of each (what, data version), looked up once
    numbers = itertools.count()

    def one(obj: SourceObject, advance: Any) -> None:
        try:
            found = pattern.fields(obj.key)
        except InvalidInput as exc:
            skipped[f"{exc.field}: not valid in the key"].append(obj.key)
            return counted(bar, None)
        if found is None:
            skipped[UNMATCHED].append(obj.key)
            return counted(bar, None)
        item = {**flags, **found, **given}
        if "start" in found and "start" not in given and item.get("end") is None:
            item["end_from_content"] = True
        own = Path(folder) / str(next(numbers))  # this object's, named as in the source
        own.mkdir()
        try:
            path = source.fetch(obj, own)
            try:
                [job] = plan([{**item, "path": path}], store, format, default_where, formats)
            except InvalidInput as exc:
                skipped[f"{exc.field}: {_short(exc.problem)}"].append(obj.key)
                return counted(bar, None)
            new: list[bool] = []
            pushed = pushing.push_one(store, job[0], job[1], cataloged, advance,
                                      wrote=new.append)
        finally:
            for left in own.iterdir():  # the object's file (an S3 source's), then its folder
                left.unlink()
            own.rmdir()
        (report.imported if new == [True] else report.already).append(pushed)
        return counted(bar, None)

    with tempfile.TemporaryDirectory(prefix="datalake-import-") as folder:
        pool.each(one, source.objects(), bar.advance, "object(s) imported")
    report.skipped = dict(skipped)
    return report


def _short(problem: str) -> str:
    """A reason without the file's temporary path (the key is listed beside it)."""
    head, sep, rest = problem.partition(": ")
    return rest if sep and (os.sep in head or head.startswith("/")) else problem
