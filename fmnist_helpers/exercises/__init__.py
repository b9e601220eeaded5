"""Self-checking exercises: ``check_exercise("04.2", globals())`` after each exercise.

The engine is in ``engine``; each notebook's exercises and their checks are in ``nbNN``.
"""

from . import (  # noqa: F401  (registers)
    nb01,
    nb02,
    nb03,
    nb04,
    nb05,
    nb06,
    nb07,
    nb08,
    nb09,
    nb10,
    nb11,
    nb12,
    nb13,
    nb14,
)
from .engine import (
    CHECK_MIMETYPE,
    EXERCISES,
    Check,
    CheckResult,
    add_hidden_checks,
    answer_hash,
    between,
    check_exercise,
    exercise,
    matches,
    run_checks,
)

__all__ = ["CHECK_MIMETYPE", "EXERCISES", "Check", "CheckResult", "add_hidden_checks", "answer_hash",
           "between", "check_exercise", "exercise", "matches", "run_checks"]
