"""The self-checks of the exercises of `sgd-vs-gd`, each answer computed from the exercise's formula."""

from __future__ import annotations

import math

import numpy as np

from companion.exercises.judge import Target, exercise, near


@exercise("ex-sgd-predict-batch", "epochs for SGD with B = 2 to bring ||W_perp|| below 1e-3 of its start")
def sgd_predict_batch(*, n: int = 20, lr: float = 0.1, weight_decay: float = 0.05, batch_size: int = 2,
                      reduction: float = 1e-3) -> Target:
    """ex-sgd-predict-batch: ||W_perp|| shrinks by (1 - lr wd) per update and SGD makes n/B updates an epoch.
    Defaults: the chapter's LINEAR["quick"] (defined in the chapter, so repeated here)."""
    if n % batch_size:
        raise ValueError(f"batch_size {batch_size} must divide n = {n}")
    epochs = math.log(reduction) / ((n // batch_size) * math.log(1 - lr * weight_decay))
    first = math.floor(epochs) + 1  # the first whole epoch strictly below the target
    # The real-valued solution and the first whole epoch both count; one epoch fewer is not yet below.
    return Target(first, first - 1, first, open_low=True)


def slow_root(step_decay: float, momentum: float) -> float:
    """Modulus of the slower root of z^2 - (1 + momentum - step_decay) z + momentum: the per-update factor
    of a component that heavy-ball momentum with coupled decay (step_decay = lr * weight_decay) shrinks."""
    return float(np.abs(np.roots([1.0, -(1.0 + momentum - step_decay), momentum])).max())


@exercise("ex-sgd-momentum", "per-update factor of W_perp under heavy-ball momentum, to three decimals")
def sgd_momentum(*, lr: float = 0.1, weight_decay: float = 0.05, beta: float = 0.9) -> Target:
    """ex-sgd-momentum: per-update factor of W_perp under heavy-ball momentum (the chapter's lr, decay)."""
    # Half a unit in the third decimal: the first-order guess 1 - lr wd / (1 - beta), wrong when the roots
    # are complex (the chapter's case), must not pass by rounding.
    return near(slow_root(lr * weight_decay, beta), abs_tol=5e-4)
