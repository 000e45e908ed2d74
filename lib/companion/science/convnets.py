"""Small convolutional networks with weight-normalised filters, and the dense matrix of a convolution.

CONV-L-H (Galanti, Xu, Galanti and Poggio 2023): L convolutions with H channels, 2x2 filters,
stride 1, no padding and no bias, each weight-normalised and followed by a ReLU, then one fully
connected layer. `conv_matrix` writes a convolution as the (Toeplitz-structured) matrix it applies.

Used in the chapters: sparse-norm-bounds.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from companion.science.bounds import filter_norm_bound, leading_ratio, toeplitz_norm_bound


def conv_net(depth: int, width: int, image_size: int, in_channels: int = 1, classes: int = 10,
             kernel: int = 2) -> nn.Sequential:
    """CONV-`depth`-`width` for square images of side `image_size`; inputs are (N, in_channels, side, side).

    Each convolution has its weight written as g * v / ||v|| with one scalar gain g (weight
    normalisation over the whole filter tensor); the final linear layer is plain.
    """
    side = image_size - depth * (kernel - 1)
    if side < 1:
        raise ValueError(f"{depth} convolutions of size {kernel} do not fit an image of side {image_size}")
    layers: list[nn.Module] = []
    for i in range(depth):
        conv = nn.Conv2d(in_channels if i == 0 else width, width, kernel, bias=False)
        layers += [weight_norm(conv, dim=None), nn.ReLU()]
    layers += [nn.Flatten(), nn.Linear(width * side * side, classes, bias=False)]
    return nn.Sequential(*layers)


def layers_with_weights(model: nn.Module) -> list[nn.Module]:
    """The convolutions and linear layers of a model, in order (what the norm-based bounds multiply)."""
    return [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def conv_matrix(weight: torch.Tensor, in_shape: tuple[int, int, int], padding: int | str = 0) -> torch.Tensor:
    """The matrix T with T @ x.flatten() = conv2d(x, weight, padding).flatten() for inputs of shape (C, H, W).

    Built column by column from the images of the standard basis, so it is exact for any padding.
    Shape (C_out * H_out * W_out, C * H * W).
    """
    basis = torch.eye(int(torch.tensor(in_shape).prod()), dtype=weight.dtype, device=weight.device)
    out = F.conv2d(basis.view(-1, *in_shape), weight, padding=padding)
    return out.flatten(1).T


def output_positions(model: nn.Module, image_size: int, in_channels: int = 1) -> list[int]:
    """Number of spatial output positions H_out * W_out of each convolution for one input image."""
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: sizes.append(out.shape[-2] * out.shape[-1]))
             for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            p = next(model.parameters())
            model(torch.zeros(1, in_channels, image_size, image_size, dtype=p.dtype, device=p.device))
    finally:
        for h in hooks:
            h.remove()
    return sizes


def conv_frobenius_norm(weight: torch.Tensor, in_shape: tuple[int, int, int], padding: int | str = 0,
                        chunk: int = 1024) -> float:
    """||T||_F for the matrix T of `conv_matrix`, without building T: the images of the basis vectors are
    computed `chunk` at a time in the weight's precision and their squares summed in float64, so large
    layers fit in memory. On a GPU, TF32 convolutions (PyTorch's default) would round every weight to
    10 mantissa bits; they are switched off for the computation, so each entry of T is exact."""
    w = weight.detach()
    size = int(torch.tensor(in_shape).prod())
    total = torch.zeros((), dtype=torch.float64, device=w.device)
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        for start in range(0, size, chunk):
            idx = torch.arange(start, min(start + chunk, size), device=w.device)
            basis = torch.zeros(len(idx), size, dtype=w.dtype, device=w.device)
            basis[torch.arange(len(idx), device=w.device), idx] = 1.0
            total += (F.conv2d(basis.view(-1, *in_shape), w, padding=padding).to(torch.float64) ** 2).sum()
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    return float(total.sqrt())


def network_bounds(model: nn.Module, image_size: int, n: int, max_pixel_energy: float, total_energy: float,
                   classes: int = 10, in_channels: int = 1) -> dict[str, float]:
    """Both bounds of Galanti et al. (2023) for a CONV-L-H network, their leading-order ratio, and rho.

    `n` training images with largest pixel energy `max_pixel_energy` (max_j sum_i x_ij^2) and total
    energy `total_energy` (sum_i ||x_i||^2); filters are assumed square (d_l taps each).
    """
    layers = layers_with_weights(model)
    norms = [layer.weight.detach().norm().item() for layer in layers]
    areas = [m.kernel_size[0] * m.kernel_size[1] for m in layers if isinstance(m, nn.Conv2d)]
    positions = output_positions(model, image_size, in_channels)
    return {"filter": filter_norm_bound(norms, areas, n, classes, max_pixel_energy),
            "toeplitz": toeplitz_norm_bound(norms, positions, n, classes, total_energy),
            "rho": math.prod(norms),
            "leading_ratio": leading_ratio(positions, areas, len(norms), classes, total_energy, max_pixel_energy)}
