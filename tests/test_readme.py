"""The README's measured numbers are generated from ``results/`` and agree with the notebooks."""

from __future__ import annotations

import re

import nbformat
import pytest

from fmnist_helpers.course.catalog import discover_notebooks
from fmnist_helpers.course.readme import RESULT_SENTENCES, load_results, update_readme

NUMBER = re.compile(r"\d[\d,]*\.?\d*")


def test_readme_blocks_are_generated_from_the_results():
    assert update_readme(check=True), "README.md is out of date: run `fmnist-course readme`"


def _numbers(text: str) -> list[str]:
    return [n.replace(",", "").rstrip(".") for n in NUMBER.findall(text)]


def _output_text(notebook: nbformat.NotebookNode) -> str:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts += [str(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(texts)


@pytest.mark.parametrize("path", discover_notebooks(), ids=lambda p: p.stem)
def test_every_readme_result_is_an_output_of_its_committed_notebook(path):
    """Each number of the README's result line is printed by the committed notebook (at the
    precision the README shows it), so results/ cannot disagree with the notebooks."""
    entry = load_results("notebooks").get(path.stem)
    assert entry, f"results/notebooks.json has no {path.stem}: run `fmnist-course refresh`"
    sentence = RESULT_SENTENCES[path.stem[:2]](entry["metrics"])
    printed = _numbers(_output_text(nbformat.read(path, as_version=4)))
    for number in _numbers(sentence):
        decimals = len(number.partition(".")[2])
        shown = {f"{float(n):.{decimals}f}" for n in printed if n.replace(".", "").isdigit()}
        assert f"{float(number):.{decimals}f}" in shown, f"{path.stem}: {number} ({sentence})"
