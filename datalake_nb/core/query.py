"""A query of the lake (what, where, time range, work id), parsed and checked once, at the
edge; every layer below takes the Query value and never parses again."""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from . import times
from .errors import InvalidInput
from .metadata import Record, validate_name, validate_order, validate_work_id

Names = str | Sequence[str] | None
KEYWORDS = ("what", "where", "start", "end", "work_id")


def check_keywords(query: dict[str, Any]) -> None:
    """A keyword that ``list`` does not take is an InvalidInput naming it."""
    unknown = sorted(set(query) - set(KEYWORDS))
    if unknown:
        raise InvalidInput(unknown[0], "unknown query keyword; allowed: " + ", ".join(KEYWORDS))


def items_given(field: str, items: Any, query: dict[str, Any]) -> bool:
    """Whether a call (fetch, remove) names its files by ``items`` (ids, records, a list()
    frame) rather than by query keywords: exactly one of the two is allowed."""
    check_keywords(query)
    asked = any(value is not None for value in query.values())
    if items is not None and asked:
        raise InvalidInput(field, "give items (ids, records or a list() frame) or query "
                                  "keywords (what=, where=, ...), not both")
    if items is None and not asked:
        raise InvalidInput(field, "give items (ids, records or a list() frame) or at least "
                                  "one of what=, where=, start=, end=, work_id=")
    return items is not None


def split_names(field: str, value: Names) -> list[str] | None:
    """'a,b' or ['a', 'b'] -> ['a', 'b'] (validated); None -> None (no filter)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [validate_name(field, item.strip() if isinstance(item, str) else item) for item in items]
    return list(dict.fromkeys(names))


@dataclasses.dataclass(frozen=True)
class Query:
    """Which records: None in a field means no filter.  Times are epoch ms (UTC); a record
    matches when its [start, end] overlaps [start, end] of the query."""

    whats: tuple[str, ...] | None = None
    wheres: tuple[str, ...] | None = None
    start: int | None = None
    end: int | None = None
    work_id: str | None = None

    @classmethod
    def parse(cls, what: Names = None, where: Names = None, start: Any = None,
              end: Any = None, work_id: str | None = None) -> "Query":
        """The keywords of ``Lake.list``, checked (InvalidInput names the field)."""
        whats, wheres = split_names("what", what), split_names("where", where)
        qs = None if start is None else times.to_ms(start, "start")
        qe = None if end is None else times.to_ms(end, "end")
        validate_order(qs, qe)
        return cls(None if whats is None else tuple(whats),
                   None if wheres is None else tuple(wheres), qs, qe, validate_work_id(work_id))

    @property
    def window(self) -> tuple[int | None, int | None]:
        return self.start, self.end

    def keeps(self, rec: Record) -> bool:
        """Whether a listed record matches the where and time filters (the listing chose
        the what or the work id)."""
        return ((self.wheres is None or rec.where in self.wheres)
                and (self.end is None or rec.start <= self.end)
                and (self.start is None or rec.stop >= self.start))
