"""Sections of bench/RESULTS.md that a separate bench writes (``python -m bench.emulators``,
``bench.time_range``, ``bench.import_archive``), each between ``<!-- NAME: command -->``
and ``<!-- /NAME -->``, so each rewrites its own and ``python -m bench`` keeps them all."""
from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
_SECTION = re.compile(r"<!-- ([\w-]+): [^>]*-->.*?<!-- /\1 -->", re.S)


def begin(name: str, command: str) -> str:
    return f"<!-- {name}: {command} -->"


def end(name: str) -> str:
    return f"<!-- /{name} -->"


def write(path: Path, name: str, section: str) -> None:
    """Replace the section ``name`` of ``path`` (or add it at the end)."""
    text = path.read_text() if path.exists() else ""
    found = next((m for m in _SECTION.finditer(text) if m.group(1) == name), None)
    if found:
        text = text[:found.start()] + section + text[found.end():]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def kept(path: Path) -> str:
    """Every marked section of ``path``, in order, for ``python -m bench`` to keep."""
    text = path.read_text() if path.exists() else ""
    return "\n\n".join(m.group(0) for m in _SECTION.finditer(text))
