"""The package's two layers: what notebooks import, and the course tooling on top of it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import fmnist_helpers

PACKAGE = Path(fmnist_helpers.__file__).parent


def _imports(path: Path) -> set[str]:
    """The ``fmnist_helpers`` modules a file imports, as dotted names."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            name = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            found.add(name)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name.startswith("fmnist_helpers")}


def test_the_notebook_layer_never_imports_the_tooling():
    for path in PACKAGE.rglob("*.py"):
        if "course" in path.relative_to(PACKAGE).parts:
            continue
        upward = {name for name in _imports(path) if name.startswith("fmnist_helpers.course")}
        assert not upward, f"{path.name} imports {upward}"


def test_no_import_cycles():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        graph[module.removesuffix(".__init__")] = _imports(path)
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", " -> ".join([*trail, module])
        state[module] = "open"
        for target in graph.get(module, ()):
            if target != module and not module.startswith(target + "."):  # a package's own parts
                visit(target, [*trail, module])
        state[module] = "done"

    for module in graph:
        visit(module, [])


def test_importing_the_notebook_layer_loads_no_tooling():
    code = ("import sys, fmnist_helpers; "
            "print(any(m.startswith('fmnist_helpers.course') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
