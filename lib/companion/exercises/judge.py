"""How a self-check judges an answer: targets, verdicts and the registry of checks (`exercise`).

Every check computes its expected answer from the exercise's formula and inputs, never from a solution's
printed number; the inputs default to the chapter's quick settings, and the student passes them as
keyword arguments where the exercise varies them. A wrong answer's verdict says only which way it is off
(or which entries are), so a student can check before opening the solution.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Target:
    """One expected number and the answers accepted for it: [low, high], or (low, high] if `open_low`."""

    value: float
    low: float
    high: float
    name: str = ""
    open_low: bool = False

    def accepts(self, x: float) -> bool:
        above_low = x > self.low if self.open_low else x >= self.low
        return above_low and x <= self.high

    def side(self, x: float) -> str:
        """Which way a rejected answer is off: says nothing about the value itself."""
        if math.isnan(x):
            return "not a number"
        return "too high" if x > self.high else "too low"


def near(value: float, *, abs_tol: float = 0.0, rel_tol: float = 0.0, name: str = "") -> Target:
    """A target accepting value +- max(abs_tol, rel_tol |value|)."""
    tol = max(abs_tol, rel_tol * abs(value))
    return Target(value, value - tol, value + tol, name)


def exact(value: float, name: str = "") -> Target:
    """A target accepting only the value itself (counts, indices, depths)."""
    return Target(value, value, value, name)


@dataclass(frozen=True)
class Check:
    """What the answer is, how to compute the expected one from the inputs, and, for answers that are
    not plain numbers, how to judge them (returns whether right and a verdict without the answer)."""

    asks: str
    expected: Callable[..., Any]
    judge: Callable[[Any, Any], tuple[bool, str]] | None = None


# Every exercise's check by its label, filled in by `exercise` as the chapters' modules of this package load.
CHECKS: dict[str, Check] = {}


def exercise(label: str, asks: str, judge: Callable[[Any, Any], tuple[bool, str]] | None = None) -> Callable:
    """Register the decorated formula as the check of exercise `label` (a `:label:` of the chapter's
    exercise), asking for `asks`; `judge` decides answers that are not plain numbers."""
    if not label.startswith("ex-"):
        raise ValueError(f"an exercise label starts with 'ex-', got {label!r}")

    def register(expected: Callable[..., Any]) -> Callable[..., Any]:
        if label in CHECKS:
            raise ValueError(f"two checks for {label!r}")
        CHECKS[label] = Check(asks, expected, judge)
        return expected

    return register


def _lookup(label: str) -> Check:
    if label not in CHECKS:
        raise ValueError(f"no self-check for {label!r}; the exercises with checks are: {', '.join(CHECKS)}")
    return CHECKS[label]


def _inputs(label: str, given: dict[str, Any]) -> dict[str, Any]:
    """The exercise's inputs, defaults filled in; an unknown or missing one is a clear error."""
    signature = inspect.signature(_lookup(label).expected)
    try:
        bound = signature.bind(**given)
    except TypeError as err:
        raise ValueError(f"{label}: {err} ({describe(label)})") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def describe(label: str) -> str:
    """What a check wants: the answer and its inputs with their defaults."""
    check_ = _lookup(label)
    params = ", ".join(p.name if p.default is p.empty else f"{p.name}={p.default!r}"
                       for p in inspect.signature(check_.expected).parameters.values())
    return f"answer: {check_.asks}; inputs: {params or 'none'}"


def _values(targets: Target | tuple[Target, ...]) -> float | tuple[float, ...]:
    return targets.value if isinstance(targets, Target) else tuple(t.value for t in targets)


def expected(label: str, **given: Any) -> Any:
    """The expected answer of exercise `label` as computed from its inputs (for tests and teachers): a number
    or a tuple of numbers; for ex-cs-parity, one network (W, b, a) that works."""
    out = _lookup(label).expected(**_inputs(label, given))
    return out if _lookup(label).judge else _values(out)


def _numbers(answer: Any) -> list[float]:
    """The student's answer as a list of floats (a number, a 0-d tensor, or a sequence of them)."""
    if isinstance(answer, str):
        raise ValueError(f"the answer must be a number, not the string {answer!r}")
    ndim = answer.ndim if hasattr(answer, "ndim") else np.ndim(answer)  # tensors may live on a GPU
    if ndim == 0 and not isinstance(answer, Sequence):
        return [float(answer)]
    return [float(v) for v in answer]


def _fmt(value: float | tuple[float, ...]) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return f"{value:.6g}" if value != int(value) else str(int(value))


def judge_numbers(answer: Any, targets: Target | tuple[Target, ...]) -> tuple[bool, str]:
    """Compare a number (or a tuple of them) with its targets; the verdict of a wrong answer only says
    which way it is off, or which entries are."""
    entries = (targets,) if isinstance(targets, Target) else tuple(targets)
    numbers = _numbers(answer)
    if len(numbers) != len(entries):
        what = "one number" if isinstance(targets, Target) else \
            f"{len(entries)} numbers ({', '.join(t.name for t in entries)})"
        raise ValueError(f"expected {what}, got {len(numbers)}")
    off = [(t, x) for t, x in zip(entries, numbers, strict=True) if not t.accepts(x)]
    if not off:
        return True, f"right (computed: {_fmt(_values(targets))})."
    if isinstance(targets, Target):
        return False, f"not yet: your answer is {targets.side(numbers[0])}."
    return False, "not yet: " + "; ".join(f"the {t.name} entry is {t.side(x)}" for t, x in off) + "."


def check(label: str, answer: Any, **given: Any) -> bool:
    """Print a short verdict on `answer` to exercise `label` and return whether it is right.

    `given` are the exercise's inputs where it varies them (`describe(label)` lists them and their
    defaults, the chapter's quick settings).
    """
    check_ = _lookup(label)
    targets = check_.expected(**_inputs(label, given))
    ok, verdict = (check_.judge or judge_numbers)(answer, targets)
    print(f"{label}: {verdict}")
    return ok
