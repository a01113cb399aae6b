"""LakePicker: choose, look at and fetch log files from a notebook (widget.py builds and
wires the controls and runs the actions in the background; render.py is what it shows)."""
from .widget import QUICK_RANGES, LakePicker

__all__ = ["LakePicker", "QUICK_RANGES"]
