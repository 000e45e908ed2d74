"""The linear null-space mechanism of the SGD-vs-GD chapter."""

import numpy as np
import pytest
import torch

from companion.science.null_space import (
    gradient_step,
    image_autoencoder_problem,
    linear_problem,
    null_space_projector,
    predicted_ratio,
    ratio_error,
    relative_change,
    train_linear,
)


def test_projector_annihilates_the_data_and_is_idempotent():
    X, _, _ = linear_problem(d=30, n=7, k=4, seed=1)
    P = null_space_projector(X)
    assert torch.allclose(P @ X, torch.zeros_like(X), atol=1e-12)
    assert torch.allclose(P @ P, P, atol=1e-12)
    assert round(torch.trace(P).item()) == 30 - 7


@pytest.mark.parametrize("batch", [[0], [2, 5], [0, 1, 2, 3, 4, 5, 6]])
def test_null_space_component_decays_by_one_minus_eta_lambda(batch):
    X, Y, W = linear_problem(d=30, n=7, k=4, seed=2)
    P = null_space_projector(X)
    W_next = gradient_step(W, X[:, batch], Y[:, batch], lr=0.3, weight_decay=0.2)
    assert torch.allclose(W_next @ P, (1 - 0.3 * 0.2) * (W @ P), atol=1e-12)


def test_gradient_step_leaves_null_space_alone_without_weight_decay():
    X, Y, W = linear_problem(d=30, n=7, k=4, seed=3)
    P = null_space_projector(X)
    assert torch.allclose(gradient_step(W, X, Y, lr=0.5, weight_decay=0.0) @ P, W @ P, atol=1e-12)


def test_sgd_to_gd_ratio_matches_prediction_per_epoch():
    X, Y, W0 = linear_problem(d=40, n=8, k=10, seed=0)
    common = dict(lr=0.1, weight_decay=0.05, epochs=30)
    sgd, gd = train_linear(X, Y, W0, batch_size=2, **common), train_linear(X, Y, W0, batch_size=8, **common)
    measured = sgd["w_perp"] / gd["w_perp"]
    assert np.allclose(measured, predicted_ratio(0.1, 0.05, 8 // 2, np.arange(31)), rtol=1e-8)
    assert ratio_error(sgd, gd, lr=0.1, weight_decay=0.05) < 1e-8


def test_cyclic_order_decays_exactly_like_shuffled_order():
    X, Y, W0 = linear_problem(d=40, n=8, k=10, seed=0)
    common = dict(lr=0.1, weight_decay=0.05, epochs=20, batch_size=1)
    shuffled, cyclic = train_linear(X, Y, W0, **common), train_linear(X, Y, W0, shuffle=False, **common)
    assert np.allclose(shuffled["w_perp"], cyclic["w_perp"], rtol=1e-9)
    assert not np.allclose(shuffled["loss"], cyclic["loss"])  # the orders really differ


def test_train_linear_rejects_batch_sizes_that_do_not_divide_n():
    X, Y, W0 = linear_problem(d=10, n=6, k=2, seed=0)
    with pytest.raises(ValueError, match="must divide n"):
        train_linear(X, Y, W0, lr=0.1, weight_decay=0.1, batch_size=4, epochs=1)


def test_relative_change_is_zero_for_a_constant_and_reports_the_largest_deviation():
    assert relative_change(np.array([2.0, 2.0, 2.0])) == 0.0
    assert relative_change(np.array([2.0, 1.0, 2.5])) == pytest.approx(0.5)


def test_image_autoencoder_problem_has_unit_norm_centred_columns():
    images = np.random.default_rng(0).integers(0, 256, size=(12, 4, 4, 3), dtype=np.uint8)
    X, Y, W0 = image_autoencoder_problem(images, n=5, seed=0)
    assert X.shape == (48, 5) and W0.shape == (48, 48)
    assert torch.equal(X, Y)
    assert torch.allclose(torch.linalg.norm(X, dim=0), torch.ones(5, dtype=X.dtype))
    with pytest.raises(ValueError, match="only 12"):
        image_autoencoder_problem(images, n=13, seed=0)


def test_ratio_error_refuses_runs_of_different_lengths():
    X, Y, W0 = linear_problem(d=20, n=4, k=3, seed=0)
    short = train_linear(X, Y, W0, lr=0.1, weight_decay=0.05, batch_size=1, epochs=3)
    long = train_linear(X, Y, W0, lr=0.1, weight_decay=0.05, batch_size=4, epochs=5)
    with pytest.raises(ValueError, match="equal lengths"):
        ratio_error(short, long, lr=0.1, weight_decay=0.05)
