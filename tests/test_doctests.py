"""Every docstring example in the package runs and gives what it shows (doctest). An example that
cannot run on its own (it needs a trained network, a course folder) is written as prose instead,
so no example is skipped."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fmnist_helpers"
WITH_EXAMPLES = sorted(
    ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    for path in PACKAGE.rglob("*.py") if ">>>" in path.read_text())


def test_the_package_has_examples_and_skips_none():
    assert len(WITH_EXAMPLES) >= 8, WITH_EXAMPLES
    skipped = [p.name for p in PACKAGE.rglob("*.py") if "doctest: +SKIP" in p.read_text()]
    assert not skipped, f"write these examples so they run, or as prose: {skipped}"


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert results.attempted > 0 and results.failed == 0, f"{name}: {results}"
