"""What grading writes: the long table, scores, an LMS gradebook, where the class struggles, feedback.

- ``grades.csv``: one row per student, notebook and check (``GRADE_COLUMNS``), with points;
- ``scores.csv``: one row per student: each notebook's points, the total, the maximum, the percentage;
- ``gradebook.csv`` (with ``--roster``): Canvas's gradebook import layout, one column per notebook
  and a "Points Possible" row;
- ``checks_summary.csv`` and ``checks_summary.png``: pass rate and mean points per check;
- ``<student>.md``: the student's feedback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..exercises import EXERCISES
from .folders import write_atomically

GRADE_COLUMNS = ["student", "notebook", "exercise", "check", "passed", "points", "max_points",
                 "hidden", "message"]
"""The columns of ``grades.csv``."""

ROSTER_COLUMNS = ("folder", "id", "name")
"""The columns a ``--roster`` CSV must have (``sis_user_id``, ``sis_login_id``, ``section`` may follow)."""

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
"""The first columns of Canvas's gradebook CSV; one column per assignment follows."""


@dataclass
class Graded:
    """One student's notebook: its grade rows, what happened when it ran, whether the grader could
    do its job (False: the task was lost; grade it again), its sandbox and signs of tampering."""

    student: str
    notebook: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""  # for the feedback: why it was not run, or its first error
    graded: bool = True
    sandbox: str = ""
    tampering: list[str] = field(default_factory=list)
    unchecked_cells: list[str] = field(default_factory=list)  # exercises whose check cell is gone


def row(student: str, notebook: str, exercise: str, check: str, passed: bool, points: int,
        max_points: int, hidden: bool, message: str) -> dict[str, Any]:
    """One row of ``grades.csv``."""
    values = (student, notebook, exercise, check, passed, points, max_points, hidden, message)
    return dict(zip(GRADE_COLUMNS, values, strict=True))


def unchecked_rows(student: str, notebook: str, exercises: Sequence[str],
                   reason: str) -> list[dict[str, Any]]:
    """One failed row per check (hidden ones too) of ``exercises`` that could not be checked."""
    return [row(student, notebook, key, check.description, False, 0, check.points, hidden, reason)
            for key in exercises for check, hidden in EXERCISES[key].all_checks()]


def grades_table(records: Sequence[Graded]) -> pd.DataFrame:
    """The long table: one row per student, notebook and check."""
    return pd.DataFrame([r for g in records for r in g.rows], columns=GRADE_COLUMNS)


def scores_table(grades: pd.DataFrame, notebooks: Sequence[str]) -> pd.DataFrame:
    """One row per student: points per notebook, ``total``, ``possible`` and ``percent``."""
    points = grades.pivot_table(index="student", columns="notebook", values="points", aggfunc="sum",
                                sort=False).reindex(columns=list(notebooks)).fillna(0)
    possible = grades.groupby("student", sort=False)["max_points"].sum()
    table = points.astype(int)
    table["total"] = table.sum(axis=1)
    table["possible"] = possible.reindex(table.index).astype(int)
    table["percent"] = (100 * table["total"] / table["possible"].where(table["possible"] > 0)).round(1)
    return table.reset_index()


def possible_points(grades: pd.DataFrame) -> dict[str, int]:
    """The most points each notebook gives (from one student's rows: every student has all)."""
    first = grades[grades["student"] == grades["student"].iloc[0]] if len(grades) else grades
    return {str(k): int(v) for k, v in first.groupby("notebook", sort=False)["max_points"].sum().items()}


