"""Norms, complexities and norm-based generalization bounds of layered networks.

Every bound here is a *capacity term*: the factor that multiplies 1/margin in a margin bound,
computed from the norms of the weight matrices W_1..W_L of a network (input layer first; see
`layer_norms`, one SVD per matrix), the largest input norm B, the number of samples m and, where
needed, the Frobenius norm of the whole data matrix. Constants and logarithmic
factors follow the cited statements where they are simple and are dropped where noted; what a
chapter compares is how the terms scale, since at realistic sizes all of them are vacuous.

Used in the chapters: low-rank-bounds, sparse-norm-bounds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from companion.ml.metrics import singular_values


@dataclass(frozen=True)
class LayerNorms:
    """What the bounds need from one weight matrix W (out, in), from a single SVD."""

    spectral: float  # ||W||_2
    frobenius: float  # ||W||_F
    norm21: float  # ||W^T||_{2,1}
    out_width: int
    in_width: int
    singular: torch.Tensor  # singular values, descending (for ranks)


def layer_norms(W: torch.Tensor) -> LayerNorms:
    """The norms of a weight matrix (out, in) that the bounds use, from one SVD in float64."""
    s = singular_values(W)
    return LayerNorms(spectral=float(s[0]), frobenius=float(s.norm()), norm21=norm_21_transpose(W),
                      out_width=W.shape[0], in_width=W.shape[1], singular=s.cpu())


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


def neyshabur2015(layers: Sequence[LayerNorms], B: float, m: int) -> float:
    """Neyshabur, Tomioka and Srebro (2015): B 2^L prod_j ||W_j||_F / sqrt(m)."""
    return B * 2 ** len(layers) * math.prod(n.frobenius for n in layers) / math.sqrt(m)


def golowich2018(layers: Sequence[LayerNorms], B: float, m: int) -> float:
    """Golowich, Rakhlin and Shamir (2018): B (sqrt(2 ln(2) L) + 1) prod_j ||W_j||_F / sqrt(m)."""
    depth = math.sqrt(2 * math.log(2) * len(layers)) + 1
    return B * depth * math.prod(n.frobenius for n in layers) / math.sqrt(m)


def bartlett2017(layers: Sequence[LayerNorms], x_frobenius: float, m: int) -> float:
    """Bartlett, Foster and Telgarsky (2017), main term without log factors: ||X||_F R_A / m with
    R_A = prod_j ||W_j||_2 (sum_j (||W_j^T||_{2,1} / ||W_j||_2)^(2/3))^(3/2) (zero reference matrices)."""
    ratio = sum((n.norm21 / n.spectral) ** (2 / 3) for n in layers)
    return x_frobenius * math.prod(n.spectral for n in layers) * ratio**1.5 / m


def neyshabur2018(layers: Sequence[LayerNorms], B: float, m: int) -> float:
    """Neyshabur, Bhojanapalli and Srebro (2018), PAC-Bayes, without the log(L m / delta) term:
    B prod_j ||W_j||_2 sqrt(L^2 h ln(L h) sum_j ||W_j||_F^2 / ||W_j||_2^2) / sqrt(m), h the largest width."""
    L, h = len(layers), max(max(n.out_width, n.in_width) for n in layers)
    stable = sum(n.frobenius**2 / n.spectral**2 for n in layers)
    return B * math.prod(n.spectral for n in layers) * math.sqrt(L**2 * h * math.log(L * h) * stable) / math.sqrt(m)


def rank_multiplicative(layers: Sequence[LayerNorms], ranks: Sequence[int], B: float, m: int) -> float:
    """A Frobenius-product bound with ||W_j||_F <= sqrt(r_j) ||W_j||_2: B prod_j sqrt(r_j) ||W_j||_2 / sqrt(m).

    The rank factors multiply across layers. (The inequality holds for the exact rank; with a
    numerical rank it holds up to the discarded singular values.) Golowich et al.'s depth factor
    sqrt(2 ln(2) L) + 1 is left out, as are the constants of `rank_additive`, so that the ratio of
    the two is the ratio of their rank factors, prod_j sqrt(r_j) / sum_j sqrt(r_j d_j).
    """
    factors = math.prod(math.sqrt(r) * n.spectral for n, r in zip(layers, ranks, strict=True))
    return B * factors / math.sqrt(m)


def rank_additive(layers: Sequence[LayerNorms], ranks: Sequence[int], B: float, m: int) -> float:
    """The shape of the low-rank chain-rule bound, with its constants set to 1 (a reconstruction):
    B prod_j ||W_j||_2 sum_j sqrt(r_j d_j) / sqrt(m), d_j the output width of layer j.

    The rank factors add across layers. The theorem itself carries a factor C1^(L-j) on layer j's
    term and a constant C2, which this shape omits.
    """
    spectral = math.prod(n.spectral for n in layers)
    return B * spectral * sum(math.sqrt(r * n.out_width) for n, r in zip(layers, ranks, strict=True)) / math.sqrt(m)


def rank_factor_ratio(ranks: Sequence[int], widths: Sequence[int]) -> float:
    """prod_j sqrt(r_j) / sum_j sqrt(r_j d_j): how much larger the multiplicative rank factor is than the
    additive one, for layers of ranks r_j and output widths d_j (= rank_multiplicative / rank_additive)."""
    if len(ranks) != len(widths) or not ranks:
        raise ValueError(f"need one output width per rank, got {len(ranks)} ranks and {len(widths)} widths")
    return math.prod(math.sqrt(r) for r in ranks) / sum(math.sqrt(r * d) for r, d in zip(ranks, widths, strict=True))


def _sparse_bound(rho: float, n: int, log_term: float, data_term: float, delta: float) -> float:
    """The shared form of the two bounds of Galanti et al. (2023), as their public code evaluates them:
    (rho + 1)/n * 2^(3/2) (1 + sqrt(2 log_term)) * data_term + 3 sqrt(ln(2 (rho + 2)^2 / delta) / (2n))."""
    main = (rho + 1) / n * 2**1.5 * (1 + math.sqrt(2 * log_term)) * data_term
    return main + 3 * math.sqrt(math.log(2 * (rho + 2) ** 2 / delta) / (2 * n))


def filter_norm_bound(norms: Sequence[float], kernel_areas: Sequence[int], n: int, classes: int,
                      max_pixel_energy: float, delta: float = 1e-3) -> float:
    """Galanti, Xu, Galanti and Poggio (2023): the generalization bound from the norms of the filters.

    `norms` are the Frobenius norms of every layer's weights (filter tensors, then the final dense
    layer), `kernel_areas` the number of taps d_l of each convolution, `max_pixel_energy` =
    max_j sum_i x_ij^2 over the n training inputs. rho = prod norms; the data term is
    sqrt(max_pixel_energy) * prod_l sqrt(d_l); the log term is depth * ln(2 max d_l) + ln(classes),
    depth = number of layers. Formula as in the authors' code (github lianegalanti/gen, utils.py).
    """
    rho = math.prod(norms)
    log_term = len(norms) * math.log(2 * max(kernel_areas)) + math.log(classes)
    data = math.sqrt(max_pixel_energy) * math.prod(math.sqrt(d) for d in kernel_areas)
    return _sparse_bound(rho, n, log_term, data, delta)


def toeplitz_norm_bound(norms: Sequence[float], output_positions: Sequence[int], n: int, classes: int,
                        total_energy: float, delta: float = 1e-3) -> float:
    """The same bound from the norms of the dense (Toeplitz) matrices of the convolutions (Golowich-style).

    The matrix of a valid stride-1 convolution has Frobenius norm sqrt(P) times its filter's, P its
    number of output positions, so rho = prod norms * prod_conv sqrt(P_l); the data term is
    sqrt(sum_i ||x_i||^2) = sqrt(`total_energy`) and the log term depth * ln 2 + ln(classes).
    Formula as in the authors' code (golowich_total_bound).
    """
    rho = math.prod(norms) * math.prod(math.sqrt(p) for p in output_positions)
    log_term = len(norms) * math.log(2) + math.log(classes)
    return _sparse_bound(rho, n, log_term, math.sqrt(total_energy), delta)


def leading_ratio(output_positions: Sequence[int], kernel_areas: Sequence[int], depth: int, classes: int,
                  total_energy: float, max_pixel_energy: float) -> float:
    """Toeplitz bound / filter bound to leading order (large rho, additive terms dropped):
    prod sqrt(P_l) sqrt(total_energy) (1 + sqrt(2(depth ln 2 + ln k)))
    / (prod sqrt(d_l) sqrt(max_pixel_energy) (1 + sqrt(2(depth ln(2 max d) + ln k))))."""
    toeplitz = math.prod(math.sqrt(p) for p in output_positions) * math.sqrt(total_energy) \
        * (1 + math.sqrt(2 * (depth * math.log(2) + math.log(classes))))
    filters = math.prod(math.sqrt(d) for d in kernel_areas) * math.sqrt(max_pixel_energy) \
        * (1 + math.sqrt(2 * (depth * math.log(2 * max(kernel_areas)) + math.log(classes))))
    return toeplitz / filters


def margins(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample margins f_y(x) - max_{j != y} f_j(x) (negative when misclassified)."""
    true = logits.gather(1, y[:, None])[:, 0]
    others = logits.scatter(1, y[:, None], float("-inf")).max(1).values
    return true - others
