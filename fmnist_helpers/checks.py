"""Parameter checks for the notebooks' checking cell: a bad value stops with a message naming it."""

from __future__ import annotations

import ast
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
    if minimum is not None and (value < minimum or (value == minimum and not inclusive_minimum)):
        bound = "at least" if inclusive_minimum else "greater than"
        raise ParameterError(f"{name} must be {bound} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be at most {maximum}, got {value}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool; else raise ``ParameterError``."""
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; else raise ``ParameterError``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ParameterError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def check_optional_int(name: str, value: Any, minimum: int = 1) -> int | None:
    """Return ``value`` if it is ``None`` (no limit) or an int of at least ``minimum``."""
    return None if value is None else check_int(name, value, minimum=minimum)


def _as_list(name: str, values: Any) -> Any:
    """Read text such as ``"[0.01, 0.001]"`` (what ``papermill -p`` passes) as a Python list."""
    if isinstance(values, str):
        try:
            return ast.literal_eval(values)
        except (ValueError, SyntaxError):
            raise ParameterError(f"{name} must be a list such as [1, 2], got {values!r}") from None
    return values


def check_int_list(name: str, values: Any, minimum: int | None = None) -> list[int]:
    """Return ``values`` as a list if it is a non-empty list of ints each at least ``minimum``."""
    values = _as_list(name, values)
    if not isinstance(values, (list, tuple)) or not values:
        raise ParameterError(f"{name} must be a non-empty list of integers, got {values!r}")
    return [check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(values)]


def check_float_list(name: str, values: Any, minimum: float | None = None) -> list[float]:
    """Return ``values`` as a list if it is a non-empty list of numbers each above ``minimum``."""
    values = _as_list(name, values)
    if not isinstance(values, (list, tuple)) or not values:
        raise ParameterError(f"{name} must be a non-empty list of numbers, got {values!r}")
    return [check_float(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(values)]
