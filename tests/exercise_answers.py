"""Trying an exercise's checks on answers written in tests: right ones written differently, and
plausible wrong ones (a common mistake, a hard-coded result, the test set where validation is asked).

``verdicts`` runs the checks twice, as a student's check cell does (probe and judge in one process)
and as the grader does (the probe data serialized with ``dump_probes``, read back with
``load_probes`` and judged), and asserts that both agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fmnist_helpers.exercises.engine import (
    dump_probes,
    judge_exercise,
    judging_with,
    load_probes,
    probe_exercise,
    run_checks,
)


def verdicts(key: str, answers: Mapping[str, Any], data_root: str | None = None) -> list[bool]:
    """Whether each check of exercise ``key`` passes for ``answers``, in order; the same through
    the grader's split (probe data serialized and read back without running code)."""
    with judging_with(data_root):
        in_kernel = [r.passed for r in run_checks(key, answers).results]
        probes = load_probes(dump_probes({key: probe_exercise(key, answers)}))[key]
        graded = [r.passed for r in judge_exercise(key, probes).results]
    assert in_kernel == graded, f"{key}: the self-check says {in_kernel}, the grader {graded}"
    return in_kernel


def passes_all(key: str, answers: Mapping[str, Any], data_root: str | None = None) -> bool:
    """Whether every check of ``key`` passes for ``answers``."""
    return all(verdicts(key, answers, data_root))


def fails_some(key: str, answers: Mapping[str, Any], data_root: str | None = None) -> bool:
    """Whether at least one check of ``key`` fails for ``answers``."""
    return not all(verdicts(key, answers, data_root))
