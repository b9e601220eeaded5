"""The README's measured numbers are generated from ``results/`` and agree with the notebooks."""

from __future__ import annotations

import re

import nbformat
import pytest

from fmnist_helpers.course.catalog import discover_notebooks
from fmnist_helpers.course.measured import RESULT_SENTENCES, load_results, update_readme

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


SEARCH = {
    "rows": [{"epochs": 30, "lr": 0.01, "augment": True, "seed": 0, "validation_accuracy": 0.93412},
             {"epochs": 30, "lr": 0.01, "augment": True, "seed": 1, "validation_accuracy": 0.9322},
             {"epochs": 15, "lr": 0.01, "augment": False, "seed": 0, "validation_accuracy": 0.9301}],
    "reference_seeds": {"accuracies": [0.93412, 0.9322], "mean": 0.9332, "sd": 0.0014},
    "yardstick": 0.0038, "provenance": {"parameters": {"seeds": [0, 1]}},
}
SEARCH["chosen"] = SEARCH["rows"][0]


def test_the_search_block_shows_every_row_and_the_choice():
    from fmnist_helpers.course import measured

    table, choice = measured.search_block(SEARCH).split("\n\n")
    assert table.splitlines()[2:] == ["| 30 | 0.01 | yes | 0 | **0.9341** |",
                                      "| 30 | 0.01 | yes | 1 | 0.9322 |",
                                      "| 15 | 0.01 | no | 0 | 0.9301 |"]
    assert choice == ("The reference setting over seeds 0, 1: validation accuracy 0.9332 on average, "
                      "standard deviation 0.0014, so a yardstick of 0.0038. Chosen: **30 epochs at a peak "
                      "learning rate of 0.01, with augmentation**, validation accuracy 0.9341.")


def test_the_published_figures_come_from_the_benchmark_rows():
    from fmnist_helpers.course import measured

    text = measured.published_block({"12_accuracy_ladder": {"metrics": {
        "test_accuracy": 0.9335, "parameter_count": 70_330, "flip_tta": False}}})
    assert "human performance 0.835; convolutional networks with two to five convolutional layers " \
           "0.876–0.939 (15 rows)" in text
    assert ("reaches 0.9335: above 12 of these 15 rows; the best is 2 Conv+2 FC (random horizontal flips), "
            "0.939.") in text
    assert measured.published_block({}).count("Notebook 12") == 0


def test_gpu_figures_reported_elsewhere_are_quoted_with_their_source():
    from fmnist_helpers.course import measured

    reported = measured.load_results("gpu_reported")
    sentence = measured.reported_gpu_sentences(reported)
    assert sentence.startswith(f"Reported in {reported['source']}, measured on {reported['machine']}")
    assert "not re-measured here" in sentence and "0.585 s on CUDA against 4.7 s" in sentence
    assert measured.reported_gpu_sentences({}) == ""


def test_every_day_a_notebook_was_measured_has_a_host_speed_reading():
    from fmnist_helpers.course import measured
    from fmnist_helpers.course.catalog import CourseError

    host = {"machine": "2 CPU cores", "reference_host_speed_s": 2.6,
            "readings": [{"date": "2026-12-04", "host_speed_s": [4.0, 6.8], "measured": "notebooks 01-11"}]}
    notebooks = {"01_a": {"metrics": {"measured_on": {"date": "2026-12-04T21:05:06+00:00"}}}}
    block = measured.machine_block(host, notebooks)
    assert block.endswith("reads 2.6 s; more is slower): notebooks 01-11 on 2026-12-04, when it read "
                          "4.0 to 6.8 s.")
    notebooks["12_b"] = {"metrics": {"measured_on": {"date": "2026-12-05T02:00:00+00:00"}}}
    with pytest.raises(CourseError, match="no host_speed reading for 2026-12-05"):
        measured.machine_block(host, notebooks)
