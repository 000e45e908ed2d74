"""The self-checks of the exercises of `compositional-sparsity`, each answer computed from the exercise's formula."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from companion.exercises.judge import Target, exercise, near
from companion.science.compositional import levels_of


def judge_parity(answer: Any, reference: tuple[np.ndarray, ...]) -> tuple[bool, str]:
    """Run the student's (W, b, a[, c]) on all of {0, 1}^n and compare with parity."""
    n = reference[0].shape[1]
    if not isinstance(answer, Sequence) or len(answer) not in (3, 4):
        raise ValueError("pass the network as (W, b, a) or (W, b, a, c), for f(x) = a . relu(W x + b) + c")
    W, b, a = (np.asarray(torch.as_tensor(v).detach().cpu(), dtype=float) for v in answer[:3])
    c = float(answer[3]) if len(answer) == 4 else 0.0
    if W.ndim != 2 or W.shape[1] != n or b.shape != (W.shape[0],) or a.shape != (W.shape[0],):
        raise ValueError(f"W must be (units, {n}), b and a (units,): got {W.shape}, {b.shape}, {a.shape}")
    bits = np.array(list(itertools.product((0.0, 1.0), repeat=n)))
    out = np.maximum(bits @ W.T + b, 0.0) @ a + c
    wrong = np.abs(out - bits.sum(1) % 2) > 1e-6  # exact up to float rounding of the student's weights
    if wrong.any():
        first = "".join(str(int(v)) for v in bits[np.argmax(wrong)])
        return False, f"not yet: the network misses parity on {int(wrong.sum())} of the {len(bits)} inputs " \
                      f"(for example bits {first})."
    if W.shape[0] > n:
        return False, f"not yet: it computes parity, but with {W.shape[0]} hidden units; the exercise allows n."
    return True, f"right: parity on all {len(bits)} inputs with {W.shape[0]} hidden units."


@exercise("ex-cs-parity", "a shallow ReLU network (W, b, a) computing parity of n bits", judge=judge_parity)
def parity_network(*, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ex-cs-parity, one construction: units relu(s - j), j < n, of the bit sum s, with output weights
    solving the triangular system g(s) = s mod 2 at s = 1..n. Returns (W, b, a): f(x) = a . relu(W x + b)."""
    if not 1 <= n <= 16:
        raise ValueError(f"n must be between 1 and 16 (the check runs all 2^n inputs), got {n}")
    j = np.arange(n)
    s = np.arange(1, n + 1)
    a = np.linalg.solve(np.maximum(s[:, None] - j[None, :], 0.0), (s % 2).astype(float))
    return np.ones((n, n)), (-j).astype(float), a


@exercise("ex-cs-lipschitz", "worst-case root error / delta of prop-tree-errors")
def cs_lipschitz(*, d: int = 32, lipschitz: float = 1 + math.pi / 2) -> Target:
    """ex-cs-lipschitz: worst-case root error over delta, 1 + L + ... + L^(D-1), D the tree's depth."""
    return near(sum(lipschitz**j for j in range(levels_of(d))), rel_tol=0.01)  # the solution rounds it
