"""Image batches for the vision chapters: CIFAR-10 tensors and the random crop (and flip) augmentation."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from companion.ml.device import to_device_async

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def image_tensor(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 images (N, H, W, 3) -> float32 (N, 3, H, W), standardised with CIFAR-10's channel statistics."""
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected images of shape (N, H, W, 3), got {images.shape}")
    x = torch.as_tensor(images, device=device).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(CIFAR_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD, device=device).view(1, 3, 1, 1)
    return (x - mean) / std


def crop_and_flip(batch: torch.Tensor, generator: torch.Generator, pad: int = 4, flip: bool = True) -> torch.Tensor:
    """A random crop of the zero-padded image and (if `flip`) a random horizontal flip: the CIFAR augmentation.

    `batch` is (N, C, H, W) on any device; the random offsets come from the CPU `generator`, so
    a seeded run draws the same augmentations on every device. Digits should not be flipped:
    `flip=False` gives random shifts of up to `pad` pixels only.
    """
    n, _, h, w = batch.shape
    padded = nn.functional.pad(batch, (pad, pad, pad, pad))
    draws = torch.randint(0, 2 * pad + 1, (3, n), generator=generator)
    draws[2] = torch.randint(0, 2, (n,), generator=generator) * int(flip)
    dy, dx, flips = to_device_async(draws, batch.device)  # one small copy per batch
    flips = flips.bool()
    rows = (dy[:, None] + torch.arange(h, device=batch.device)).view(n, 1, h, 1)
    cols = dx[:, None] + torch.arange(w, device=batch.device)
    cols = torch.where(flips[:, None], cols.flip(1), cols).view(n, 1, 1, w)
    index = torch.arange(n, device=batch.device).view(n, 1, 1, 1)
    channel = torch.arange(batch.shape[1], device=batch.device).view(1, -1, 1, 1)
    return padded[index, channel, rows, cols]
