"""The grader's probe process: call a submission's answers for every check, print plain data.

Run as a script, by path, in the submission's sandbox, after its notebook ran:
``python .../probe_runner.py SPEC.json``. ``SPEC.json`` holds ``handover`` (the folder where the
kernel left one cloudpickle file per answer name), ``exercises`` (the keys to probe), ``modules``
(the modules that register them), ``hidden_checks`` (an instructor's file of extra checks, or
null), ``engine`` (the path of ``engine.py``) and ``data_root``.

Running by path keeps the package out until a registering module needs it: the engine is loaded
from its file under its package name, so the course's modules and a stand-in course share it.

The student's code runs here, so nothing printed here is trusted to be a verdict: each line of the
private output is one exercise's *probe data* (``dump_probes``), which the grader reads without
running code and judges in its own process. The answers' own printing goes to stderr.
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

ENGINE = "fmnist_helpers.exercises.engine"


def load_engine(path: str) -> Any:
    """``engine.py`` loaded from ``path`` as ``fmnist_helpers.exercises.engine`` (unless loaded)."""
    if ENGINE in sys.modules:
        return sys.modules[ENGINE]
    spec = importlib.util.spec_from_file_location(ENGINE, path)
    engine = importlib.util.module_from_spec(spec)
    sys.modules[ENGINE] = engine  # dataclasses look their module up while the file runs
    spec.loader.exec_module(engine)
    return engine


def load_answers(folder: Path, names: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers the kernel handed over, by name, and why others could not be read."""
    answers, problems = {}, {}
    for name in names:
        path = folder / f"{name}.pkl"
        if not path.is_file():
            continue
        try:
            answers[name] = pickle.loads(path.read_bytes())  # cloudpickle's files; its code runs here
        except Exception as error:
            problems[name] = f"{type(error).__name__}: {error}"
    return answers, problems


def main(spec_path: str) -> int:
    """Probe every exercise of the spec; one JSON line per exercise on the private output."""
    spec = json.loads(Path(spec_path).read_text())
    private = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the answers print goes to stderr, never into the data
    engine = load_engine(spec["engine"])
    for module in spec["modules"]:
        importlib.import_module(module)
    if spec.get("hidden_checks"):
        hidden = Path(spec["hidden_checks"])
        exec(compile(hidden.read_text(), str(hidden), "exec"), {"__name__": "hidden_checks"})
    folder = Path(spec["handover"])
    with engine.judging_with(spec.get("data_root")):
        for key in spec["exercises"]:
            exercise = engine.EXERCISES[key]
            answers, problems = load_answers(folder, exercise.names)
            missing = [name for name in exercise.needs if name not in answers]
            record: dict[str, Any] = {"exercise": key, "missing": missing, "problems": problems}
            if not missing:
                probes = engine.probe_exercise(key, answers)
                try:
                    content = engine.dump_probes({key: probes})
                except Exception as error:  # the answer returned something that is not plain data
                    failed = {engine.PROBE_ERROR: f"its result is not plain data ({type(error).__name__})"}
                    content = engine.dump_probes({key: [failed] * len(probes)})
                record["probes"] = base64.b64encode(content).decode()
            private.write(json.dumps(record) + "\n")
            private.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
