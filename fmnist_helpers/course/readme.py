"""``fmnist-course readme``: the README's measured numbers, generated from recorded results so they
cannot drift.

The files in ``results/``, the README's tables and ``update_readme`` are in ``measured`` (shared with
``refresh`` and the website); this command records a ``--preset quick`` run's seconds
(``record_quick_report``), then rewrites the README's blocks (``--check``: only says whether they
are up to date).
"""

from __future__ import annotations

import json
from pathlib import Path

from .catalog import CourseError
from .execute import Status
from .measured import update_readme, write_results

__all__ = ["record_quick_report", "update_readme"]


def record_quick_report(report: Path) -> None:
    """Store each notebook's seconds from a quick run's ``report.json`` in ``results/quick.json``."""
    record = json.loads(Path(report).read_text())
    if record["provenance"]["parameters"].get("preset") != "quick":
        raise CourseError(f"{report} is not a report of a --preset quick run")
    seconds = {n["notebook"]: n["seconds"] for n in record["notebooks"] if n["status"] == Status.OK}
    write_results("quick", {"date": record["provenance"]["date"], "seconds": seconds})
