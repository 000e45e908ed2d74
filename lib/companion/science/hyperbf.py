"""Hyper Basis Function (HyperBF) networks with a learned metric, the AGOP update and gradient descent on it.

f(x) = sum_a c_a exp(-(x - t_a)^T M (x - t_a)) (Poggio and Girosi 1990), with centres t_a, coefficients
c (m, k) for k outputs and a positive semidefinite metric M (d, d). For a given M the coefficients
are the ridge solution c = (K^T K + n lam I)^-1 K^T y; M is learned either by the average gradient
outer product (AGOP) of Recursive Feature Machines or by gradient descent. Work in float64.

Used in the chapters: agop-hyperbf.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def squared_distances(x: torch.Tensor, centres: torch.Tensor, M: torch.Tensor | None = None) -> torch.Tensor:
    """(x_i - t_a)^T M (x_i - t_a) for inputs x (..., n, d) and centres (..., m, d), clamped at 0: shape
    (..., n, m). M = None is the identity. Leading axes broadcast (heads of attention, for example)."""
    xm, tm = (x, centres) if M is None else (x @ M, centres @ M)
    sq = (xm * x).sum(-1, keepdim=True) + (tm * centres).sum(-1).unsqueeze(-2) - 2 * xm @ centres.transpose(-1, -2)
    return sq.clamp_min(0.0)


def features(x: torch.Tensor, centres: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """K_ia = exp(-(x_i - t_a)^T M (x_i - t_a)) for inputs x (n, d) and centres (m, d): shape (n, m)."""
    return torch.exp(-squared_distances(x, centres, M))


def solve_coefficients(K: torch.Tensor, y: torch.Tensor, lam: float) -> torch.Tensor:
    """Ridge coefficients c = (K^T K + n lam I)^-1 K^T y, the minimiser of ||y - K c||^2 + n lam ||c||^2."""
    n, m = K.shape
    A = K.T @ K + n * lam * torch.eye(m, dtype=K.dtype, device=K.device)
    return torch.linalg.solve(A, K.T @ y)


def _2d(y: torch.Tensor) -> torch.Tensor:
    return y[:, None] if y.ndim == 1 else y


def fit(x: torch.Tensor, y: torch.Tensor, centres: torch.Tensor, M: torch.Tensor, lam: float) -> torch.Tensor:
    """The coefficients (m, k) of the HyperBF network with metric M fitted to (x, y)."""
    return solve_coefficients(features(x, centres, M), _2d(y), lam)


def predict(x: torch.Tensor, centres: torch.Tensor, M: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Network outputs (n, k)."""
    return features(x, centres, M) @ c


def mse(x: torch.Tensor, y: torch.Tensor, centres: torch.Tensor, M: torch.Tensor, c: torch.Tensor) -> float:
    """Mean squared error per sample, summed over outputs."""
    return float(((predict(x, centres, M, c) - _2d(y)) ** 2).sum(1).mean())


