"""The run report's seed: read from the provenance each notebook recorded with ``setup.save_metrics``."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from standins import notebook

from fmnist_helpers.course.execute import NotebookResult, Status
from fmnist_helpers.course.options import Folders
from fmnist_helpers.course.report import recorded_seeds, write_report
from fmnist_helpers.course.run import run_course
from fmnist_helpers.results import save_metrics

SEEDED_PARAMETERS = '''\
from typing import Optional

seed: int = {seed}  # recorded by setup.save_metrics
out_dir: Optional[str] = None  # where metrics.json goes
'''

SEEDED_BODY = '''\
import fmnist_helpers as fh
setup = fh.start_notebook("{stem}", globals())
setup.save_metrics({{"test_accuracy": 0.5}})
'''


def _report(run_dir: Path) -> dict:
    return json.loads((run_dir / "report.json").read_text())


def test_the_report_shows_the_seed_the_notebooks_recorded(tmp_path):
    """A shared seed is shown once; a notebook that wrote no metrics.json has none and changes
    nothing; where the recorded seeds differ, the report names each notebook's."""
    results = [NotebookResult("01_a", Status.OK), NotebookResult("02_b", Status.OK),
               NotebookResult("03_c", Status.NOT_RUN)]
    for result in results[:2]:
        (tmp_path / result.notebook).mkdir()
        save_metrics(tmp_path / result.notebook, {"test_accuracy": 0.5}, seed=4)
    write_report(tmp_path, results, {"preset": "quick"})
    report = _report(tmp_path)
    assert report["provenance"]["seed"] == 4
    assert [n["seed"] for n in report["notebooks"]] == [4, 4, None]
    assert "- seed: `4`" in (tmp_path / "report.md").read_text()

    save_metrics(tmp_path / "02_b", {"test_accuracy": 0.5}, seed=9)
    assert recorded_seeds(tmp_path, results) == {"01_a": 4, "02_b": 9}
    write_report(tmp_path, results, {"preset": "quick"})
    assert _report(tmp_path)["provenance"]["seed"] == {"01_a": 4, "02_b": 9}


def test_a_run_reports_the_seed_each_notebook_ran_with(tmp_path, data_root):
    """Two notebooks with different default seeds: the report takes each seed from the notebook's
    own metrics.json (``setup.save_metrics``), not from the overrides or the defaults."""
    course = tmp_path / "notebooks"
    course.mkdir()
    for stem, seed in (("01_one", 1), ("02_two", 2)):
        nb = notebook(SEEDED_PARAMETERS.format(seed=seed), SEEDED_BODY.format(stem=stem))
        nbformat.write(nb, course / f"{stem}.ipynb")
    run_dir, results = run_course(folders=Folders(course, tmp_path / "runs"))
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    metrics = json.loads((run_dir / "02_two" / "metrics.json").read_text())
    assert metrics["provenance"]["seed"] == 2
    assert metrics["provenance"]["parameters"] == {"seed": 2, "out_dir": str(run_dir / "02_two")}
    report = _report(run_dir)
    assert report["provenance"]["seed"] == {"01_one": 1, "02_two": 2}
    assert [n["seed"] for n in report["notebooks"]] == [1, 2]
