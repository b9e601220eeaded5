"""The stand-in course's exercises (90.1, 90.2, 91.1), registered for the grader's tests.

The stand-in notebooks import this module (the tests put ``tests/grading`` on ``PYTHONPATH``). In
the grader's process, where ``fmnist_helpers.exercises`` is already imported, it registers into the
course's own registry, so the grader expects these exercises. In a stand-in kernel it loads the same
``engine.py`` without importing the ``fmnist_helpers`` package, which would import torch: a kernel
then starts in about a second, and the check cells display exactly what ``check_exercise`` shows.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ENGINE = "fmnist_helpers.exercises.engine"

if ENGINE in sys.modules:  # the grader (the test process): the course's registry
    engine = sys.modules[ENGINE]
else:  # a stand-in kernel: the same engine, alone
    package = importlib.util.find_spec("fmnist_helpers")
    assert package is not None and package.origin, "the course is not installed"
    spec = importlib.util.spec_from_file_location(
        "grading_engine", Path(package.origin).parent / "exercises" / "engine.py")
    engine = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = engine  # dataclasses look their module up while the file runs
    spec.loader.exec_module(engine)

Check, exercise, matches = engine.Check, engine.exercise, engine.matches
check_exercise = engine.check_exercise

exercise("90.1", "six times seven", needs=["answer"], checks=[
    Check("`answer` is a whole number", lambda ns: type(ns["answer"]).__name__,
          "`answer` should be a whole number (an int)", judge=lambda name: name == "int"),
    Check("`answer` is six times seven", lambda ns: ns["answer"],
          "`answer` is not six times seven yet", judge=lambda value: matches(value, "dc586772be790c40")),
])

exercise("90.2", "a list of squares", needs=["squares"], checks=[
    Check("`squares` has five items", lambda ns: len(ns["squares"]),
          "`squares` should have five items, one for each number from 0 to 4",
          judge=lambda length: length == 5),
    Check("`squares` holds the squares", lambda ns: [int(x) for x in ns["squares"]],
          "each item should be its number times itself",
          judge=lambda values: matches(values, "b5db0bbb5eaf54e0"), points=2),
])

exercise("91.1", "the dataset's name", needs=["word"], checks=[
    Check("`word` names the dataset", lambda ns: str(ns["word"]),
          "`word` should be the dataset's name, as the course writes it",
          judge=lambda word: matches(word, "d9a138d1aab2a978")),
])
