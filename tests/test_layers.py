"""The package's two layers: what notebooks import, and the course tooling on top of it.

The rules are docs/design.md's ("The two layers"): the notebook layer (``fmnist_helpers``,
``fmnist_helpers.exercises``) never imports the command layer (``fmnist_helpers.course``); the command
layer may import the notebook layer; a command module (one that implements a subcommand of
``fmnist-course``, or a command a Makefile target runs) imports no other command module: a helper two
commands need lives in a shared module of the command layer. No import cycles.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import fmnist_helpers

PACKAGE = Path(fmnist_helpers.__file__).parent


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def _is_module(name: str) -> bool:
    """Whether the dotted ``name`` is a module or a package of ``fmnist_helpers``."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """The ``fmnist_helpers`` modules a file imports, as dotted names."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            name = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            found.add(name)
            # `from . import worker`: the module worker, not only its package
            found |= {f"{name}.{alias.name}" for alias in node.names if _is_module(f"{name}.{alias.name}")}
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
        graph[_module_name(path)] = _imports(path)
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


COURSE = PACKAGE / "course"
DISPATCHERS = {"cli", "__main__"}
"""``fmnist-course`` itself: it imports every command to run it."""


def _command_modules() -> set[str]:
    """The command modules: ``course/<name>.py`` for each subcommand ``<name>`` of ``fmnist-course``
    (read from ``cli.build_parser``'s ``add_parser`` calls) and each module a Makefile target runs
    with ``python -m`` (``make site``: ``website``)."""
    tree = ast.parse((COURSE / "cli.py").read_text())
    subcommands = {node.args[0].value for node in ast.walk(tree)
                   if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                   and node.func.attr == "add_parser" and node.args
                   and isinstance(node.args[0], ast.Constant)}
    makefile = (PACKAGE.parent / "Makefile").read_text()
    run_by_make = set(re.findall(r"-m fmnist_helpers\.course\.(\w+)", makefile))
    return {name for name in subcommands | run_by_make if (COURSE / f"{name}.py").is_file()}


def test_every_import_of_the_package_names_one_of_its_modules():
    for path in PACKAGE.rglob("*.py"):
        unknown = {name for name in _imports(path) if not _is_module(name)}
        assert not unknown, f"{path.relative_to(PACKAGE.parent)} imports {unknown}, not a module"


def test_the_tooling_imports_the_notebook_layer_and_every_module_is_in_a_layer():
    """Two layers and nothing else: a new sub-package must be placed in one of them (and the rules
    above extended to it)."""
    packages = {p.parent.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("__init__.py")}
    assert packages == {".", "exercises", "course"}, packages
    downward = {name for path in COURSE.glob("*.py") for name in _imports(path)
                if not name.startswith("fmnist_helpers.course")}
    assert {"fmnist_helpers.paths", "fmnist_helpers.results"} <= downward  # allowed, and used


def test_the_command_modules_are_found():
    assert {"run", "sweep", "grade", "student", "refresh", "readme", "predict", "website"} <= \
        _command_modules()


def test_a_command_module_imports_no_other_command_module():
    """A helper that two commands need lives in a shared module of the command layer (for instance
    ``measured``, ``notebook_files``, ``catalog``), never in one of the commands."""
    commands = {f"fmnist_helpers.course.{name}" for name in _command_modules()}
    for path in COURSE.glob("*.py"):
        module = _module_name(path)
        if path.stem in DISPATCHERS or module not in commands:
            continue
        others = (_imports(path) & commands) - {module}
        assert not others, f"the command {path.stem} imports the command(s) {sorted(others)}: move " \
                           "the helper it uses into a shared module of the command layer"
