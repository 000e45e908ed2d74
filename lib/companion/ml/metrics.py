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


def numerical_rank(W: torch.Tensor | np.ndarray, tol: float = 1e-3, relative_to: str = "frobenius") -> int:
    """Number of singular values of W above `tol` times ||W||_F (or times ||W||_2 with relative_to="spectral").

    The Frobenius version is the rank used by Galanti et al.'s LowRankBias code
    (`matrix_rank(W/||W||_F, tol)`); the spectral one counts sigma_i / sigma_1 > tol. Either way the
    threshold is scale-free. The zero matrix has rank 0.
    """
    return numerical_ranks(W, (tol,), relative_to)[0]


def numerical_ranks(W: torch.Tensor | np.ndarray, tols: tuple[float, ...], relative_to: str = "frobenius") -> list[int]:
    """`numerical_rank` at several tolerances from one singular value decomposition."""
    return ranks_from_spectrum(singular_values(W), tols, relative_to)


def ranks_from_spectrum(s: torch.Tensor, tols: tuple[float, ...], relative_to: str = "frobenius") -> list[int]:
    """`numerical_ranks` from singular values `s` already computed (descending)."""
    if relative_to not in ("frobenius", "spectral"):
        raise ValueError(f"relative_to must be 'frobenius' or 'spectral', got {relative_to!r}")
    s = torch.as_tensor(s)
    norm = torch.linalg.vector_norm(s) if relative_to == "frobenius" else s[0]
    if norm == 0:
        return [0 for _ in tols]
    return [int((s / norm > tol).sum()) for tol in tols]


def within_class_variability(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Papyan et al.'s NC1 = tr(Sigma_W Sigma_B^+) / C for features (n, d) and labels (n,).

    Sigma_W is the average within-class covariance, Sigma_B the covariance of the class means; NC1
    goes to 0 as the features of each class collapse onto their mean (neural collapse).
    """
    h = torch.as_tensor(features).detach().to(torch.float64)
    classes = torch.unique(labels)
    means = torch.stack([h[labels == c].mean(0) for c in classes])
    centred = h - means[torch.searchsorted(classes, labels)]
    sigma_w = centred.T @ centred / len(h)
    between = means - means.mean(0)
    sigma_b = between.T @ between / len(classes)
    return float(torch.trace(sigma_w @ torch.linalg.pinv(sigma_b)) / len(classes))


def accuracy_difference(correct_a: torch.Tensor, correct_b: torch.Tensor) -> tuple[float, float]:
    """Accuracy of model a minus that of model b on the same examples, and its paired standard error.

    `correct_a`, `correct_b`: booleans (n,), whether each model got each example right. The error
    comes from the per-example differences: two models that get the same examples wrong differ less
    than two independent samples of their accuracies would suggest.
    """
    if correct_a.shape != correct_b.shape or correct_a.ndim != 1:
        raise ValueError(f"expected two (n,) vectors, got {tuple(correct_a.shape)} and {tuple(correct_b.shape)}")
    d = correct_a.double() - correct_b.double()
    return d.mean().item(), (d.std() / len(d) ** 0.5).item()
