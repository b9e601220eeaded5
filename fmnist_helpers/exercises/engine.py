"""Exercises that check themselves: one call after each exercise prints ✓ or a hint per check.

Each notebook's module (``nb04.py``, ...) registers its exercises with ``exercise(...)``: the
names an answer must define, and independent checks. A check is a property (a range, a shape, a
relation between two results) or a comparison with a *hash* of the expected value, so the expected
answer never appears in plain text. Each check passes or fails on its own (partial credit), and
nothing a student writes can make the check cell raise: an error in an answer becomes a hint.

The results are also displayed as ``application/vnd.fmnist-course.check+json``, which is what
``fmnist-course grade`` reads from an executed notebook.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

CHECK_MIMETYPE = "application/vnd.fmnist-course.check+json"


@dataclass(frozen=True)
class Check:
    """One property of an answer: ``test(namespace)`` true means it holds; ``hint`` if it does not."""

    description: str
    test: Callable[[Mapping[str, Any]], bool]
    hint: str


@dataclass(frozen=True)
class Exercise:
    """An exercise: its key (``"04.2"``), title, the names its answer defines, and its checks."""

    key: str
    title: str
    needs: tuple[str, ...]
    checks: tuple[Check, ...]

    @property
    def number(self) -> str:
        """The exercise's number within its notebook: ``"2"`` for ``"04.2"``."""
        return self.key.split(".", 1)[1]


@dataclass
class CheckResult:
    """The outcome of one check, as a grade row needs it."""

    exercise: str
    check: str
    passed: bool
    message: str


@dataclass
class ExerciseReport:
    """Every check of one exercise, for one answer."""

    exercise: str
    title: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        """How many checks passed."""
        return sum(r.passed for r in self.results)

    def text(self) -> str:
        """What the student sees: a title line, then ✓ or ✗ and a hint per check."""
        lines = [f"Exercise {self.exercise} · {self.title}: {self.passed} of {len(self.results)} "
                 "checks pass"]
        lines += [f"  {'✓' if r.passed else '✗'} {r.message}" for r in self.results]
        return "\n".join(lines)


EXERCISES: dict[str, Exercise] = {}
"""Every registered exercise, by key."""


def exercise(key: str, title: str, needs: Sequence[str], checks: Sequence[Check]) -> Exercise:
    """Register an exercise (each notebook's module calls this); return it."""
    if key in EXERCISES:
        raise ValueError(f"exercise {key} is registered twice")
    if not checks:
        raise ValueError(f"exercise {key} needs at least one check")
    EXERCISES[key] = Exercise(key, title, tuple(needs), tuple(checks))
    return EXERCISES[key]


def answer_hash(value: Any, decimals: int = 3) -> str:
    """A short hash of an answer: numbers rounded to ``decimals``, text lower-cased and stripped.

    Write checks with the hash of the expected value, never the value itself:

    >>> answer_hash(0.8773)
    'd5c5d9d9b3b0e1f1'  # doctest: +SKIP
    """
    if isinstance(value, bool):
        text = str(value)
    elif isinstance(value, (int, float)):
        rounded = round(float(value), decimals)
        text = f"{0.0 if rounded == 0 else rounded:.{decimals}f}"
    elif isinstance(value, (list, tuple)):
        text = "[" + ",".join(answer_hash(v, decimals) for v in value) + "]"
    else:
        text = str(value).strip().lower()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def matches(value: Any, digest: str, decimals: int = 3) -> bool:
    """Whether ``answer_hash(value, decimals)`` is ``digest``."""
    return answer_hash(value, decimals) == digest


def between(value: Any, low: float, high: float) -> bool:
    """Whether ``value`` is a real number in ``[low, high]`` (a range check for results that vary)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high)


def run_checks(key: str, namespace: Mapping[str, Any]) -> ExerciseReport:
    """Check the answer to exercise ``key`` found in ``namespace``; never raises for an answer."""
    exercise = EXERCISES[key]
    report = ExerciseReport(key, exercise.title)
    missing = [name for name in exercise.needs if name not in namespace]
    for check in exercise.checks:
        if missing:
            names = ", ".join(f"`{name}`" for name in missing)
            message = (f"finish exercise {exercise.number} first: {names} is not defined yet "
                       "(run your answer cell)")
            report.results.append(CheckResult(key, check.description, False, message))
            continue
        try:
            passed = bool(check.test(namespace))
            message = check.description if passed else check.hint
        except Exception as error:  # a wrong answer, not a broken check: say what went wrong
            passed = False
            message = f"{check.hint} (checking it raised {type(error).__name__}: {error})"
        report.results.append(CheckResult(key, check.description, passed, message))
    return report


def check_exercise(key: str, namespace: Mapping[str, Any]) -> None:
    """Check exercise ``key`` (``"04.2"``) against the names in ``namespace`` (a notebook's
    ``globals()``) and show ✓ or a hint for every check. Never raises for a wrong answer."""
    if key not in EXERCISES:
        known = ", ".join(sorted(EXERCISES))
        raise KeyError(f"no exercise {key!r}; the exercises are: {known}")
    report = run_checks(key, namespace)
    bundle = {"text/plain": report.text(),
              CHECK_MIMETYPE: {"exercise": key, "title": report.title,
                               "results": [asdict(r) for r in report.results]}}
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None  # noqa: N806
    if get_ipython is not None and get_ipython() is not None:
        display(bundle, raw=True)
    else:
        print(report.text())
