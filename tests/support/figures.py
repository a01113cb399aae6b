"""Reliability figures the tests add up and print at the end of a run (conftest's
terminal summary): faults injected, concurrent writers, bad inputs tried, kills
(signals to real processes) survived, files lost, phantom rows (listed, not fetchable)."""
from __future__ import annotations

import collections
import threading

FIGURES: collections.Counter[str] = collections.Counter()
_LOCK = threading.Lock()
NAMES = ("faults injected", "concurrent writers", "bad inputs tried", "kills survived", "files lost",
         "phantom rows")


def add(name: str, amount: int = 1) -> None:
    assert name in NAMES, name
    with _LOCK:
        FIGURES[name] += amount


def line() -> str | None:
    if not any(FIGURES.values()):
        return None
    return "reliability: " + ", ".join(f"{name} {FIGURES[name]}" for name in NAMES)
