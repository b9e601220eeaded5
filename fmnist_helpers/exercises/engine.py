"""Exercises that check themselves: one call after each exercise prints ✓ or a hint per check.

Each notebook's module (``nb04.py``, ...) registers its exercises with ``exercise(...)``: the
names an answer defines (``needs``), the notebook objects its checks also read (``uses``), and
independent checks. Every check has two halves:

- a **probe** calls the student's code (a function, a model, a loader) on inputs the check
  chooses and returns what came back as plain data: tensors, numbers, strings, and lists, tuples
  and dicts of them. Student code runs only here.
- a **judge** decides from that data alone, against expected results it computes itself (from
  the same seeds, from PyTorch's own functions, ...). It never calls student code.

In a student's notebook both halves run in the kernel (``check_exercise``), so the check cell
shows ✓ or a hint at once. The grader splits them (``probe_exercise`` in a sandboxed process that
holds the student's objects, ``judge_exercise`` in its own process), so a submission can change
what its code returns, never the verdict. Each check passes or fails on its own and carries
``points``; nothing a student writes can make a check raise: an error in an answer becomes a hint.

The results are also displayed as ``application/vnd.fmnist-course.check+json`` for the student's
own notebook; the grader never trusts them (it compares them with its own, to report tampering).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

CHECK_MIMETYPE = "application/vnd.fmnist-course.check+json"

PROBE_ERROR = "__probe_error__"
"""The key of the dict a probe's data becomes when the probe raised: ``{PROBE_ERROR: "Type: text"}``."""


def _is_true(data: Any) -> bool:
    return data is True


@dataclass(frozen=True)
class Check:
    """One property of an answer.

    ``probe(answers)`` calls the answer and returns plain data; ``judge(data)`` is true when the
    property holds; ``hint`` is shown when it does not (it teaches, it never gives the answer).
    A check without a judge is a probe that returns ``True`` or ``False`` itself: fine for a
    student's self-check, but the grader's verdict then rests on code that ran beside the
    student's (``tests/test_exercise_checks.py`` requires a judge on every course check).
    """

    description: str
    probe: Callable[[Mapping[str, Any]], Any]
    hint: str
    judge: Callable[[Any], bool] | None = None
    points: int = 1

    def decide(self, data: Any) -> bool:
        """The verdict on the probe's ``data`` (a probe that raised never passes)."""
        if probe_failed(data):
            return False
        return bool((self.judge or _is_true)(data))


@dataclass(frozen=True)
class Exercise:
    """An exercise: its key (``"04.2"``), title, the names its answer defines, the notebook objects
    its probes also read, its public checks and the hidden ones an instructor added."""

    key: str
    title: str
    needs: tuple[str, ...]
    checks: tuple[Check, ...]
    uses: tuple[str, ...] = ()
    hidden: tuple[Check, ...] = ()
    module: str = ""  # the module that registered it (the grader imports it again elsewhere)

    @property
    def number(self) -> str:
        """The exercise's number within its notebook: ``"2"`` for ``"04.2"``."""
        return self.key.split(".", 1)[1]

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the probes read: the answer's, then the notebook objects."""
        return tuple(dict.fromkeys(self.needs + self.uses))

    def all_checks(self) -> list[tuple[Check, bool]]:
        """``(check, hidden)`` for the public checks, then the hidden ones."""
        return [(c, False) for c in self.checks] + [(c, True) for c in self.hidden]

    @property
    def points(self) -> int:
        """The most points its checks give, hidden ones included."""
        return sum(check.points for check, _ in self.all_checks())


@dataclass
class CheckResult:
    """The outcome of one check, as a grade row needs it."""

    exercise: str
    check: str
    passed: bool
    message: str
    points: int = 0
    max_points: int = 1
    hidden: bool = False


