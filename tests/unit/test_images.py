"""CIFAR tensors and the crop-and-flip augmentation of `companion.ml.images`."""

import numpy as np
import pytest
import torch

from companion.ml.images import crop_and_flip, image_tensor


def test_crop_and_flip_without_padding_only_flips():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    out = crop_and_flip(x, torch.Generator().manual_seed(0), pad=0)
    for i in range(2):
        assert torch.equal(out[i], x[i]) or torch.equal(out[i], x[i].flip(-1))


def test_crop_and_flip_is_a_shifted_window_of_the_padded_image_and_is_seeded():
    x = torch.randn(16, 3, 8, 8)
    a = crop_and_flip(x, torch.Generator().manual_seed(1))
    b = crop_and_flip(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == x.shape
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for i in range(16):
        windows = [padded[i, :, r:r + 8, c:c + 8] for r in range(9) for c in range(9)]
        assert any(torch.equal(a[i], w) or torch.equal(a[i], w.flip(-1)) for w in windows)


def test_image_tensor_standardises_channels_and_rejects_other_shapes():
    images = np.full((2, 4, 4, 3), 128, dtype=np.uint8)
    x = image_tensor(images)
    assert x.shape == (2, 3, 4, 4)
    assert x[0, 0, 0, 0].item() == pytest.approx((128 / 255 - 0.4914) / 0.2470, abs=1e-5)
    with pytest.raises(ValueError, match="N, H, W, 3"):
        image_tensor(np.zeros((2, 4, 4), dtype=np.uint8))




def test_crop_without_flip_only_shifts():
    x = torch.randn(32, 1, 8, 8)
    out = crop_and_flip(x, torch.Generator().manual_seed(0), pad=1, flip=False)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(32):
        windows = [padded[i, :, r:r + 8, c:c + 8] for r in range(3) for c in range(3)]
        assert any(torch.equal(out[i], w) for w in windows)
    # with a flip allowed, some of 32 images come out mirrored (chance 2^-32 that none does)
    flipped = crop_and_flip(x, torch.Generator().manual_seed(0), pad=0)
    assert any(torch.equal(flipped[i], x[i].flip(-1)) for i in range(32))
