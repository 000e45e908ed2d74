"""Locality without weight sharing: locally connected layers, and the three image networks compared with them.

A convolution is local (each output reads a small patch) and shares its weights across positions. A
locally connected layer is local without sharing: every position has its own filter. An MLP is
neither. Comparing the three on images separates what locality buys from what sharing buys; a fixed
permutation of the pixels destroys locality while keeping every pixel (Poggio and Fraser 2024 argue
that locality, a form of compositional sparsity, is what matters).

Used in the chapters: compositional-sparsity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from companion.ml.models import mlp


class LocallyConnected2d(nn.Module):
    """Like nn.Conv2d(in_channels, out_channels, kernel, stride, padding) on `size` x `size` inputs, but
    with a separate filter (and bias) at every output position."""

    def __init__(self, in_channels: int, out_channels: int, size: int, kernel: int, stride: int = 1,
                 padding: int = 0) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.out_size = (size + 2 * padding - kernel) // stride + 1
        positions, fan_in = self.out_size**2, in_channels * kernel * kernel
        bound = fan_in**-0.5  # nn.Conv2d's default range, filter by filter
        self.weight = nn.Parameter(torch.empty(positions, out_channels, fan_in).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_channels, positions).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = F.unfold(x, self.kernel, padding=self.padding, stride=self.stride)  # (N, fan_in, L)
        out = torch.einsum("nfl,lof->nol", patches, self.weight) + self.bias
        return out.reshape(len(x), -1, self.out_size, self.out_size)


def image_net(kind: str, channels: int = 32, classes: int = 10, size: int = 32, hidden: int = 512) -> nn.Module:
    """Two local layers (5x5, stride 2, ReLU) and a linear read-out, with shared ("conv") or unshared
    ("local") filters; or ("mlp") two dense hidden layers of `hidden` units. Inputs (N, 3, size, size)."""
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), *mlp([3 * size * size, hidden, hidden, classes], bias=True))
    if kind not in ("conv", "local"):
        raise ValueError(f"unknown network kind {kind!r}; expected 'conv', 'local' or 'mlp'")
    layers: list[nn.Module] = []
    in_channels, side = 3, size
    for out_channels in (channels, 2 * channels):
        if kind == "conv":
            layer: nn.Module = nn.Conv2d(in_channels, out_channels, 5, stride=2, padding=2)
        else:
            layer = LocallyConnected2d(in_channels, out_channels, side, 5, stride=2, padding=2)
        layers += [layer, nn.ReLU()]
        in_channels, side = out_channels, (side + 4 - 5) // 2 + 1
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(in_channels * side * side, classes))


def permute_pixels(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The same fixed random permutation of pixel positions applied to every image (N, C, H, W): every
    pixel is kept, no neighbourhood is."""
    n, c, h, w = images.shape
    order = torch.randperm(h * w, generator=torch.Generator().manual_seed(seed)).to(images.device)
    return images.reshape(n, c, h * w)[:, :, order].reshape(n, c, h, w)