@dataclass
class ExerciseReport:
    """Every check of one exercise, for one answer."""

    exercise: str
    title: str
    results: list[CheckResult] = field(default_factory=list)
    missing: tuple[str, ...] = ()  # answer names not defined yet

    @property
    def passed(self) -> int:
        """How many checks passed."""
        return sum(r.passed for r in self.results)

    def text(self) -> str:
        """What the student sees: a title line, why nothing could be checked (once), then ✓ or ✗
        and a hint per check."""
        lines = [f"Exercise {self.exercise} · {self.title}: {self.passed} of {len(self.results)} "
                 "checks pass"]
        if self.missing:
            lines.append(f"  {missing_message(self.exercise, self.missing)}")
            lines += [f"  ✗ {r.check}" for r in self.results]
        else:
            lines += [f"  {'✓' if r.passed else '✗'} {r.message}" for r in self.results]
        return "\n".join(lines)


EXERCISES: dict[str, Exercise] = {}
"""Every registered exercise, by key."""


def exercise(key: str, title: str, needs: Sequence[str], checks: Sequence[Check],
             uses: Sequence[str] = ()) -> Exercise:
    """Register an exercise (each notebook's module calls this); return it.

    ``needs``: the names the student's answer defines; ``uses``: other notebook objects the
    probes read (the trained ``network``, say)."""
    module = sys._getframe(1).f_globals.get("__name__", "")
    if key in EXERCISES:
        raise ValueError(f"exercise {key} is registered twice")
    if not checks:
        raise ValueError(f"exercise {key} needs at least one check")
    EXERCISES[key] = Exercise(key, title, tuple(needs), tuple(checks), tuple(uses), module=module)
    return EXERCISES[key]


def add_hidden_checks(key: str, checks: Sequence[Check]) -> Exercise:
    """Add an instructor's hidden ``checks`` to exercise ``key`` (``--hidden-checks FILE.py`` calls
    this from that file). Feedback shows their descriptions and pass or fail, never their code."""
    if key not in EXERCISES:
        known = ", ".join(sorted(EXERCISES))
        raise KeyError(f"hidden checks for exercise {key!r}: no such exercise; the exercises are: {known}")
    old = EXERCISES[key]
    EXERCISES[key] = replace(old, hidden=old.hidden + tuple(checks))
    return EXERCISES[key]


