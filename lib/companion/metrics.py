"""Matrix measurements used across chapters: singular values and numerical rank."""

from __future__ import annotations

import numpy as np
import torch


def singular_values(W: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Singular values of a matrix (descending), computed in float64 on the matrix's device."""
    W = torch.as_tensor(W)
    if W.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {tuple(W.shape)}")
    return torch.linalg.svdvals(W.detach().to(torch.float64))


def numerical_rank(W: torch.Tensor | np.ndarray, tol: float = 1e-3) -> int:
    """Number of singular values of W / ||W||_F above `tol`.

    This is the rank used by Galanti et al.'s LowRankBias code (`matrix_rank(W/||W||_F, tol)`):
    normalising by the Frobenius norm makes the threshold scale-free. The zero matrix has rank 0.
    """
    return numerical_ranks(W, (tol,))[0]


def numerical_ranks(W: torch.Tensor | np.ndarray, tols: tuple[float, ...]) -> list[int]:
    """`numerical_rank` at several tolerances from one singular value decomposition."""
    s = singular_values(W)
    norm = torch.linalg.vector_norm(s)
    if norm == 0:
        return [0 for _ in tols]
    return [int((s / norm > tol).sum()) for tol in tols]
