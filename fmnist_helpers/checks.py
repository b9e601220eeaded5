"""Value checks that stop with a ``ParameterError`` naming the parameter and what is allowed."""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from typing import Any


class ParameterError(ValueError):
    """A notebook parameter has a value the notebook cannot use."""


def check_int(name: str, value: Any, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Return ``value`` if it is an int within ``[minimum, maximum]``; else raise ``ParameterError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ParameterError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be at most {maximum}, got {value}")
    return value


def check_float(name: str, value: Any, minimum: float | None = None,
                maximum: float | None = None, inclusive_minimum: bool = False) -> float:
    """Return ``value`` as a float if it is a number in range; else raise ``ParameterError``.

    The minimum is exclusive unless ``inclusive_minimum`` (a learning rate must be above 0).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):  # 1e1000 reads as inf; nan compares false with every bound
        raise ParameterError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value < minimum or (value == minimum and not inclusive_minimum)):
        bound = "at least" if inclusive_minimum else "greater than"
        raise ParameterError(f"{name} must be {bound} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be at most {maximum}, got {value}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool; else raise ``ParameterError`` (with a hint for ``"true"``)."""
    if not isinstance(value, bool):
        hint = ""
        if isinstance(value, str) and value.lower() in ("true", "false"):
            hint = f" (write {value.capitalize()}, with a capital letter: Python's spelling)"
        raise ParameterError(f"{name} must be True or False, got {value!r}{hint}")
    return value


def check_str(name: str, value: Any) -> str:
    """Return ``value`` if it is a string; else raise ``ParameterError``."""
    if not isinstance(value, str):
        raise ParameterError(f"{name} must be a string, got {value!r} ({type(value).__name__})")
    return value


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; else raise ``ParameterError``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ParameterError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def read_list(name: str, values: Any) -> list[Any]:
    """``values`` as a non-empty list; text such as ``"[0.01, 0.001]"`` (what ``papermill -p``
    passes) is read as Python."""
    if isinstance(values, str):
        try:
            values = ast.literal_eval(values)
        except (ValueError, SyntaxError):
            raise ParameterError(f"{name} must be a list such as [1, 2], got {values!r}") from None
    if not isinstance(values, (list, tuple)) or not values:
        raise ParameterError(f"{name} must be a non-empty list such as [1, 2], got {values!r}")
    return list(values)
