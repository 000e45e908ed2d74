"""The self-checks of the exercises of `bio-circuit`, each answer computed from the exercise's formula."""

from __future__ import annotations

import math

from companion.exercises.judge import Target, exercise, near
from companion.exercises.sgd_vs_gd import slow_root


@exercise("ex-bio-momentum", "per-step factor by which D shrinks in the long run with momentum, to three decimals")
def bio_momentum(*, lr: float = 0.1, weight_decay: float = 1e-2, momentum: float = 0.9) -> Target:
    """ex-bio-momentum: per-step factor by which the mismatch D shrinks in the long run under heavy-ball
    momentum. Defaults: the chapter's SETTINGS["quick"]["recipe"] and the exercise's momentum."""
    root = slow_root(lr * weight_decay, momentum)
    if lr * weight_decay > (1 - math.sqrt(momentum)) ** 2:  # complex roots: only the modulus is right
        return near(root, abs_tol=5e-4)
    first_order = 1 - lr * weight_decay / (1 - momentum)
    # Real roots: the exact root and the solution's first-order value both count, each to half a unit in
    # the third decimal; plain SGD's factor 1 - lr wd is further off and fails.
    return Target(root, min(root, first_order) - 5e-4, max(root, first_order) + 5e-4)


def sign_cosine(mean_abs: float, mean_square: float) -> float:
    """cos(sign W, W) for iid symmetric entries, by the law of large numbers: E|w| / sqrt(E w^2)."""
    return mean_abs / math.sqrt(mean_square)


@exercise("ex-bio-sign", "(uniform, Gaussian) cos(sign W, W)")
def bio_sign() -> tuple[Target, Target]:
    """ex-bio-sign: the cosine for entries uniform on [-a, a] (E|w| = a/2, E w^2 = a^2/3) and Gaussian
    N(0, a^2) (E|w| = a sqrt(2/pi), E w^2 = a^2); the scale a cancels, so a = 1."""
    uniform = sign_cosine(1 / 2, 1 / 3)
    gaussian = sign_cosine(math.sqrt(2 / math.pi), 1.0)
    # 0.01: two decimals, or a measurement on a layer of 10^4 or more weights (sampling sd below 0.005).
    return near(uniform, abs_tol=0.01, name="uniform"), near(gaussian, abs_tol=0.01, name="Gaussian")


@exercise("ex-bio-probe", "cosine over all entries of a masked copy of W")
def bio_probe(*, removed: float = 0.5) -> Target:
    """ex-bio-probe: cos(M * W, W) over all entries for a random mask M keeping a share 1 - removed, if W
    ignores the mask: the square root of the kept share of ||W||^2. Default: the chapter's PROBE."""
    if not 0 <= removed < 1:
        raise ValueError(f"removed is a share in [0, 1), got {removed}")
    return near(math.sqrt(1 - removed), abs_tol=0.01)  # two decimals, or a measurement on a whole layer
