"""CONV-L-H networks and the matrices of their convolutions."""

import math

import pytest
import torch

from companion.ml.training import mse_one_hot, train_classifier
from companion.science.bounds import filter_norm_bound, toeplitz_norm_bound
from companion.science.convnets import (
    conv_frobenius_norm,
    conv_matrix,
    conv_net,
    layers_with_weights,
    network_bounds,
    output_positions,
)


def test_conv_net_shapes_weight_norm_and_output_positions():
    model = conv_net(depth=3, width=4, image_size=8)
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert output_positions(model, 8) == [49, 36, 25]
    conv = layers_with_weights(model)[0]
    g = conv.parametrizations.weight.original0
    assert conv.weight.norm().item() == pytest.approx(g.abs().item(), rel=1e-5)  # ||g v / ||v|| || = |g|
    with pytest.raises(ValueError, match="do not fit"):
        conv_net(depth=8, width=2, image_size=8)


def test_conv_matrix_applies_the_convolution():
    w = torch.randn(3, 2, 2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = torch.randn(2, 5, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    T = conv_matrix(w, (2, 5, 5))
    assert T.shape == (3 * 16, 2 * 25)
    assert torch.allclose(T @ x.flatten(), torch.nn.functional.conv2d(x[None], w).flatten())


def test_toeplitz_identity_without_padding_and_strict_inequality_with_padding():
    w = torch.randn(3, 2, 2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    valid = conv_frobenius_norm(w, (2, 6, 6), chunk=7)
    assert valid == pytest.approx(math.sqrt(25) * w.norm().item(), rel=1e-12)
    assert valid == pytest.approx(conv_matrix(w, (2, 6, 6)).norm().item(), rel=1e-12)
    padded = conv_frobenius_norm(w, (2, 6, 6), padding=1)
    assert padded < math.sqrt(49) * w.norm().item()


def test_network_bounds_match_the_bound_formulas():
    torch.manual_seed(0)
    model = conv_net(depth=2, width=3, image_size=6)
    b = network_bounds(model, 6, n=100, max_pixel_energy=9.0, total_energy=400.0)
    norms = [m.weight.detach().norm().item() for m in layers_with_weights(model)]
    assert b["rho"] == pytest.approx(math.prod(norms))
    assert b["filter"] == pytest.approx(filter_norm_bound(norms, [4, 4], 100, 10, 9.0))
    assert b["toeplitz"] == pytest.approx(toeplitz_norm_bound(norms, [25, 16], 100, 10, 400.0))


def test_full_profile_training_path_runs_one_step_on_cpu():
    """One epoch of the full recipe (MSE on one-hot, momentum, milestones, bounds each epoch) at 28 x 28."""
    torch.manual_seed(0)
    model = conv_net(depth=3, width=4, image_size=28)
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    seen = {}
    h = train_classifier(model, x, y, lr=0.01, weight_decay=3e-3, batch_size=8, epochs=1, momentum=0.9,
                         milestones=(1,), loss_fn=mse_one_hot,
                         on_epoch=lambda e: seen.update({e: network_bounds(model, 28, 8, 1.0, 1.0)}))
    assert int(h["steps"]) == 1 and sorted(seen) == [0, 1]
    assert seen[1]["toeplitz"] > seen[1]["filter"] > 0