def answer_hash(value: Any, decimals: int = 3) -> str:
    """A short hash of an answer: numbers rounded to ``decimals``, text lower-cased and stripped.

    >>> answer_hash(0.5) == answer_hash(0.5001)
    True
    >>> answer_hash(0.5)
    '9b1356fe79c71f53'
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


# -- where judges find the data ------------------------------------------------------------------

_DATA_ROOT: list[str | None] = [None]


@contextlib.contextmanager
def judging_with(data_root: str | os.PathLike[str] | None) -> Iterator[None]:
    """While judges run: the Fashion-MNIST folder they load reference data from."""
    saved = _DATA_ROOT[0]
    _DATA_ROOT[0] = None if data_root is None else str(data_root)
    try:
        yield
    finally:
        _DATA_ROOT[0] = saved


def reference_data_root() -> str | None:
    """The data folder a judge loads from (``None``: the package's default, ``$FMNIST_DATA``)."""
    return _DATA_ROOT[0]


# -- probing and judging -------------------------------------------------------------------------

def probe_failed(data: Any) -> bool:
    """Whether ``data`` stands for a probe that raised."""
    return isinstance(data, dict) and set(data) == {PROBE_ERROR}


def run_probe(check: Check, answers: Mapping[str, Any]) -> Any:
    """``check.probe(answers)``, or ``{PROBE_ERROR: "Type: text"}`` when the student's code raised."""
    try:
        return check.probe(answers)
    except Exception as error:  # a wrong answer, not a broken check
        return {PROBE_ERROR: f"{type(error).__name__}: {error}"}


def missing_names(key: str, answers: Mapping[str, Any]) -> tuple[str, ...]:
    """The answer names of exercise ``key`` that ``answers`` does not define."""
    return tuple(name for name in EXERCISES[key].needs if name not in answers)


def missing_message(key: str, missing: Sequence[str]) -> str:
    """One sentence asking for the exercise first: "finish exercise 2 first: `a` and `b` are not
    defined yet (run your answer cell)"."""
    names = [f"`{name}`" for name in missing]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "is" if len(names) == 1 else "are"
    return (f"finish exercise {EXERCISES[key].number} first: {listed} {verb} not defined yet "
            "(run your answer cell)")


def probe_exercise(key: str, answers: Mapping[str, Any]) -> list[Any]:
    """The probe data of every check of exercise ``key`` (hidden ones last), in order. Student
    code runs here; the list holds only plain data (see ``dump_probes``). Checks that share a probe
    (one function, several judges) share its data: the student's code runs once per probe."""
    data: dict[Callable[[Mapping[str, Any]], Any], Any] = {}
    for check, _ in EXERCISES[key].all_checks():
        if check.probe not in data:
            data[check.probe] = run_probe(check, answers)
    return [data[check.probe] for check, _ in EXERCISES[key].all_checks()]


def judge_exercise(key: str, probes: Sequence[Any] | None, missing: Sequence[str] = (),
                   reason: str = "") -> ExerciseReport:
    """The report of exercise ``key`` from its checks' probe data (``probe_exercise``). Judges run
    here, never student code. ``missing`` answer names, or a ``reason`` with ``probes`` None, fail
    every check with that message."""
    exercise = EXERCISES[key]
    report = ExerciseReport(key, exercise.title, missing=tuple(missing))
    checks = exercise.all_checks()
    if probes is not None and len(probes) != len(checks):
        probes, reason = None, f"the probes returned {len(probes)} results for {len(checks)} checks"
    for index, (check, hidden) in enumerate(checks):
        if missing:
            passed, message = False, missing_message(key, missing)
        elif probes is None:
            passed, message = False, reason or "not checked"
        else:
            data = probes[index]
            try:
                passed = check.decide(data)
                message = check.description if passed else check.hint
            except Exception as error:  # the data was not what the judge expects: a wrong answer
                passed, message = False, f"{check.hint} (the answer gave {type(error).__name__}: {error})"
            if not passed and probe_failed(data):
                message = f"{check.hint} (checking it raised {data[PROBE_ERROR]})"
        if hidden:  # its description only: its hint and errors could show how it checks
            unchecked = f" ({message})" if missing or probes is None else ""
            message = f"hidden check: {check.description}{unchecked}"
        report.results.append(CheckResult(key, check.description, passed, message,
                                          check.points if passed else 0, check.points, hidden))
    return report


def run_checks(key: str, namespace: Mapping[str, Any]) -> ExerciseReport:
    """Probe and judge exercise ``key`` against the names in ``namespace``, in this process (a
    student's self-check); never raises for an answer."""
    missing = missing_names(key, namespace)
    probes = None if missing else probe_exercise(key, namespace)
    return judge_exercise(key, probes, missing)


# -- handing probe data from the sandbox to the judge -------------------------------------------

JSON_PROBES = b"fmnist-probes-json\n"
"""How probe data without torch starts (a process that never imported torch writes JSON)."""


def dump_probes(probes: Mapping[str, Any]) -> bytes:
    """``{exercise key: probe data list}`` as bytes that ``load_probes`` reads without running code:
    ``torch.save`` where torch is loaded (tensors), else JSON."""
    if "torch" not in sys.modules:
        return JSON_PROBES + json.dumps(dict(probes)).encode()
    import torch

    buffer = io.BytesIO()
    torch.save(dict(probes), buffer)
    return buffer.getvalue()


def load_probes(content: bytes) -> dict[str, Any]:
    """The probe data written by ``dump_probes``, read as JSON or with ``torch.load(weights_only=
    True)``: tensors and plain containers only, so reading it cannot run a submission's code."""
    if content.startswith(JSON_PROBES):
        loaded = json.loads(content[len(JSON_PROBES):])
    else:
        import torch

        loaded = torch.load(io.BytesIO(content), weights_only=True)
    if not isinstance(loaded, dict):
        raise ValueError("the probe data is not a dict of exercises")
    return loaded


def check_exercise(key: str, namespace: Mapping[str, Any]) -> None:
    """Check exercise ``key`` (``"04.2"``) against the names in ``namespace`` (a notebook's
    ``globals()``) and show ✓ or a hint for every check. Never raises for a wrong answer."""
    if key not in EXERCISES:
        known = ", ".join(sorted(EXERCISES))
        raise KeyError(f"no exercise {key!r}; the exercises are: {known}")
    with judging_with(namespace.get("data_root") if isinstance(namespace.get("data_root"), str) else None):
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
