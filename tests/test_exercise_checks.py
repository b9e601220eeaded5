"""Every exercise of the course is checked by behaviour and its hints never give the answer away.

- every check has a judge (the grader decides from the probe's data, never from code that ran
  beside the student's);
- no hint (and no description) holds a line of its notebook's solutions, or a code expression
  that stands in one;
- every notebook with exercises has a test file of answers (right ones written differently and
  plausible wrong ones) in ``tests/exercises/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from fmnist_helpers.course.catalog import discover_notebooks
from fmnist_helpers.course.notebook_files import BEGIN, END, SOLUTION_TAG, is_tagged
from fmnist_helpers.exercises import EXERCISES

NOTEBOOKS = {path.name[:2]: path for path in discover_notebooks()}
KEYS = sorted(EXERCISES, key=lambda key: [int(part) for part in key.split(".")])
COURSE_KEYS = [key for key in KEYS if key[:2] in NOTEBOOKS]
SHORTEST_LINE = 12  # characters without spaces: shorter solution lines (`return x`) say little


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def solution_lines(path: Path) -> set[str]:
    """The code lines of a notebook's answers (solution regions and solution cells), squeezed."""
    lines: list[str] = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        if is_tagged(cell, SOLUTION_TAG):
            lines += cell.source.splitlines()
            continue
        inside = False
        for line in cell.source.splitlines():
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif inside:
                lines.append(line)
    code = {_squeezed(line.split("#", 1)[0]) for line in lines}
    return {line for line in code if len(line) >= SHORTEST_LINE}


def code_spans(text: str) -> list[str]:
    """The backticked spans of ``text`` that are code expressions (an operator, a call with
    arguments or an index), not names."""
    spans = re.findall(r"`([^`]+)`", text)
    return [s for s in spans if len(_squeezed(s)) >= 8 and re.search(r"[=+\-*/%<>]|\w\(.+\)|\[.+\]", s)]


@pytest.mark.parametrize("key", COURSE_KEYS)
def test_every_check_has_a_judge(key):
    for check, _ in EXERCISES[key].all_checks():
        assert check.judge is not None, f"{key}: “{check.description}” decides in its probe"
        assert check.points >= 1


@pytest.mark.parametrize("key", COURSE_KEYS)
def test_no_hint_gives_the_answer_away(key):
    solutions = solution_lines(NOTEBOOKS[key[:2]])
    assert solutions, f"notebook {key[:2]} has no solution code to compare with"
    for check, _ in EXERCISES[key].all_checks():
        for text in (check.hint, check.description):
            squeezed = _squeezed(text)
            shown = [line for line in solutions if line in squeezed]
            assert not shown, f"{key}: “{text}” contains the solution line {shown[0]!r}"
            for span in code_spans(text):
                inside = [line for line in solutions if _squeezed(span) in line]
                assert not inside, f"{key}: “{text}” shows `{span}`, which is in the solution {inside[0]!r}"


def test_the_hint_test_catches_a_hint_that_gives_the_answer():
    assert code_spans("use `z - z.max(dim=1, keepdim=True).values` first") == [
        "z - z.max(dim=1, keepdim=True).values"]
    assert code_spans("look at `torch.flip` and `dims`") == []


@pytest.mark.parametrize("number", sorted({key[:2] for key in COURSE_KEYS}))
def test_every_notebook_with_exercises_has_tried_answers(number):
    tests = Path(__file__).parent / "exercises" / f"test_exercises_{number}.py"
    assert tests.is_file(), f"no answers tried for notebook {number}'s exercises"
    source = tests.read_text()
    for key in [k for k in COURSE_KEYS if k.startswith(number + ".")]:
        assert f'"{key}"' in source, f"{tests.name} tries no answer for exercise {key}"
