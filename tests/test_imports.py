"""The package's layers: no import circles, and arrows that point down only.

Walks every module's imports with ``ast`` (also the ones inside functions, which
hide a circle rather than remove it), so a new circle or an upward import fails here
before it confuses anyone.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import datalake_nb

PACKAGE = Path(datalake_nb.__file__).parent
NAME = "datalake_nb"


def modules() -> dict[str, Path]:
    """Dotted name -> file of every module in the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports, wherever in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    edges = {name: imports_of(name, path, set(mods)) for name, path in mods.items()}
    # a package's __init__ is run by importing any of its modules: not a circle of its own
    return {name: {t for t in targets if not name.startswith(t + ".")}
            for name, targets in edges.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_walk_sees_imports():
    edges = graph()
    assert "datalake_nb.lake" in edges["datalake_nb.cli"] or any(
        "datalake_nb.lake" in edges[m] for m in edges["datalake_nb.cli"])
    assert "datalake_nb.core.errors" in edges["datalake_nb.stores.s3"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_circles():
    assert cycle(graph()) is None


LAYERS = [  # each layer may import only the ones before it (and itself)
    ["datalake_nb.core"],
    ["datalake_nb.config", "datalake_nb.logs", "datalake_nb.output", "datalake_nb.recipes",
     "datalake_nb.hints"],
    ["datalake_nb.stores"],
    ["datalake_nb.engine"],
    ["datalake_nb.rows", "datalake_nb.plot"],
    ["datalake_nb.ingest"],
    ["datalake_nb.lake"],
    ["datalake_nb.commands"],
    ["datalake_nb.cli", "datalake_nb.__main__", "datalake_nb.notebook"],
]


def layer_of(name: str) -> int | None:
    for index, layer in enumerate(LAYERS):
        if any(name == top or name.startswith(top + ".") for top in layer):
            return index
    return None


def test_arrows_point_down():
    """Lower layers never import higher ones."""
    upward = [(name, target) for name, targets in graph().items() for target in targets
              if layer_of(name) is not None and layer_of(target) is not None
              and layer_of(target) > layer_of(name)]
    assert upward == []


def test_every_module_has_a_layer():
    assert [name for name in modules() if name != NAME and layer_of(name) is None] == []


@pytest.mark.parametrize("name", sorted(set(modules()) - {f"{NAME}.__main__"}))  # that one runs the CLI
def test_each_module_imports_on_its_own(name):
    """In a fresh interpreter: in this one, most modules were imported already (by conftest
    and other tests), and ``import_module`` would only look them up."""
    code = f"import sys, {name}; assert sys.modules[{name!r}].__file__.startswith({str(PACKAGE)!r})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=PACKAGE.parent, timeout=120)  # the package beside the cwd: this copy
    assert proc.returncode == 0, proc.stderr

