"""The Canonical Representation Hypothesis, measured: the six matrices of a layer and how they align.

For a linear layer h_b = W h_a inside a network, with per-sample gradients g = -dl/dh on both sides,
the six matrices are H_a, H_b (representations), G_a, G_b (gradients) and Z_a = W^T W, Z_b = W W^T
(weights). Alignment is the Pearson correlation of two matrices' entries. Covariances follow the
paper's recipe: normalise each sample's vector to unit length, centre, then average outer products.

Used in the chapters: agop-hyperbf, canonical-representation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from companion.ml.models import evaluating

RELATIONS = ("RGA_a", "RWA_a", "GWA_a", "RGA_b", "RWA_b", "GWA_b")
"""The six relations: R(epresentation), G(radient), W(eight) pairs on the input (a) and output (b) side."""

PAIRS = {"RGA": ("H", "G"), "RWA": ("H", "Z"), "GWA": ("G", "Z")}

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

BATCH_COUPLED = (nn.modules.batchnorm._BatchNorm, nn.Dropout)
"""Modules that, in training mode, make one sample's output depend on the others (or on chance)."""


def sum_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy summed over the batch, so each sample's gradient is its own loss's gradient."""
    return F.cross_entropy(logits, y, reduction="sum")


def layer_signals(model: nn.Module, layer: nn.Linear, x: torch.Tensor, y: torch.Tensor,
                  loss: Loss = sum_cross_entropy, chunk: int = 1024) -> dict[str, torch.Tensor]:
    """Per-sample activations and negative loss gradients on both sides of `layer`, each (n, width).

    Returns h_a (the layer's input), h_b (its output), g_a = -dl_i/dh_a and g_b = -dl_i/dh_b, where
    l_i is sample i's loss. With a summed loss and a model that treats samples independently (no
    batch statistics: call it in eval mode), the gradient of the batch loss with respect to sample
    i's activation is exactly sample i's own gradient. Processed in chunks of `chunk` samples; a
    model with batch norm or dropout in training mode is refused.
    """
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"layer must be an nn.Linear, got {type(layer).__name__}")
    coupled = [type(m).__name__ for m in model.modules() if m.training and isinstance(m, BATCH_COUPLED)]
    if coupled:
        raise ValueError(f"put the model in eval mode first: {coupled[0]} in training mode mixes samples")
    seen: dict[str, torch.Tensor] = {}

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        seen["h_a"], seen["h_b"] = inputs[0], output

    parts: dict[str, list[torch.Tensor]] = {"h_a": [], "h_b": [], "g_a": [], "g_b": []}
    handle = layer.register_forward_hook(hook)
    try:
        for xs, ys in zip(x.split(chunk), y.split(chunk), strict=True):
            xs = xs.detach().requires_grad_(True)  # so that the layer's input needs a gradient too
            total = loss(model(xs), ys)
            # only the gradients at the layer: backward stops there, and no parameter gradient is touched
            grads = torch.autograd.grad(total, [seen["h_a"], seen["h_b"]])
            for side, grad in zip("ab", grads, strict=True):
                parts[f"h_{side}"].append(seen[f"h_{side}"].detach())
                parts[f"g_{side}"].append(-grad.detach())
    finally:
        handle.remove()
    return {key: torch.cat(val) for key, val in parts.items()}


def normalized_covariance(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """E[u u^T] of the centred unit vectors u: each row of `v` (n, d) scaled to norm 1, then centred.

    Without the normalisation a few samples with large activations or gradients dominate the
    average; the paper normalises per sample. Returns a (d, d) float64 matrix.
    """
    v = v.detach().to(torch.float64)
    u = v / v.norm(dim=1, keepdim=True).clamp_min(eps)
    u = u - u.mean(0)
    return u.T @ u / len(u)


def alignment(A: torch.Tensor | np.ndarray, B: torch.Tensor | np.ndarray) -> float:
    """Pearson correlation between the entries of two matrices of the same shape (1: proportional)."""
    if tuple(A.shape) != tuple(B.shape):
        raise ValueError(f"matrices must have the same shape, got {tuple(A.shape)} and {tuple(B.shape)}")
    a = torch.as_tensor(A, dtype=torch.float64).flatten()
    b = torch.as_tensor(B, dtype=torch.float64, device=a.device).flatten()
    a, b = a - a.mean(), b - b.mean()
    denom = a.norm() * b.norm()
    if denom == 0:
        raise ValueError("alignment is undefined for a constant matrix")
    return float(a @ b / denom)


def six_matrices(signals: dict[str, torch.Tensor], W: torch.Tensor) -> dict[str, torch.Tensor]:
    """H_a, H_b, G_a, G_b (normalised covariances of `signals`) and Z_a = W^T W, Z_b = W W^T."""
    W = W.detach().to(torch.float64)
    mats = {f"{k}_{side}": normalized_covariance(signals[f"{k.lower()}_{side}"]) for k in "HG" for side in "ab"}
    return mats | {"Z_a": W.T @ W, "Z_b": W @ W.T}


def alignments(mats: dict[str, torch.Tensor], permute: torch.Generator | None = None) -> dict[str, float]:
    """The six alignments. With a generator `permute`, the second matrix of each pair gets its neurons
    shuffled (rows and columns together): a null that keeps each matrix's spectrum and diagonal."""
    out = {}
    for name in RELATIONS:
        kind, side = name.split("_")
        first, second = (mats[f"{m}_{side}"] for m in PAIRS[kind])
        if permute is not None:
            p = torch.randperm(len(second), generator=permute).to(second.device)
            second = second[p][:, p]
        out[name] = alignment(first, second)
    return out