def input_gradients(x: torch.Tensor, centres: torch.Tensor, M: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """grad_x f_k(x_i) = -2 M sum_a c_ak K_ia (x_i - t_a), shape (n, k, d)."""
    K = features(x, centres, M)
    weighted = K[:, :, None] * c[None, :, :]  # (n, m, k)
    s = torch.einsum("iak,ad->ikd", weighted, centres)
    diff = x[:, None, :] * weighted.sum(1)[:, :, None] - s  # sum_a c_ak K_ia (x_i - t_a)
    return -2 * diff @ M


def agop(x: torch.Tensor, centres: torch.Tensor, M: torch.Tensor, c: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Average gradient outer product (1/n) sum_i sum_k grad f_k(x_i) grad f_k(x_i)^T, shape (d, d),
    accumulated over chunks of `chunk` inputs."""
    total = torch.zeros(x.shape[1], x.shape[1], dtype=x.dtype, device=x.device)
    for xs in x.split(chunk):
        g = input_gradients(xs, centres, M, c).flatten(0, 1)
        total += g.T @ g
    return total / len(x)


def training_loss(x: torch.Tensor, y: torch.Tensor, centres: torch.Tensor, M: torch.Tensor,
                  lam: float) -> torch.Tensor:
    """(1/n) min_c ||y - K c||^2 + n lam ||c||^2 as a differentiable function of M (c re-solved)."""
    K = features(x, centres, M)
    y = _2d(y)
    c = solve_coefficients(K, y, lam)
    return (((y - K @ c) ** 2).sum() + len(x) * lam * (c**2).sum()) / len(x)


def loss_gradient(x: torch.Tensor, y: torch.Tensor, centres: torch.Tensor, M: torch.Tensor,
                  lam: float) -> torch.Tensor:
    """d training_loss / dM by autograd (symmetrised), shape (d, d)."""
    M = M.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(training_loss(x, y, centres, M, lam), M)
    return (grad + grad.T) / 2


def closed_form_gradient(x: torch.Tensor, y: torch.Tensor, centres: torch.Tensor, M: torch.Tensor,
                         lam: float) -> torch.Tensor:
    """The same gradient in closed form: (2/n) sum_{i,a} (r_i . c_a) K_ia d_ia d_ia^T, d_ia = x_i - t_a,
    r = y - K c the residuals at the optimal c (the envelope theorem: c's own change does not count)."""
    K = features(x, centres, M)
    y = _2d(y)
    c = solve_coefficients(K, y, lam)
    w = (y - K @ c) @ c.T * K  # (n, m): (r_i . c_a) K_ia
    d = x[:, None, :] - centres[None, :, :]  # (n, m, d)
    return 2 * torch.einsum("ia,iad,iae->de", w, d, d) / len(x)


def with_trace(M: torch.Tensor, trace: float) -> torch.Tensor:
    """M rescaled to the given trace: the metric's direction with a chosen overall bandwidth."""
    return M * (trace / torch.trace(M))


def agop_path(agop_at: Callable[[torch.Tensor], torch.Tensor], M0: torch.Tensor, iterations: int,
              beta: float = 1.0) -> list[torch.Tensor]:
    """Recursive Feature Machine iterations M <- (1 - beta) M + beta AGOP(M), the AGOP rescaled to tr(M0).

    `agop_at(M)` refits the predictor at metric M and returns its AGOP. beta = 1 is plain AGOP;
    smaller beta damps each jump. Returns [M0, M1, ..., M_iterations].
    """
    path, M, trace = [M0], M0, float(torch.trace(M0))
    for _ in range(iterations):
        M = (1 - beta) * M + beta * with_trace(agop_at(M), trace)
        path.append(M)
    return path


def gd_path(loss: Callable[[torch.Tensor], torch.Tensor], M0: torch.Tensor, steps: int, lr: float = 0.02,
            every: int = 1) -> list[torch.Tensor]:
    """Gradient descent (Adam) on `loss(M)` over M = W^T W from W0 = M0^(1/2); every `every` steps the
    current M is recorded. Returns [M0, ...]."""
    eigval, eigvec = torch.linalg.eigh(M0)
    W = ((eigvec * eigval.clamp_min(0).sqrt()) @ eigvec.T).clone().requires_grad_(True)
    opt = torch.optim.Adam([W], lr=lr)
    path = [M0]
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss(W.T @ W).backward()
        opt.step()
        if step % every == 0 or step == steps:
            path.append((W.T @ W).detach())
    return path


def best_trace(M: torch.Tensor, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
               centres: torch.Tensor, lam: float, traces: list[float]) -> tuple[float, dict[float, float]]:
    """The trace (bandwidth) of M's direction with the lowest validation error, and every trace's error."""
    errors = {}
    for trace in traces:
        Ms = with_trace(M, trace)
        errors[trace] = mse(*val, centres, Ms, fit(*train, centres, Ms, lam))
    return min(errors, key=errors.get), errors


def subspace_overlap(M: torch.Tensor, U: torch.Tensor) -> float:
    """How much of the k-dimensional subspace spanned by the orthonormal columns of U (d, k) the top-k
    eigenvectors of M capture: ||V_k^T U||_F^2 / k, 1 when they span it."""
    k = U.shape[1]
    V = torch.linalg.eigh(M).eigenvectors[:, -k:]
    return float((V.T @ U).norm() ** 2 / k)


def kernel_ridge(x: torch.Tensor, y: torch.Tensor, M: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel ridge regression with a centre at every training input: the kernel matrix K and the
    coefficients c = (K + n lam I)^-1 y (n, k), the minimiser of ||y - K c||^2 + n lam c^T K c."""
    K = features(x, x, M)
    c = torch.linalg.solve(K + len(x) * lam * torch.eye(len(x), dtype=K.dtype, device=K.device), _2d(y))
    return K, c


def kernel_ridge_loss(x: torch.Tensor, y: torch.Tensor, M: torch.Tensor, lam: float) -> torch.Tensor:
    """(1/n) min_c ||y - K c||^2 + n lam c^T K c (see `kernel_ridge`), as a differentiable function of M."""
    K, c = kernel_ridge(x, y, M, lam)
    return (((_2d(y) - K @ c) ** 2).sum() + len(x) * lam * (c * (K @ c)).sum()) / len(x)


def kernel_ridge_gradient(x: torch.Tensor, y: torch.Tensor, M: torch.Tensor, lam: float) -> torch.Tensor:
    """d kernel_ridge_loss / dM in closed form: lam sum_{i,j} (c_i . c_j) K_ij d_ij d_ij^T, d_ij = x_i - x_j.

    With c = (K + n lam I)^-1 y the residuals are r = y - K c = n lam c, which turns the envelope-theorem
    gradient -2 r^T (dK) c + n lam c^T (dK) c into -n lam c^T (dK) c."""
    K, c = kernel_ridge(x, y, M, lam)
    w = (c @ c.T) * K
    # sum_ij w_ij (x_i - x_j)(x_i - x_j)^T = 2 (X^T diag(w 1) X - X^T w X) for symmetric w
    return lam * 2 * (x.T @ (w.sum(1, keepdim=True) * x) - x.T @ w @ x)


def kernel_ridge_agop(x: torch.Tensor, y: torch.Tensor, M: torch.Tensor, lam: float) -> torch.Tensor:
    """The AGOP of the kernel ridge predictor (centres at the training inputs) at metric M."""
    return agop(x, x, M, kernel_ridge(x, y, M, lam)[1])
