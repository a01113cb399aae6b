"""The examples in README.md and docs/: found, classified, and run (tests/test_docs.py).

A fenced block's language says what it is:

- ``python``: run, in order, in one IPython shell per page (so a block may build on the
  page's earlier ones, and ``%lake`` lines run as they do in a notebook);
- ``console``: ``$ `` lines are commands (a line ending in ``\\`` goes on on the next);
  the lines after a command are its output, compared with what it prints (stdout and
  stderr) when shown, with ``...`` matching anything (doctest's ELLIPSIS) and runs of
  spaces matching any spaces;
- ``bash`` / ``sh``: a script, run whole;
- anything else (``text``, ``json``, ...): shown, never run; it must not look like a command.

A ``python``/``console``/``bash``/``sh`` block that cannot run here (it needs AWS, a Dask
cluster, installs the package) carries ``<!-- not run: REASON -->`` on the line before it.

Run as ``python -m support.docs SPEC.json`` (from tests/), the page's blocks run in the
current folder and environment, which the test made temporary; the exit status is 1 at
the first block that fails, with its page and line.
"""
from __future__ import annotations

import dataclasses
import doctest
import json
import re
import subprocess
import sys
from pathlib import Path

RUN = ("python", "console", "bash", "sh")
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.*?)\s*-->")
FENCE = re.compile(r"^(\s*)(```+)\s*([^`\s]*)[^`]*$")
# A shown block that starts a line with one of these is an example in disguise.
COMMAND_LIKE = re.compile(r"^(\$ |>>> |datalake |%%?lake|pip |python |import |from datalake_nb|"
                          r"lake\.|bash )")
SHELL_TIMEOUT = 120  # seconds: a bound on a hang, not a benchmark


@dataclasses.dataclass
class Block:
    page: str
    line: int          # of the opening fence, 1-based
    lang: str
    code: str
    reason: str | None  # why it is not run (from the comment before it), or None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def runnable(self) -> bool:
        return self.lang in RUN

    @property
    def runs(self) -> bool:
        return self.runnable and self.reason is None


def blocks(path: Path, name: str | None = None) -> list[Block]:
    """Every fenced block of a markdown file, with the not-run reason before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        indent, fence, lang = opened.groups()
        body, j = [], i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence)
                                      and lines[j].strip().strip("`") == ""):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        before = next((line for line in reversed(lines[:i]) if line.strip()), "")
        reason = NOT_RUN.search(before)
        found.append(Block(name or path.name, i + 1, lang, "\n".join(body) + "\n",
                           reason.group(1) if reason else None))
        i = j + 1
    return found


def console_steps(code: str) -> list[tuple[str, str]]:
    """(command, shown output) of each ``$ `` line of a console block."""
    steps: list[tuple[str, str]] = []
    lines = code.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            if steps:
                steps[-1] = (steps[-1][0], steps[-1][1] + lines[i] + "\n")
            i += 1
            continue
        command = lines[i][2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command += "\n" + lines[i]
        steps.append((command, ""))
        i += 1
    return steps


def _matches(expected: str, actual: str) -> bool:
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    return doctest.OutputChecker().check_output(expected, actual, flags)


def _fail(block: Block, message: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"\n{block.where}: the {block.lang} block failed: {message}\n")
    sys.exit(1)


def _run_console(block: Block) -> None:
    for command, shown in console_steps(block.code):
        done = subprocess.run(["bash", "-c", command], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=SHELL_TIMEOUT)
        sys.stdout.write(f"$ {command}\n{done.stdout}")
        if done.returncode != 0:
            _fail(block, f"`{command}` exited with {done.returncode}:\n{done.stdout}")
        if shown.strip() and not _matches(shown, done.stdout):
            _fail(block, f"`{command}` printed:\n{done.stdout}\nthe page shows:\n{shown}")


def _run_script(block: Block) -> None:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=SHELL_TIMEOUT)
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        _fail(block, f"exited with {done.returncode}:\n{done.stdout}")


def run(spec: list[dict]) -> None:
    shell = None
    for item in spec:
        block = Block(**item)
        if block.lang == "python":
            if shell is None:
                from IPython.core.interactiveshell import InteractiveShell
                shell = InteractiveShell.instance()
            result = shell.run_cell(block.code, store_history=False)
            if not result.success:
                _fail(block, f"{result.error_before_exec or result.error_in_exec!r} "
                             "(traceback above)")
        elif block.lang == "console":
            _run_console(block)
        else:
            _run_script(block)


if __name__ == "__main__":
    run(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