def measure(model: nn.Module, layer: nn.Linear, x: torch.Tensor, y: torch.Tensor,
            loss: Loss = sum_cross_entropy) -> dict[str, torch.Tensor]:
    """The six matrices of `layer` on data (x, y), with the model in eval mode for the measurement."""
    with evaluating(model):
        return six_matrices(layer_signals(model, layer, x, y, loss), layer.weight)


def fit_power_law(A: torch.Tensor, Z: torch.Tensor, top: int = 20) -> dict:
    """Fit A ~ Z^p in the eigenbasis of Z: regress log (U^T A U)_ii on log lambda_i over the top eigenpairs.

    Returns the exponent `p`, the Pearson correlation `r` of the log-log points (the fit quality), the
    number `n` of directions used and the points themselves (`log_lambda`, `log_diag`). Directions
    where the diagonal of A is not positive are skipped.
    """
    Z = Z.detach().to(torch.float64)
    A = torch.as_tensor(A).detach().to(device=Z.device, dtype=torch.float64)
    lam, U = torch.linalg.eigh(Z)
    lam, U = lam.flip(0)[:top], U.flip(1)[:, :top]
    d = torch.einsum("ij,jk,ki->i", U.T, A, U)
    keep = (lam > 0) & (d > 0)
    if keep.sum() < 3:
        raise ValueError("need at least three directions with positive eigenvalue and diagonal to fit")
    lx, ly = lam[keep].log().cpu().numpy(), d[keep].log().cpu().numpy()
    p = float(np.polyfit(lx, ly, 1)[0])
    return {"p": p, "r": float(np.corrcoef(lx, ly)[0, 1]), "n": int(keep.sum()),
            "log_lambda": lx.tolist(), "log_diag": ly.tolist()}


def power_laws(mats: dict[str, torch.Tensor], top: int = 20) -> dict[str, dict]:
    """Exponents of H and G against Z on each side: H_a ~ Z_a^p, G_a ~ Z_a^p, H_b ~ Z_b^p, G_b ~ Z_b^p."""
    return {f"{m}_{side}": fit_power_law(mats[f"{m}_{side}"], mats[f"Z_{side}"], top) for side in "ab" for m in "HG"}


def agop(model: nn.Module, layer: nn.Linear, x: torch.Tensor, outputs: int) -> torch.Tensor:
    """Average gradient outer product of the model's outputs with respect to the layer's input h_a.

    AGOP = (1/n) sum_i sum_c grad f_c(x_i) grad f_c(x_i)^T (uncentred), the matrix the neural feature
    ansatz says W^T W is proportional to. One backward pass per output, in eval mode.
    """
    labels = torch.zeros(len(x), dtype=torch.long, device=x.device)
    total = torch.zeros(layer.in_features, layer.in_features, dtype=torch.float64, device=x.device)
    with evaluating(model):
        for c in range(outputs):
            g = layer_signals(model, layer, x, labels, loss=lambda logits, _, c=c: logits[:, c].sum())["g_a"]
            g = g.to(torch.float64)
            total += g.T @ g / len(x)
    return total


def input_mass(W: torch.Tensor, inputs: slice) -> float:
    """Share of tr(W^T W) = ||W||_F^2 that sits on the input columns `inputs` of W (out, in)."""
    col = (W.detach().to(torch.float64) ** 2).sum(0)
    return float(col[inputs].sum() / col.sum())
