"""What a submission did to the checks, for its feedback: it never changes a grade, it explains one.

Grades come from the grader's own run of the checks (``grading_task``), so a submission that
forges check results or replaces the check functions only fools its own notebook. This module
finds such attempts and says so:

- **code** in the submitted cells that writes the check's display format, replaces or patches the
  course's check functions, or reaches for the grader's hand-over hook;
- **displays** that claim a check passed where the grader's run failed it;
- **check cells** of the instructor's notebook missing from the submission (removed or edited):
  not tampering, but the student should know the grader ran those checks anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import nbformat

from ..exercises import CHECK_MIMETYPE
from .grading_task import GRADER_TAG
from .notebook_files import first_line

CHECK_NAMES = ("check_exercise", "run_checks", "judge_exercise", "probe_exercise", "EXERCISES",
               "run_probe", "load_probes", "dump_probes")
"""The course's check machinery: a submission has no reason to assign or patch any of it."""

SUSPICIOUS = [
    (re.compile(re.escape(CHECK_MIMETYPE.split("/")[1]) + "|fmnist-course\\.check"),
     "writes the check results' display format itself"),
    (re.compile(rf"(^|[.\s])({'|'.join(CHECK_NAMES)})\s*=(?!=)", re.M),
     "replaces the course's check functions"),
    (re.compile(rf"setattr\([^)]*['\"]({'|'.join(CHECK_NAMES)})['\"]"),
     "replaces the course's check functions"),
    (re.compile(r"mock\.patch[^\n]*(exercises|engine|check_exercise)"),
     "patches the course's check functions"),
    (re.compile(r"_fmnist_grader|events\.unregister"),
     "interferes with the grader's hand-over"),
]
"""Patterns in a submitted cell and what each means."""


def code_findings(submitted: nbformat.NotebookNode) -> list[str]:
    """One line per submitted cell whose code tampers with the checks."""
    findings = []
    for index, cell in enumerate(submitted.cells):
        if cell.cell_type != "code" or GRADER_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        reasons = list(dict.fromkeys(why for pattern, why in SUSPICIOUS if pattern.search(cell.source)))
        if reasons:
            findings.append(f"cell {index} (`{first_line(cell.source)[:60]}`) {' and '.join(reasons)}")
    return findings


def displayed_results(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """Every check result a notebook displayed, in order (what ``check_exercise`` shows)."""
    rows = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            bundle = output.get("data", {}).get(CHECK_MIMETYPE)
            if isinstance(bundle, Mapping) and isinstance(bundle.get("results"), list):
                rows += [dict(row) for row in bundle["results"] if isinstance(row, Mapping)]
    return rows


def display_findings(executed: nbformat.NotebookNode | None, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """A line for each check the notebook displayed as passed that the grader's run failed."""
    graded = {(r["exercise"], r["check"]): bool(r["passed"]) for r in rows}
    claimed = sorted({f"{d.get('exercise')} “{d.get('check')}”" for d in displayed_results(executed)
                      if executed is not None and d.get("passed") is True
                      and graded.get((d.get("exercise"), d.get("check"))) is False})
    if not claimed:
        return []
    return [f"the notebook displayed ✓ for {len(claimed)} check(s) that the grader's own run failed: "
            + "; ".join(claimed)]


def missing_check_cells(submitted: nbformat.NotebookNode, exercises: Sequence[str]) -> list[str]:
    """The exercises whose check cell (``check_exercise("KEY", ...)``) the submission lacks."""
    sources = "\n".join(c.source for c in submitted.cells if c.cell_type == "code")
    return [key for key in exercises
            if not re.search(rf"check_exercise\(\s*['\"]{re.escape(key)}['\"]", sources)]


def findings(submitted: nbformat.NotebookNode, executed: nbformat.NotebookNode | None,
             rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every sign of tampering: in the submitted code, then in what the notebook displayed."""
    return code_findings(submitted) + display_findings(executed, rows)
