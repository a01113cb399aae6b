"""Write the settings table of docs/configuration.md from datalake_nb.config.SETTINGS.

Run it from the checkout after adding or changing a setting:

    python docs/config_table.py

It replaces what is between the two marker lines; tests/test_docs.py fails while the
page's table differs from the one this writes.
"""
from __future__ import annotations

from pathlib import Path

PAGE = Path(__file__).with_name("configuration.md")
BEGIN = "<!-- settings table: written by `python docs/config_table.py`; do not edit by hand -->"
END = "<!-- end of settings table -->"


def render(text: str) -> str:
    """The page's text with the generated table between the markers."""
    from datalake_nb.config import settings_table
    head, _, rest = text.partition(BEGIN + "\n")
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{settings_table()}{END}{tail}"


if __name__ == "__main__":
    PAGE.write_text(render(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the settings table into {PAGE}")
