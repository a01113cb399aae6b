"""The metadata record (the seed's version "0") and the rules every field obeys."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any

from . import times
from .errors import InvalidInput

VERSION = "0"
NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
EXT_RE = re.compile(r"(\.[A-Za-z0-9]{1,8}){1,3}")
HEX32_RE = re.compile(r"[0-9a-f]{32}")
# Length limits keep every key the lake writes under S3's 1024-byte limit and
# every path segment under the 255-byte file-name limit of local folders.
LIMITS = {"what": 64, "where": 64, "data-version": 32, "work_id": 64}
EXT_MAX = 16


def validate_name(field: str, value: Any) -> str:
    """what, where and data-version: 1..limit ASCII letters, digits, - and _."""
    limit = LIMITS[field]
    if not isinstance(value, str):
        raise InvalidInput(field, f"expected text, got {type(value).__name__} {value!r}")
    if not value:
        raise InvalidInput(field, f"is required: 1 to {limit} ASCII letters, digits, '-' or '_'")
    if len(value) > limit:
        raise InvalidInput(field, f"{value[:20]!r}... is {len(value)} characters; at most {limit}")
    if not NAME_RE.fullmatch(value):
        bad = sorted({c for c in value if not NAME_RE.fullmatch(c)})
        hint = " (no file extension)" if field == "what" and "." in bad else ""
        raise InvalidInput(field, f"{value!r} contains {''.join(bad)!r}; only ASCII letters, "
                                  f"digits, '-' and '_' are allowed{hint}")
    return value


def is_name(field: str, value: Any) -> bool:
    """Whether ``validate_name(field, value)`` would accept ``value``."""
    try:
        validate_name(field, value)
    except InvalidInput:
        return False
    return True


def validate_order(start: int | None, end: int | None) -> None:
    """An end before its start is a mistake (in a record or a query); None is open."""
    if start is not None and end is not None and end < start:
        raise InvalidInput("end", f"{times.iso(end)} is before start {times.iso(start)}; "
                                  "end must be >= start or omitted")


def validate_work_id(value: Any) -> str | None:
    """None, or 1..64 bytes (UTF-8) of printable text that is not the string "null"."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("work_id", f"expected text or None, got {type(value).__name__} {value!r}")
    if value == "":
        raise InvalidInput("work_id", "is empty; leave it out (null) or give 1 to 64 characters")
    if value == "null":
        raise InvalidInput("work_id", "must not be the string 'null'; leave it out instead")
    if not value.isprintable() or value != value.strip():
        raise InvalidInput("work_id", f"{value!r} has control characters or surrounding "
                                      "spaces; only printable characters are allowed")
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        raise InvalidInput("work_id", f"{value!r} is not valid Unicode text") from None
    if size > LIMITS["work_id"]:
        raise InvalidInput("work_id", f"{value[:20]!r}... is {size} bytes (UTF-8); "
                                      f"at most {LIMITS['work_id']}")
    return value


def validate_ext(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput("ext", f"expected text, got {type(value).__name__} {value!r}")
    if value and (len(value) > EXT_MAX or not EXT_RE.fullmatch(value)):
        raise InvalidInput("ext", f"{value!r} is not a file extension like '.log' or '.log.gz'")
    return value


def ext_of(filename: str) -> str:
    """The readable extension of a file name ('.log.gz'), or '' if it has none."""
    parts = filename.split(".")[1:]
    ext = ""
    for part in reversed(parts):  # keep the longest valid run of trailing suffixes
        candidate = "." + part + ext
        if not EXT_RE.fullmatch(candidate) or len(candidate) > EXT_MAX:
            break
        ext = candidate
    return ext


@dataclasses.dataclass(frozen=True)
class Record:
    """One file's metadata. ``id`` and ``hash`` are assigned by the lake."""

    start: int
    end: int | None
    where: str
    what: str
    data_version: str
    work_id: str | None
    hash: str
    id: str
    ext: str = ""        # original extension, so fetched files keep it
    size: int | None = None
    url: str | None = None
    version: str = VERSION

    def to_json(self) -> dict[str, Any]:
        """The seed's JSON record (plus size and url when known)."""
        out: dict[str, Any] = {
            "version": self.version, "start": self.start, "end": self.end,
            "work_id": self.work_id, "where": self.where, "what": self.what,
            "data-version": self.data_version, "id": self.id, "hash": self.hash,
        }
        if self.size is not None:
            out["size"] = self.size
        if self.url is not None:
            out["url"] = self.url
        return out

    @property
    def stop(self) -> int:
        """The last instant the file covers (its start when it has no end)."""
        return self.start if self.end is None else self.end

    def __repr__(self) -> str:
        """Readable at a glance: ISO UTC times, no URL (it is in ``.url``)."""
        end = "None" if self.end is None else times.iso(self.end)
        size = "" if self.size is None else f", size={self.size}"
        work = "" if self.work_id is None else f", work_id={self.work_id!r}"
        return (f"Record(what={self.what!r}, where={self.where!r}, start={times.iso(self.start)}, "
                f"end={end}, data_version={self.data_version!r}{work}{size}, id={self.id!r})")


def validate_fields(*, what: Any, where: Any, start: Any, end: Any = None,
                 data_version: Any, work_id: Any = None) -> dict[str, Any]:
    """Validate user-given fields; return them normalised (times in UTC ms)."""
    fields = {
        "what": validate_name("what", what),
        "where": validate_name("where", where),
        "data_version": validate_name("data-version", data_version),
        "work_id": validate_work_id(work_id),
    }
    if start is None:
        raise InvalidInput("start", f"is required; use {times.HELP}")
    fields["start"] = times.to_ms(start, "start")
    fields["end"] = None if end is None else times.to_ms(end, "end")
    validate_order(fields["start"], fields["end"])
    return fields


def make_id(fields: dict[str, Any], hash_hex: str, ext: str, span_class: int) -> str:
    """32 hex digits: 12 of start ms, 1 of span class, 19 of a digest of the record.

    The same file pushed with the same metadata gets the same id (so a retried
    push writes the same keys), and the id says where its record lives.
    """
    canon = json.dumps([VERSION, fields["start"], fields["end"], fields["where"],
                        fields["what"], fields["data_version"], fields["work_id"],
                        hash_hex, ext], separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.blake2b(canon.encode(), digest_size=10).hexdigest()[:19]
    return f"{fields['start']:012x}{span_class:x}{digest}"


def validate_hash(value: Any) -> str:
    if not isinstance(value, str) or not HEX32_RE.fullmatch(value):
        raise InvalidInput("hash", f"{value!r} is not a content hash (32 lowercase hex digits)")
    return value


def validate_id(value: Any) -> str:
    if not isinstance(value, str) or not HEX32_RE.fullmatch(value):
        raise InvalidInput("id", f"{value!r} is not a record id (32 lowercase hex digits)")
    return value
