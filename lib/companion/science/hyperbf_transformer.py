"""Vision transformers whose attention and MLP blocks can be HyperBF units (Gan and Poggio 2023).

Gaussian attention scores a query against a key by -s (q - k)^T M (q - k) instead of s q.k; the
HyperBF "MLP" maps a token x to W exp(-beta_a (x - t_a)^T M (x - t_a)) + b over learned centres t_a.
Both compute their distances with `companion.science.hyperbf.squared_distances`, in float32 even under
reduced-precision autocast: exp of a large negative number underflows to exactly zero, and a
bfloat16 distance near 100 is only good to about 0.5.

Used in the chapters: hyperbf-transformer.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from companion.ml.models import evaluating
from companion.science.hyperbf import squared_distances


def full_precision(x: torch.Tensor):
    """A context that switches autocast off on x's device, so that what runs inside stays in float32."""
    return torch.autocast(x.device.type, enabled=False)


def gaussian_logits(q: torch.Tensor, k: torch.Tensor, scale: float | torch.Tensor,
                    M: torch.Tensor | None = None) -> torch.Tensor:
    """-scale (q_i - k_j)^T M (q_i - k_j) for queries (..., T, d) and keys (..., S, d): shape (..., T, S).

    M = None is the identity."""
    return -scale * squared_distances(q, k, M)


def dot_logits_with_key_bias(q: torch.Tensor, k: torch.Tensor, scale: float | torch.Tensor,
                             M: torch.Tensor | None = None) -> torch.Tensor:
    """2 scale q_i^T M k_j - scale k_j^T M k_j: the same softmax over keys as `gaussian_logits`, because
    the dropped term -scale q_i^T M q_i is constant across the keys of a query. M = None is the identity."""
    km = k if M is None else k @ M
    return 2 * scale * q @ km.transpose(-1, -2) - scale * (km * k).sum(-1).unsqueeze(-2)


