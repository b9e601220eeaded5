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


def test_seeds_sweep_is_recorded_and_summarised(tmp_path, monkeypatch):
    from fmnist_helpers.course import readme

    monkeypatch.setattr(readme, "results_dir", lambda: tmp_path / "results")
    sweep = tmp_path / "sweep-12_accuracy_ladder-2026-11-28_20-00-00" / "results.csv"
    sweep.parent.mkdir()
    sweep.write_text("seed,status,test_accuracy,parameter_count\n"
                     "1,ok,0.9380,70330\n0,ok,0.9361,70330\n2,ok,0.9365,70330\n3,failed,,\n")
    readme.record_seeds_sweep(sweep)
    table = readme.seeds_table(readme.load_results("capstone_seeds"))
    assert table.splitlines()[2:5] == ["| 0 | 0.9361 |", "| 1 | 0.9380 |", "| 2 | 0.9365 |"]
    assert table.endswith("Mean 0.9369, standard deviation 0.0010, from 0.9361 to 0.9380 over 3 seeds.")


def test_a_sweep_of_another_notebook_is_refused(tmp_path, monkeypatch):
    from fmnist_helpers.course import readme
    from fmnist_helpers.course.catalog import CourseError

    monkeypatch.setattr(readme, "results_dir", lambda: tmp_path / "results")
    sweep = tmp_path / "sweep-04_training-2026-11-28_20-00-00" / "results.csv"
    sweep.parent.mkdir()
    sweep.write_text("seed,status,test_accuracy\n0,ok,0.87\n1,ok,0.86\n")
    with pytest.raises(CourseError, match="not the results.csv of a sweep of notebook 12 over seeds"):
        readme.record_seeds_sweep(sweep)
    assert not (tmp_path / "results").exists()
