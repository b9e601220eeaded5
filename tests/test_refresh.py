"""``fmnist-course refresh`` on stand-in notebooks: the committed notebook is rewritten in place
with its outputs and clean metadata, its seconds and metrics recorded in ``results/``; a notebook
that fails is left as it was and recorded nowhere."""

from __future__ import annotations

import json
import os

import nbformat
import pytest
from standins import notebook

from fmnist_helpers.course.catalog import CourseError
from fmnist_helpers.course.refresh import refresh_notebooks

PARAMETERS = '''\
from typing import Optional

x: int = 3  # a number the notebook reports
fail: bool = False  # raise an error halfway
out_dir: Optional[str] = None  # None: outputs/<notebook> in the course
'''

BODY = '''\
from fmnist_helpers import resolve_out_dir, save_metrics
if fail:
    raise RuntimeError("failing on purpose")
save_metrics(resolve_out_dir(out_dir, "{stem}"), {{"test_accuracy": x / 10}})
print("x is", x)
'''


@pytest.fixture
def course(tmp_path, monkeypatch):
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    for stem, fail in [("01_first", False), ("02_second", True)]:
        parameters = PARAMETERS.replace("fail: bool = False", f"fail: bool = {fail}")
        nbformat.write(notebook(parameters, BODY.format(stem=stem)), root / "notebooks" / f"{stem}.ipynb")
    monkeypatch.chdir(root)  # the course folder is found from the working directory
    return root


def test_refresh_rewrites_the_notebook_and_records_its_results(course):
    before = dict(os.environ)
    (result,) = refresh_notebooks("01")
    assert result.status == "ok"
    saved = nbformat.read(course / "notebooks" / "01_first.ipynb", as_version=4)
    printed = [o.get("text", "") for c in saved.cells if c.cell_type == "code" for o in c.outputs]
    assert "x is 3\n" in printed
    assert "papermill" not in saved.metadata and all("papermill" not in c.metadata for c in saved.cells)
    answer = saved.cells[-1]  # the stand-in's solution cell, marked for nbgrader
    assert answer.metadata["nbgrader"]["solution"] is True
    recorded = json.loads((course / "results" / "notebooks.json").read_text())["01_first"]
    assert recorded["seconds"] == result.seconds > 0
    assert recorded["metrics"]["test_accuracy"] == 0.3
    assert set(recorded["metrics"]["measured_on"]) == {"date", "cpu", "cpu_count", "gpu"}
    assert dict(os.environ) == before  # TQDM_DISABLE was set for the refresh only


def test_a_failing_notebook_is_left_as_it_was_and_not_recorded(course):
    path = course / "notebooks" / "02_second.ipynb"
    original = path.read_bytes()
    with pytest.raises(CourseError, match="02_second.ipynb failed and was left unchanged: cell"):
        refresh_notebooks("02")
    assert path.read_bytes() == original
    assert not (course / "results" / "notebooks.json").exists()
