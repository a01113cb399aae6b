"""Where records live in the store: the data object's key *is* the record.

    data/<what>/<class>/<YYYY>/<MM>/<DD>/<start>~<end>~<where>~<hash>/<data-version>~<work_id><ext>
    where/<what>/<where>/<the data key without "data/<what>/">/<size>          (0 bytes)
    work/<work_id>/<size>/<the data key without "data/">      (0 bytes, only with a work_id)
    catalog/<what>/<where>                                     (1 byte, one per pair)

Times are compact UTC (20150320T000532345Z, fixed width, so keys sort by
start) and ``end`` is ``-`` for an instant.  ``work_id`` is percent-encoded
(only ASCII letters, digits, '-' and '_' stay as they are).  Each file goes
into one *span class* by end - start, so a time query reads, per class, only
starts in [query_start - class span, query_end]: its cost follows the rows it
returns, not the lake's size nor the range's length.  The where entries are the same
keys ordered where-first, so a query for a few wheres reads only their records; a catalog
entry holding INDEXED says the pair's where entries are complete (lakes written before
them hold 0-byte catalog entries until ``check --repair`` adds the where entries).
"""
from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Any

from . import times
from .errors import InvalidInput
from .metadata import Record, validate_ext, validate_fields, validate_hash, is_name, make_id

SPAN_CLASSES: tuple[tuple[str, int | None], ...] = (
    ("1h", 3_600_000),
    ("1d", 86_400_000),
    ("32d", 32 * 86_400_000),
    ("400d", 400 * 86_400_000),
    ("11y", 4018 * 86_400_000),
    ("inf", None),
)
CLASS_INDEX = {name: i for i, (name, _) in enumerate(SPAN_CLASSES)}
DATA, WORK, CATALOG, WHERE = "data/", "work/", "catalog/", "where/"
INDEXED = b"1"  # a catalog entry's body once every record of its pair has a where entry


def span_class(start: int, end: int | None) -> int:
    span = 0 if end is None else end - start
    for index, (_, limit) in enumerate(SPAN_CLASSES):
        if limit is None or span <= limit:
            return index
    raise AssertionError("unreachable: the last class has no limit")


_KEY_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def encode_work_id(work_id: str | None) -> str:
    """Percent-encode all but ASCII letters, digits, '-' and '_' (so no '.', '/', '~')."""
    if work_id is None:
        return ""
    return "".join(c if c in _KEY_SAFE else "".join(f"%{b:02X}" for b in c.encode())
                   for c in work_id)


def _time_path(ms: int) -> str:
    stamp = times.compact(ms)
    return f"{stamp[:4]}/{stamp[4:6]}/{stamp[6:8]}/{stamp}"


def class_prefix(what: str, index: int) -> str:
    return f"{DATA}{what}/{SPAN_CLASSES[index][0]}/"


def where_prefix(what: str, where: str) -> str:
    return f"{WHERE}{what}/{where}/"


def data_key(rec: Record) -> str:
    index = span_class(rec.start, rec.end)
    end = "-" if rec.end is None else times.compact(rec.end)
    return (f"{class_prefix(rec.what, index)}{_time_path(rec.start)}~{end}~{rec.where}~"
            f"{rec.hash}/{rec.data_version}~{encode_work_id(rec.work_id)}{rec.ext}")


def work_key(rec: Record, size: int) -> str:
    return f"{WORK}{encode_work_id(rec.work_id)}/{size}/{data_key(rec)[len(DATA):]}"


def where_key(rec: Record, size: int) -> str:
    after_what = data_key(rec)[len(DATA) + len(rec.what) + 1:]
    return f"{where_prefix(rec.what, rec.where)}{after_what}/{size}"


def work_prefix(work_id: str) -> str:
    return f"{WORK}{encode_work_id(work_id)}/"


def catalog_key(what: str, where: str) -> str:
    return f"{CATALOG}{what}/{where}"


def parse_catalog_key(key: str) -> tuple[str, str] | None:
    """(what, where) of a catalog key, or None if the lake would not write it (a where
    of '..', a third level): such entries are skipped by readers and reported by check."""
    what, _, where = key[len(CATALOG):].partition("/")
    if not key.startswith(CATALOG) or not is_name("what", what) or not is_name("where", where):
        return None
    return what, where


def build_record(fields: dict[str, Any], hash_hex: str, ext: str, **extra: Any) -> Record:
    index = span_class(fields["start"], fields["end"])
    return Record(id=make_id(fields, hash_hex, ext, index), hash=hash_hex, ext=ext,
                  **fields, **extra)


def parse_data_key(key: str, **extra: Any) -> Record | None:
    """The record a data key spells, or None if the key is not one the lake writes.

    Every field is validated as on push, so a hand-made key cannot smuggle in a
    name like '..' that would later become part of a local path.
    """
    try:
        what, cls, _y, _m, _d, first, second = key[len(DATA):].split("/")
        start_s, end_s, where, hash_hex = first.split("~")
        dv, rest = second.split("~")
        work_enc, dot, ext = rest.partition(".")
        fields = validate_fields(
            what=what, where=where, data_version=dv, start=times.from_compact(start_s),
            end=None if end_s == "-" else times.from_compact(end_s),
            work_id=urllib.parse.unquote(work_enc, errors="strict") if work_enc else None)
        rec = build_record(fields, validate_hash(hash_hex), validate_ext(dot + ext), **extra)
    except (ValueError, KeyError, InvalidInput):
        return None
    if SPAN_CLASSES[span_class(rec.start, rec.end)][0] != cls or data_key(rec) != key:
        return None
    return rec


def parse_work_key(key: str, **extra: Any) -> Record | None:
    try:
        _, _work, size, rest = key.split("/", 3)
        return parse_data_key(DATA + rest, size=int(size), **extra) if size.isdigit() else None
    except ValueError:
        return None


def parse_where_key(key: str, **extra: Any) -> Record | None:
    try:
        rest, size = key.rsplit("/", 1)
        _where, what, where, tail = rest.split("/", 3)
        rec = parse_data_key(f"{DATA}{what}/{tail}", size=int(size), **extra)
    except ValueError:
        return None
    if rec is None or not size.isdigit() or where_key(rec, rec.size or 0) != key:
        return None
    return rec


@dataclasses.dataclass(frozen=True)
class Scan:
    """One ranged listing: keys in (start_after, stop) under prefix."""

    prefix: str
    start_after: str
    stop: str


def plan(what: str, start: int | None, end: int | None, where: str | None = None) -> list[Scan]:
    """The ranged listings that find every record of ``what`` overlapping [start, end]:
    under data/, or with ``where`` under that where's entries."""
    base = f"{DATA}{what}/" if where is None else where_prefix(what, where)
    scans = []
    for name, span in SPAN_CLASSES:
        lo = 0 if start is None or span is None else max(0, start - span)
        hi = times.MAX_MS if end is None else end
        if lo > hi:
            continue
        prefix = f"{base}{name}/"
        scans.append(Scan(prefix, prefix + _time_path(lo), prefix + _time_path(hi) + "\x7f"))
    return scans


def scan_for_id(what: str, record_id: str) -> Scan | None:
    """The listing that holds the record with ``record_id`` if ``what`` is right."""
    start, index = int(record_id[:12], 16), int(record_id[12], 16)
    if index >= len(SPAN_CLASSES) or start > times.MAX_MS:
        return None
    prefix = class_prefix(what, index)
    return Scan(prefix, prefix + _time_path(start), prefix + _time_path(start) + "\x7f")
