"""Where a notebook finds the outputs of the earlier notebook it reads: 05 and 14 read 04's weights
through ``train_dir`` (``Parameter.links_to`` in ``fmnist_helpers.parameters``).

One rule, the same for ``run``, ``sweep`` and ``grade``. For each parameter of a notebook that
names an earlier notebook's outputs, the first of:

1. the value given with ``-p``, used as given;
2. that notebook's folder in this run, when the run executes it first (only ``run`` executes
   several notebooks);
3. its folder in the newest earlier run (``runs/<stamp>/``, in the runs folder) in which it finished;
4. ``outputs/<notebook>`` beside the notebooks, where it writes when run in JupyterLab (and where
   the notebook itself looks when given nothing), when that folder holds anything.

When none of these has them, the request is refused before anything runs, saying how to make them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..parameters import parameter
from ..paths import outputs_dir
from .catalog import CourseError, discover_notebooks, notebook_number, notebook_parameters
from .execute import Status
from .options import Folders

OVERRIDE = "-p override"
THIS_RUN = "this run"
EARLIER_RUN = "newest earlier run"
OUTPUTS = "the course's outputs"
"""Which step of the rule chose a folder, as the run's report and the commands say it."""


@dataclass(frozen=True)
class Link:
    """Where parameter ``parameter`` of a notebook finds the outputs of ``source`` (``"04_training"``),
    and which step of the rule chose it (``origin``). ``folder`` is None for a value given with
    ``-p`` (the notebook gets that value) and for ``THIS_RUN`` (the folder the run gives ``source``)."""

    parameter: str
    source: str
    origin: str
    folder: Path | None = None

    @property
    def number(self) -> str:
        """The linked notebook's number: ``"04"``."""
        return notebook_number(Path(self.source))

    def where(self, run_dir: Path | None = None) -> Path | None:
        """The folder: ``run_dir/<source>`` for ``THIS_RUN``; None for a value given with ``-p``."""
        if self.origin == THIS_RUN and run_dir is not None:
            return run_dir / self.source
        return self.folder

    def note(self, notebook: str, value: Any) -> str:
        """The sentence a report or a command shows: ``05_analysis used train_dir=... (this run)``."""
        return f"{notebook} used {self.parameter}={value} ({self.origin})"


def newest_finished(runs_dir: Path, notebook: str) -> Path | None:
    """The folder of ``notebook`` (a stem) in the newest run in ``runs_dir`` whose ``report.json``
    says it finished ok; None when there is none."""
    def started(report: Path) -> tuple[str, int]:  # 20261128-163000[-n]: by time, then n
        name = report.parent.name
        suffix = name[16:]
        return name[:15], int(suffix) if suffix.isdigit() else 1

    for report in sorted(runs_dir.glob("*/report.json"), key=started, reverse=True):
        try:
            record = json.loads(report.read_text())
        except (OSError, ValueError):
            continue
        if any(n["notebook"] == notebook and n["status"] == Status.OK for n in record.get("notebooks", [])):
            return report.parent / notebook
    return None


def _source(path: Path, name: str, number: str, notebooks_dir: Path) -> str:
    stems = [p.stem for p in discover_notebooks(notebooks_dir) if notebook_number(p) == number]
    if not stems:
        raise CourseError(f"{path.stem} reads the outputs of notebook {number} ({name}), which is not "
                          f"in {notebooks_dir}; pass -p {name} FOLDER")
    return stems[0]


def _find(path: Path, name: str, source: str, folders: Folders,
          running: Collection[str] | None) -> Link:
    if running is not None and source in running:
        return Link(name, source, THIS_RUN)
    earlier = newest_finished(folders.runs(), source)
    if earlier is not None:
        return Link(name, source, EARLIER_RUN, earlier)
    outputs = outputs_dir(folders.notebooks()) / source
    if outputs.is_dir() and any(outputs.iterdir()):
        return Link(name, source, OUTPUTS, outputs)
    number = notebook_number(Path(source))
    advice = (f"add it (--only {number},{notebook_number(path)}) or pass -p {name} FOLDER"
              if running is not None else f"run it first (fmnist-course run --only {number})")
    raise CourseError(f"{path.stem} needs the outputs of {source}, which "
                      f"{'is not in this run and ' if running is not None else ''}has not finished "
                      f"in any earlier run in {folders.runs()} and has none in {outputs}: {advice}")


def resolve_links(path: Path, given: Collection[str], folders: Folders,
                  running: Collection[str] | None = None) -> list[Link]:
    """Where notebook ``path`` finds the outputs it reads of earlier notebooks, one ``Link`` per
    parameter, by the rule in this module's text. ``given``: the parameters set with ``-p``;
    ``running``: the notebooks (stems) a ``run`` executes before this one (None for a command that
    executes only this notebook: ``sweep``, ``grade``). ``CourseError`` when one has none."""
    links = []
    for name in notebook_parameters(path):
        number = parameter(name).links_to
        if number is None:
            continue
        source = _source(path, name, number, folders.notebooks())
        links.append(Link(name, source, OVERRIDE) if name in given
                     else _find(path, name, source, folders, running))
    return links


def linked_dirs(links: Sequence[Link], run_dir: Path | None = None) -> dict[str, Path]:
    """The folders ``catalog.parameters_for`` links, by the linked notebook's number."""
    found = {link.number: link.where(run_dir) for link in links}
    return {number: folder for number, folder in found.items() if folder is not None}


def link_notes(notebook: str, links: Sequence[Link], parameters: Mapping[str, Any]) -> list[str]:
    """What each link gave the notebook (``parameters``: the values it ran with)."""
    return [link.note(notebook, parameters.get(link.parameter)) for link in links]