class Attention(nn.Module):
    """Multi-head self-attention with dot-product ("dot") or Gaussian ("gaussian") scores.

    Gaussian scores use a metric M = L L^T shared by the heads (L initialised to the identity) and a
    learnable scale initialised to d_head^-1/2, as in the reference code.
    """

    def __init__(self, dim: int, heads: int, kind: str = "dot") -> None:
        super().__init__()
        if kind not in ("dot", "gaussian"):
            raise ValueError(f"attention kind must be 'dot' or 'gaussian', got {kind!r}")
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by {heads} heads")
        self.kind, self.heads, self.head_dim = kind, heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        if kind == "gaussian":
            self.factor = nn.Parameter(torch.eye(self.head_dim))
            self.scale = nn.Parameter(torch.tensor(self.head_dim**-0.5))

    def project(self, x: torch.Tensor, metric: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values per head, each (N, heads, T, d_head). For Gaussian scores the queries
        and keys are multiplied by L (unless `metric` is False), so that their plain distance is the
        metric one, (q - k)^T L L^T (q - k)."""
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if self.kind == "gaussian" and metric:
            q, k = q @ self.factor, k @ self.factor
        return q, k, v

    def logits(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Attention scores (N, heads, T, T) before the softmax over keys (the last axis); Gaussian
        scores in float32 whatever the autocast."""
        if self.kind == "dot":
            return q @ k.transpose(-1, -2) * self.head_dim**-0.5
        with full_precision(q):
            return gaussian_logits(q.float(), k.float(), self.scale.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.project(x)
        weights = torch.softmax(self.logits(q, k), dim=-1).to(v.dtype)
        return self.out((weights @ v).transpose(1, 2).reshape(*x.shape[:2], -1))


class RBFBlock(nn.Module):
    """The HyperBF "MLP": x -> W exp(-beta_a (x - t_a)^T M (x - t_a)) + b, with M = L L^T (L = I at start).

    `centres` random centres t_a ~ N(0, I); every beta_a starts at `beta0`. For inputs of unit variance
    per coordinate, ||x - t||^2 is about 2d, so beta0 = 1/(2d) keeps the exponent near -1 at the start;
    the reference code's beta0 = 0.1 makes it about -0.2 d, which underflows for wide layers.
    """

    def __init__(self, dim: int, centres: int, beta0: float) -> None:
        super().__init__()
        self.centres = nn.Parameter(torch.randn(centres, dim))
        self.log_beta = nn.Parameter(torch.full((centres,), math.log(beta0)))
        self.factor = nn.Parameter(torch.eye(dim))
        self.out = nn.Linear(centres, dim)

    def exponents(self, x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """beta_a (x - t_a)^T M (x - t_a) for inputs (..., dim), shape (..., centres), computed in `dtype`
        (autocast off)."""
        with full_precision(x):
            flat = x.reshape(-1, x.shape[-1]).to(dtype)
            L = self.factor.to(dtype)
            sq = squared_distances(flat, self.centres.to(dtype), L @ L.T)
            return (self.log_beta.to(dtype).exp() * sq).reshape(*x.shape[:-1], -1)

    @torch.no_grad()
    def set_smallest_exponent(self, x: torch.Tensor, exponent: float) -> None:
        """Give every unit the width beta = exponent / (smallest (x - t)^T M (x - t) over all units and the
        inputs x): the smallest exponent on x becomes `exponent` (above about 104 every activation on x
        is exactly zero in float32)."""
        sq = self.exponents(x, torch.float64) / self.log_beta.double().exp()
        self.log_beta.fill_(math.log(exponent / sq.min().item()))

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        """The RBF activations exp(-beta_a d_a^2), shape (..., centres), computed in float32."""
        return torch.exp(-self.exponents(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.activations(x).to(x.dtype))


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm x), then x + mlp(norm x) (mlp may be absent)."""

    def __init__(self, dim: int, heads: int, attention: str, mlp: str, hidden: int, centres: int,
                 beta0: float) -> None:
        super().__init__()
        self.norm1, self.attention = nn.LayerNorm(dim), Attention(dim, heads, attention)
        self.norm2 = nn.LayerNorm(dim) if mlp != "none" else nn.Identity()
        if mlp == "relu":
            self.mlp: nn.Module | None = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        elif mlp == "rbf":
            self.mlp = RBFBlock(dim, centres, beta0)
        elif mlp == "none":
            self.mlp = None
        else:
            raise ValueError(f"mlp must be 'relu', 'rbf' or 'none', got {mlp!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x if self.mlp is None else x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """A small vision transformer on square images cut into `patch` x `patch` patches, with a class token."""

    def __init__(self, image_size: int, patch: int, channels: int, dim: int, depth: int, heads: int,
                 classes: int, attention: str = "dot", mlp: str = "relu", hidden: int | None = None,
                 centres: int = 11, beta0: float | None = None) -> None:
        super().__init__()
        if image_size % patch:
            raise ValueError(f"image size {image_size} is not a multiple of the patch size {patch}")
        self.patch = patch
        tokens = (image_size // patch) ** 2
        self.embed = nn.Linear(channels * patch * patch, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.position = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        beta0 = 1 / (2 * dim) if beta0 is None else beta0
        self.blocks = nn.ModuleList(Block(dim, heads, attention, mlp, hidden or 2 * dim, centres, beta0)
                                    for _ in range(depth))
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def tokens(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) images -> (N, patches, C * patch * patch) flattened patches."""
        p = self.patch
        n, c, h, w = images.shape
        x = images.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(n, (h // p) * (w // p), c * p * p)

    def embedded(self, images: torch.Tensor) -> torch.Tensor:
        """The input of the first block: the class token, then the embedded patches, plus positions."""
        x = self.embed(self.tokens(images))
        return torch.cat([self.cls.expand(len(x), -1, -1), x], dim=1) + self.position

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.embedded(images)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


def rbf_blocks(model: nn.Module) -> list[RBFBlock]:
    """The HyperBF MLP blocks of `model`, in order."""
    return [m for m in model.modules() if isinstance(m, RBFBlock)]


@torch.no_grad()
def rbf_inputs(model: nn.Module, images: torch.Tensor) -> list[tuple[RBFBlock, torch.Tensor]]:
    """Every HyperBF MLP block of `model`, in order, with its input (N, T, dim) on `images` (eval mode).

    `block.activations(x)` then gives the units' outputs, `block.exponents(x, dtype)` their exponents.
    """
    blocks = rbf_blocks(model)
    seen: dict[RBFBlock, torch.Tensor] = {}
    hooks = [b.register_forward_hook(lambda mod, inputs, out: seen.__setitem__(mod, inputs[0]))
             for b in blocks]
    try:
        with evaluating(model):
            model(images)
    finally:
        for h in hooks:
            h.remove()
    return [(b, seen[b]) for b in blocks]


@torch.no_grad()
def set_smallest_exponents(model: nn.Module, images: torch.Tensor, exponent: float) -> None:
    """Make every HyperBF MLP block's smallest exponent on `images` equal `exponent`, block by block from
    the first (a block's inputs depend on the blocks before it): above about 104 the blocks start dead."""
    for i in range(len(rbf_blocks(model))):
        block, x = rbf_inputs(model, images)[i]
        block.set_smallest_exponent(x, exponent)


def dead_fraction(activations: torch.Tensor) -> float:
    """Share of RBF activations (..., centres) that are exactly zero: no output and no gradient there."""
    return float((activations == 0).float().mean())


def dead_units(activations: torch.Tensor) -> float:
    """Share of units (the last axis) that are exactly zero on every input: such a unit gets no gradient
    at all, while one that is alive on a single input can still learn its width and centre."""
    return float((activations == 0).reshape(-1, activations.shape[-1]).all(0).float().mean())


def smallest_positive(dtype: torch.dtype) -> float:
    """The smallest positive number of a floating-point format (its smallest subnormal). A result below
    half of it rounds to exactly zero: exp(-e) is zero in that format once e > -log(smallest / 2)."""
    info = torch.finfo(dtype)
    return info.smallest_normal * info.eps
