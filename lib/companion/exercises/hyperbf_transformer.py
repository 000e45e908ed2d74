"""The self-checks of the exercises of `hyperbf-transformer`, each answer computed from the exercise's formula."""

from __future__ import annotations

import math

import torch
from scipy.optimize import brentq

from companion.exercises.judge import Target, exercise, near
from companion.science.hyperbf_transformer import smallest_positive


@exercise("ex-hbt-spread", "variance of the exponent beta0 ||x - t||^2")
def hbt_spread(*, d: int = 32) -> Target:
    """ex-hbt-spread: Var(beta0 ||x - t||^2) for beta0 = 1/(2d), ||x||^2 = d and t ~ N(0, I_d): ||t||^2 has
    variance 2d, -2 x.t has variance 4 ||x||^2, and they are uncorrelated. Default: the quick model's dim."""
    beta0 = 1 / (2 * d)
    return near(beta0**2 * (2 * d + 4 * d), rel_tol=0.02)  # two significant digits


def dead_exponent(dtype: torch.dtype) -> float:
    """The exponent e beyond which exp(-e) rounds to exactly zero in `dtype`: -ln(smallest positive / 2)."""
    return -math.log(smallest_positive(dtype) / 2)


@exercise("ex-hbt-fp16", "(float16, bfloat16, float32) width where a typical unit is dead")
def hbt_fp16(*, beta0: float = 0.1) -> tuple[Target, ...]:
    """ex-hbt-fp16: the width at which the typical exponent 2 d beta0 reaches the dead exponent, for
    float16, bfloat16 and float32."""
    dtypes = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
    # Widths are whole numbers: one either side covers rounding and "first width that is dead".
    return tuple(near(dead_exponent(t) / (2 * beta0), abs_tol=1.0, name=k) for k, t in dtypes.items())


@exercise("ex-hbt-decay", "(f at the crossing in (a), in (b), f after the run)")
def hbt_decay(*, d: int = 768, beta0: float = 0.1, epochs: int = 200, train_size: int = 50_000,
              batch_size: int = 128, lr: float = 5e-4, weight_decay: float = 0.01) -> tuple[Target, ...]:
    """ex-hbt-decay: f at which the typical exponent falls to float32's dead exponent, (a) 2d beta0^f f^4 with
    log beta and L as parameters, (b) 2d beta0 f^4 with beta and M, and f = (1 - lr wd)^steps after the run
    (defaults: the exercise's CIFAR-10 run)."""
    threshold = dead_exponent(torch.float32)
    if 2 * d * beta0 <= threshold:  # both forms give 2 d beta0 at f = 1
        raise ValueError(f"with d = {d} and beta0 = {beta0} the block is not dead at the start")
    f_a = brentq(lambda f: 2 * d * beta0**f * f**4 - threshold, 1e-6, 1.0)
    f_b = (threshold / (2 * d * beta0)) ** 0.25
    f_run = (1 - lr * weight_decay) ** (epochs * train_size / batch_size)
    # f to two decimals, as the exercise's answer is read.
    return (near(f_a, abs_tol=5e-3, name="crossing (a)"), near(f_b, abs_tol=5e-3, name="crossing (b)"),
            near(f_run, abs_tol=5e-3, name="f after the run"))
