"""Many files in one push: folders walked (``--recursive``), each file's metadata from its
path (a template), unmatched files listed or skipped, and ``--dry-run``'s records."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from ..core import layout
from ..core.errors import InvalidInput
from ..core.metadata import Record, ext_of
from ..engine.hashing import hash_open_file
from .templates import PathPattern

SHOWN = 10  # unmatched paths named in the error


class Pushed(list):  # type: ignore[type-arg]
    """The records of a push (or, with ``dry_run``, the records it would write), and the
    paths it skipped because they did not match the template."""
    skipped: list[str]
    dry_run: bool

    def __init__(self, records: Iterable[Record], skipped: list[str], dry_run: bool = False):
        super().__init__(records)
        self.skipped, self.dry_run = skipped, dry_run


def files_of(paths: Iterable[str | os.PathLike[str]], recursive: bool) -> list[Path]:
    """The paths, each folder replaced by the regular files under it (sorted; with
    ``recursive`` only: a folder without it is an error saying so)."""
    out: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            if not recursive:
                raise InvalidInput("path", f"{str(path)!r} is a folder; give --recursive "
                                           "(recursive=True) to push the files under it")
            for folder, dirs, names in os.walk(path):
                dirs.sort()
                out.extend(Path(folder) / name for name in sorted(names)
                           if (Path(folder) / name).is_file())
        else:
            out.append(path)
    return out


def items_from_paths(paths: list[Path], pattern: PathPattern | None, flags: dict[str, Any],
                     skip_unmatched: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """(items to push, paths skipped): each path's fields from ``pattern`` under the
    ``flags`` (given values win over the path).  A path the pattern does not match is an
    error naming them (before anything is uploaded), or skipped with ``skip_unmatched``."""
    given = {k: v for k, v in flags.items() if v is not None}
    if pattern is None:
        return [{**flags, "path": p} for p in paths], []
    items, unmatched = [], []
    for path in paths:
        found = pattern.fields(str(path.absolute()))
        if found is None:
            unmatched.append(str(path))
            continue
        item = {**flags, **found, **given, "path": path}
        if "start" in found and "start" not in given and item.get("end") is None:
            item["end_from_content"] = True  # a date in the path, the end from the content
        items.append(item)
    if unmatched and not skip_unmatched:
        names = ", ".join(unmatched[:SHOWN]) + (f" and {len(unmatched) - SHOWN} more"
                                                if len(unmatched) > SHOWN else "")
        raise InvalidInput("path-template", f"{len(unmatched)} file(s) do not match "
                                            f"{pattern.source!r}: {names}; nothing was pushed "
                                            "(--skip-unmatched pushes the others)")
    return items, unmatched


def would_push(jobs: list[tuple[Path, dict[str, Any]]]) -> list[Record]:
    """The records a push of ``jobs`` would write (each file hashed; nothing uploaded)."""
    out = []
    for path, fields in jobs:
        with open(path, "rb", buffering=0) as src:
            hash_hex, size = hash_open_file(src)
        out.append(layout.build_record(fields, hash_hex, ext_of(path.name), size=size))
    return out
