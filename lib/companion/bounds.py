"""Norms, complexities and norm-based generalization bounds of layered networks.

Every bound here is a *capacity term*: the factor that multiplies 1/margin in a margin bound,
computed from the weight matrices W_1..W_L of a network (input layer first), the largest input norm
B, the number of samples m and, where needed, the whole data matrix. Constants and logarithmic
factors follow the cited statements where they are simple and are dropped where noted; what a
chapter compares is how the terms scale, since at realistic sizes all of them are vacuous.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

Matrices = Sequence[torch.Tensor]


def _f64(W: torch.Tensor) -> torch.Tensor:
    W = torch.as_tensor(W).detach().to(torch.float64)
    if W.ndim != 2:
        raise ValueError(f"expected a 2-D weight matrix, got shape {tuple(W.shape)}")
    return W


def spectral_norm(W: torch.Tensor) -> float:
    """Largest singular value ||W||_2."""
    return float(torch.linalg.matrix_norm(_f64(W), ord=2))


def frobenius_norm(W: torch.Tensor) -> float:
    """||W||_F, the square root of the sum of squared entries."""
    return float(torch.linalg.matrix_norm(_f64(W)))


def norm_21_transpose(W: torch.Tensor) -> float:
    """||W^T||_{2,1}: the sum over the rows of W (out, in) of their Euclidean norms (Bartlett et al. 2017)."""
    return float(_f64(W).norm(dim=1).sum())


def low_rank_complexity(X: torch.Tensor, d_out: int, ranks: Sequence[int], M: float = 1.0, draws: int = 200,
                        seed: int = 0) -> dict[int, float]:
    """Monte-Carlo Gaussian complexity of {x -> W x : ||W||_2 <= M, rank W <= r} on the samples X (n, d_in).

    G_r = E sup_W sum_i <gamma_i, W x_i> = M E[sum of the r largest singular values of Gamma X],
    with Gamma a (d_out, n) standard Gaussian matrix (the supremum is the Ky Fan r-norm). One SVD
    per draw serves every r. Returns {r: estimate}; the estimates share their draws.
    """
    X = torch.as_tensor(X).detach().to(torch.float64)
    if any(not 1 <= r <= min(d_out, X.shape[1]) for r in ranks):
        raise ValueError(f"ranks must lie in 1..min(d_out, d_in) = {min(d_out, X.shape[1])}, got {list(ranks)}")
    g = torch.Generator(device="cpu").manual_seed(seed)
    total = torch.zeros(min(d_out, X.shape[1]), dtype=torch.float64, device=X.device)
    for _ in range(draws):
        gamma = torch.randn(d_out, X.shape[0], generator=g, dtype=torch.float64).to(X.device)
        total += torch.linalg.svdvals(gamma @ X)
    ky_fan = M * torch.cumsum(total / draws, 0)
    return {int(r): float(ky_fan[r - 1]) for r in ranks}


def low_rank_complexity_bound(X: torch.Tensor, d_out: int, r: int, M: float = 1.0) -> float:
    """The one-layer bound G_r <= M sqrt(r d_out) ||X||_F (Cauchy-Schwarz, then Jensen)."""
    return M * math.sqrt(r * d_out) * frobenius_norm(X)


def neyshabur2015(weights: Matrices, B: float, m: int) -> float:
    """Neyshabur, Tomioka and Srebro (2015): B 2^L prod_j ||W_j||_F / sqrt(m)."""
    return B * 2 ** len(weights) * math.prod(frobenius_norm(W) for W in weights) / math.sqrt(m)


def golowich2018(weights: Matrices, B: float, m: int) -> float:
    """Golowich, Rakhlin and Shamir (2018): B (sqrt(2 ln(2) L) + 1) prod_j ||W_j||_F / sqrt(m)."""
    depth = math.sqrt(2 * math.log(2) * len(weights)) + 1
    return B * depth * math.prod(frobenius_norm(W) for W in weights) / math.sqrt(m)


def bartlett2017(weights: Matrices, X: torch.Tensor) -> float:
    """Bartlett, Foster and Telgarsky (2017), main term without log factors: ||X||_F R_A / m with
    R_A = prod_j ||W_j||_2 (sum_j (||W_j^T||_{2,1} / ||W_j||_2)^(2/3))^(3/2) (identity reference matrices)."""
    spectral = [spectral_norm(W) for W in weights]
    ratio = sum((norm_21_transpose(W) / s) ** (2 / 3) for W, s in zip(weights, spectral, strict=True))
    return frobenius_norm(X) * math.prod(spectral) * ratio**1.5 / len(X)


def neyshabur2018(weights: Matrices, B: float, m: int) -> float:
    """Neyshabur, Bhojanapalli and Srebro (2018), PAC-Bayes, without the log(L m / delta) term:
    B prod_j ||W_j||_2 sqrt(L^2 h ln(L h) sum_j ||W_j||_F^2 / ||W_j||_2^2) / sqrt(m), h the largest width."""
    L, h = len(weights), max(max(W.shape) for W in weights)
    spectral = [spectral_norm(W) for W in weights]
    stable = sum(frobenius_norm(W) ** 2 / s**2 for W, s in zip(weights, spectral, strict=True))
    return B * math.prod(spectral) * math.sqrt(L**2 * h * math.log(L * h) * stable) / math.sqrt(m)


def rank_multiplicative(weights: Matrices, ranks: Sequence[int], B: float, m: int) -> float:
    """A Frobenius-product bound with ||W_j||_F <= sqrt(r_j) ||W_j||_2: B prod_j sqrt(r_j) ||W_j||_2 / sqrt(m).

    The rank factors multiply across layers. Golowich et al.'s depth factor sqrt(2 ln(2) L) + 1 is
    left out, as are the constants of `rank_additive`, so that the ratio of the two is the ratio of
    their rank factors, prod_j sqrt(r_j) / sum_j sqrt(r_j d_j).
    """
    factors = math.prod(math.sqrt(r) * spectral_norm(W) for W, r in zip(weights, ranks, strict=True))
    return B * factors / math.sqrt(m)


def rank_additive(weights: Matrices, ranks: Sequence[int], B: float, m: int) -> float:
    """The shape of the low-rank chain-rule bound, with its constants set to 1 (a reconstruction):
    B prod_j ||W_j||_2 sum_j sqrt(r_j d_j) / sqrt(m), d_j the output width of layer j.

    The rank factors add across layers. The theorem itself carries a factor C1^(L-j) on layer j's
    term and a constant C2, which this shape omits.
    """
    spectral = math.prod(spectral_norm(W) for W in weights)
    return B * spectral * sum(math.sqrt(r * W.shape[0]) for W, r in zip(weights, ranks, strict=True)) / math.sqrt(m)


def rank_factor_ratio(ranks: Sequence[int], widths: Sequence[int]) -> float:
    """prod_j sqrt(r_j) / sum_j sqrt(r_j d_j): how much larger the multiplicative rank factor is than the
    additive one, for layers of ranks r_j and output widths d_j (= rank_multiplicative / rank_additive)."""
    if len(ranks) != len(widths) or not ranks:
        raise ValueError(f"need one output width per rank, got {len(ranks)} ranks and {len(widths)} widths")
    return math.prod(math.sqrt(r) for r in ranks) / sum(math.sqrt(r * d) for r, d in zip(ranks, widths, strict=True))


def margins(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample margins f_y(x) - max_{j != y} f_j(x) (negative when misclassified)."""
    true = logits.gather(1, y[:, None])[:, 0]
    others = logits.scatter(1, y[:, None], float("-inf")).max(1).values
    return true - others
