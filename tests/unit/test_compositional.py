"""Compositionally sparse targets and networks (`companion.science.compositional`), image networks with and without
weight sharing (`companion.science.locality`), and the regression loop (`companion.ml.training.train_regressor`)."""

import numpy as np
import pytest
import torch
from torch import nn

from companion.ml.training import train_regressor
from companion.science.compositional import (
    GATES,
    TreeNet,
    all_bit_pairs,
    constituent,
    dense_deep,
    parameter_count,
    ripple_adder,
    shallow,
    to_int,
    tree_data,
    tree_target,
)
from companion.science.locality import LocallyConnected2d, image_net, permute_pixels


def test_tree_target_composes_the_constituent_level_by_level():
    x = torch.rand(6, 4) * 2 - 1
    expected = constituent(constituent(x[:, 0], x[:, 1]), constituent(x[:, 2], x[:, 3]))
    assert torch.allclose(tree_target(x), expected)
    order = np.array([2, 0, 3, 1])
    assert torch.allclose(tree_target(x, order), tree_target(x[:, order]))
    big = tree_data(32, 1000, seed=0)[1]
    assert big.abs().max() <= 1
    with pytest.raises(ValueError, match="d = 2, 4, 8"):
        tree_target(torch.zeros(3, 6))


def test_tree_net_has_65_parameters_a_node_and_its_order_only_reorders_the_inputs():
    torch.manual_seed(0)
    net = TreeNet(16)
    assert parameter_count(net) == 65 * 15
    order = np.random.default_rng(0).permutation(16)
    reordered = TreeNet(16, order=order)
    reordered.load_state_dict({**net.state_dict(), "order": torch.as_tensor(order)})
    x = torch.randn(5, 16)
    assert torch.allclose(reordered(x), net(x[:, order]), atol=1e-6)


def test_shallow_and_dense_deep_fit_the_budget_as_closely_as_their_widths_allow():
    for d, budget in [(4, 195), (32, 2015)]:
        for model in (shallow(d, budget), dense_deep(d, budget)):
            assert budget - 3 * (d + 2) - 100 < parameter_count(model) <= budget
        assert len([m for m in dense_deep(d, budget) if isinstance(m, nn.Linear)]) == 4


def test_relu_gates_are_exact_truth_tables_and_the_adder_adds():
    a, b = torch.tensor([0.0, 0, 1, 1]), torch.tensor([0.0, 1, 0, 1])
    assert GATES["and"](a, b).tolist() == [0, 0, 0, 1]
    assert GATES["or"](a, b).tolist() == [0, 1, 1, 1]
    assert GATES["xor"](a, b).tolist() == [0, 1, 1, 0]
    x, y = all_bit_pairs(4)
    assert x.shape == (256, 4) and to_int(x).unique().numel() == 16
    total, used = ripple_adder(x, y)
    assert torch.equal(to_int(total), to_int(x) + to_int(y))
    assert used == {"and": 8, "or": 4, "xor": 8}
    broken, _ = ripple_adder(x, y, {**GATES, "xor": GATES["or"]})
    assert not torch.equal(to_int(broken), to_int(x) + to_int(y))


def test_train_regressor_fits_a_linear_map_and_rejects_a_bad_batch():
    torch.manual_seed(0)
    x = torch.randn(256, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0))
    losses = train_regressor(model, x, y, steps=300, lr=0.05, batch_size=64)
    assert losses[-20:].mean() < 1e-3 < losses[0]
    with pytest.raises(ValueError, match="batch_size"):
        train_regressor(model, x, y, steps=1, lr=0.1, batch_size=1000)


def test_a_locally_connected_layer_with_copies_of_one_filter_is_a_convolution():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 5, stride=2, padding=2)
    local = LocallyConnected2d(3, 4, size=12, kernel=5, stride=2, padding=2)
    with torch.no_grad():
        local.weight.copy_(conv.weight.reshape(4, -1).expand_as(local.weight))
        local.bias.copy_(conv.bias[:, None].expand_as(local.bias))
    x = torch.randn(2, 3, 12, 12)
    assert torch.allclose(local(x), conv(x), atol=1e-5)


def test_image_networks_and_the_pixel_permutation():
    x = torch.randn(2, 3, 32, 32)
    for kind in ("conv", "local", "mlp"):
        assert image_net(kind, channels=4, hidden=16)(x).shape == (2, 10)
    assert parameter_count(image_net("local", 4)) > parameter_count(image_net("conv", 4))
    with pytest.raises(ValueError, match="unknown network kind"):
        image_net("transformer")
    shuffled = permute_pixels(x, seed=1)
    assert torch.equal(shuffled.flatten(2).sort(-1)[0], x.flatten(2).sort(-1)[0])  # every pixel kept
    # one permutation for every image and channel: pixel positions move together
    flat, moved = x.flatten(2), shuffled.flatten(2)
    where = [int((flat[0, 0] == v).nonzero()) for v in moved[0, 0, :5]]
    assert torch.equal(moved[1, 2, :5], flat[1, 2, where])
