"""The self-checks of the exercises of `low-rank-bounds`, each answer computed from the exercise's formula."""

from __future__ import annotations

import numpy as np

from companion.exercises.judge import Target, exercise, near


@exercise("ex-lrb-nuclear", "(Frobenius ball, nuclear-norm ball, rank-r set) suprema")
def lrb_nuclear(*, r: int, s: float) -> tuple[Target, ...]:
    """ex-lrb-nuclear: sup <W, A> over the Frobenius ball (||A||_F), the nuclear-norm ball (sigma_1(A)) and
    rank-r matrices of spectral norm 1 (Ky Fan r-norm), for A with r singular values s and the rest zero."""
    sigma = np.concatenate([np.full(r, float(s)), np.zeros(r)])  # the trailing zeros change nothing
    values = (float(np.sqrt((sigma**2).sum())), float(sigma.max()), float(np.sort(sigma)[::-1][:r].sum()))
    names = ("Frobenius ball", "nuclear-norm ball", "rank-r set")
    return tuple(near(v, rel_tol=5e-3, name=k) for v, k in zip(values, names, strict=True))  # 3 digits
