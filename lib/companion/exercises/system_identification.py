"""The self-checks of the exercises of `system-identification`, each answer computed from the exercise's formula."""

from __future__ import annotations

import math

from companion.exercises.judge import Target, exercise, near


@exercise("ex-sysid-units", "factor by which the noise lowers a unit's correlation")
def sysid_units(*, noise_sd: float = 1.0) -> Target:
    """ex-sysid-units: a correlation with a unit whose noise has `noise_sd` of its standard deviation shrinks
    by 1 / sqrt(1 + noise_sd^2), the noise ceiling."""
    return near(1 / math.sqrt(1 + noise_sd**2), abs_tol=0.01)  # two decimals: 0.7 and 0.71 both count