def read_roster(path: Path) -> pd.DataFrame:
    """The roster CSV (``ROSTER_COLUMNS``, then optional Canvas fields); ``ValueError`` naming what
    is wrong."""
    try:
        roster = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise ValueError(f"--roster {path}: cannot read it as CSV ({error})") from None
    missing = [c for c in ROSTER_COLUMNS if c not in roster.columns]
    if missing:
        raise ValueError(f"--roster {path}: it needs the columns {', '.join(ROSTER_COLUMNS)}; "
                         f"{', '.join(missing)} missing (it has {', '.join(roster.columns)})")
    duplicated = roster["folder"][roster["folder"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"--roster {path}: the folder {duplicated[0]!r} is listed twice")
    return roster


def canvas_gradebook(scores: pd.DataFrame, roster: pd.DataFrame, possible: dict[str, int]) -> pd.DataFrame:
    """Canvas's gradebook import: a "Points Possible" row, then one row per rostered student
    (a student with no submission folder scores 0); one column per notebook."""
    notebooks = list(possible)
    by_folder = scores.set_index("student")
    rows = [{"Student": "Points Possible", **dict.fromkeys(CANVAS_COLUMNS[1:], ""), **possible}]
    for _, person in roster.iterrows():
        scored = by_folder.loc[person["folder"]] if person["folder"] in by_folder.index else None
        rows.append({"Student": person["name"], "ID": person["id"],
                     "SIS User ID": person.get("sis_user_id", ""),
                     "SIS Login ID": person.get("sis_login_id", ""),
                     "Section": person.get("section", ""),
                     **{nb: int(scored[nb]) if scored is not None else 0 for nb in notebooks}})
    return pd.DataFrame(rows, columns=CANVAS_COLUMNS + notebooks)


def checks_summary(grades: pd.DataFrame) -> pd.DataFrame:
    """One row per check: how many students it was run for, the pass rate and the mean points."""
    summary = grades.groupby(["notebook", "exercise", "check", "hidden"], sort=False).agg(
        students=("student", "nunique"), passed=("passed", "sum"), mean_points=("points", "mean"),
        max_points=("max_points", "max")).reset_index()
    summary["pass_rate"] = (summary["passed"] / summary["students"]).round(3)
    summary["mean_points"] = summary["mean_points"].round(2)
    return summary[["notebook", "exercise", "check", "hidden", "students", "passed", "pass_rate",
                    "mean_points", "max_points"]]


def plot_checks_summary(summary: pd.DataFrame, path: Path) -> Path | None:
    """A horizontal bar chart of the checks' pass rates, hardest first; None if there are none."""
    if summary.empty:
        return None
    ordered = summary.sort_values("pass_rate", ascending=False)
    labels = [f"{r.exercise} {str(r.check)[:60]}" for r in ordered.itertuples()]
    fig = Figure(figsize=(10, max(2.5, 0.32 * len(ordered) + 1)))
    ax = fig.subplots()
    ax.barh(labels, 100 * ordered["pass_rate"], color="tab:blue")
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who pass (%)")
    ax.set_title("Checks by pass rate (the hardest at the bottom)")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    write_atomically(path, lambda partial: fig.savefig(partial, dpi=100, format="png"))
    return path


def feedback(student: str, graded: Sequence[Graded], preset: str, timeout: float | None) -> str:
    """The Markdown feedback for one student: points overall, per notebook and per exercise, then
    ✓ or a hint per check; hidden checks by description only; tampering and removed check cells."""
    rows = [r for g in graded for r in g.rows]
    limit = f", {timeout:g} s per notebook at most" if timeout else ""
    lines = [f"# Feedback for {student}", "",
             f"Executed with the {preset} parameters{limit}; the grader ran every check itself. "
             f"**{_points(rows)} points.**"]
    for g in graded:
        lines += ["", f"## {g.notebook}: {_points(g.rows)} points"]
        if g.note:
            lines += ["", g.note]
        if g.tampering:
            lines += ["", "**Tampering with the checks** (it changes nothing: the grade is the grader's "
                      "own run of the checks):"] + [f"- {t}" for t in g.tampering]
        if g.unchecked_cells:
            cells = g.unchecked_cells
            which = (f"The check cell of exercise {cells[0]} was" if len(cells) == 1 else
                     f"The check cells of exercises {', '.join(cells[:-1])} and {cells[-1]} were")
            lines += ["", f"{which} removed or changed; the grader ran the checks anyway."]
        for key in dict.fromkeys(r["exercise"] for r in g.rows):
            mine = [r for r in g.rows if r["exercise"] == key]
            lines += ["", f"### Exercise {key} · {EXERCISES[key].title}: {_points(mine)} points"]
            lines += [f"- {'✓' if r['passed'] else '✗'} {r['message']}" for r in mine]
    return "\n".join(lines) + "\n"


def _points(rows: Sequence[dict[str, Any]]) -> str:
    return f"{sum(int(r['points']) for r in rows)} of {sum(int(r['max_points']) for r in rows)}"
