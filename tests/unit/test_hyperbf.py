"""The HyperBF network, its AGOP and the closed-form gradients of `companion.science.hyperbf`, against autograd."""

import math

import pytest
import torch

from companion.science.hyperbf import (
    agop,
    agop_path,
    best_trace,
    closed_form_gradient,
    features,
    fit,
    gd_path,
    input_gradients,
    kernel_ridge_agop,
    kernel_ridge_gradient,
    kernel_ridge_loss,
    loss_gradient,
    predict,
    subspace_overlap,
    training_loss,
    with_trace,
)


@pytest.fixture
def problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 4, generator=g, dtype=torch.float64)
    y = torch.stack([x[:, 0] * x[:, 1], torch.sin(x[:, 2])], 1)
    return x, y, x[:12], torch.eye(4, dtype=torch.float64) / 4


def test_features_are_the_gaussian_of_the_metric_distance(problem):
    x, _, t, M = problem
    d = x[3] - t[5]
    assert features(x, t, M)[3, 5].item() == pytest.approx(math.exp(-(d @ M @ d).item()))


def test_input_gradients_and_agop_match_autograd(problem):
    x, y, t, M = problem
    c = fit(x, y, t, M, 1e-3)
    xr = x.clone().requires_grad_(True)
    rows = []
    for k in range(2):
        (g,) = torch.autograd.grad(predict(xr, t, M, c)[:, k].sum(), xr)
        rows.append(g)
        assert torch.allclose(input_gradients(x, t, M, c)[:, k, :], g, atol=1e-12)
    expected = sum(g.T @ g for g in rows) / len(x)
    assert torch.allclose(agop(x, t, M, c, chunk=7), expected, atol=1e-12)


def test_closed_form_gradient_matches_autograd_and_needs_the_optimal_coefficients(problem):
    x, y, t, M = problem
    auto = loss_gradient(x, y, t, M, 1e-3)
    assert torch.allclose(closed_form_gradient(x, y, t, M, 1e-3), auto, rtol=1e-10, atol=1e-14)
    # the envelope argument needs the ridge optimum: with other coefficients the closed form misses
    Mr = M.clone().requires_grad_(True)
    c = fit(x, y, t, M, 1e-1).detach()  # the optimum for another ridge, not for lam = 1e-3
    K = features(x, t, Mr)
    (g,) = torch.autograd.grad((((y - K @ c) ** 2).sum() + len(x) * 1e-3 * (c**2).sum()) / len(x), Mr)
    assert not torch.allclose((g + g.T) / 2, closed_form_gradient(x, y, t, M, 1e-3), rtol=1e-3)


def test_kernel_ridge_gradient_matches_autograd(problem):
    x, y, _, M = problem
    Mr = M.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(kernel_ridge_loss(x, y, Mr, 1e-3), Mr)
    assert torch.allclose(kernel_ridge_gradient(x, y, M, 1e-3), (g + g.T) / 2, rtol=1e-10, atol=1e-14)
    assert kernel_ridge_agop(x, y, M, 1e-3).shape == (4, 4)


def test_agop_path_keeps_the_trace_and_damping_interpolates(problem):
    x, y, t, M = problem

    def agop_at(metric):
        return agop(x, t, metric, fit(x, y, t, metric, 1e-3))

    path = agop_path(agop_at, M, 3)
    assert len(path) == 4 and all(torch.trace(P).item() == pytest.approx(1.0) for P in path)
    half = agop_path(agop_at, M, 1, beta=0.5)[1]
    assert torch.allclose(half, 0.5 * M + 0.5 * with_trace(agop_at(M), 1.0))


def test_gd_path_lowers_the_training_loss(problem):
    x, y, t, M = problem
    path = gd_path(lambda metric: training_loss(x, y, t, metric, 1e-3), M, 20, lr=0.05, every=10)
    assert len(path) == 3
    assert training_loss(x, y, t, path[-1], 1e-3) < training_loss(x, y, t, M, 1e-3)


def test_best_trace_picks_the_lowest_validation_error(problem):
    x, y, t, M = problem
    best, errors = best_trace(M, (x[:40], y[:40]), (x[40:], y[40:]), t, 1e-3, [0.01, 1.0, 100.0])
    assert errors[best] == min(errors.values()) and set(errors) == {0.01, 1.0, 100.0}


def test_subspace_overlap_is_one_for_the_right_subspace_and_small_otherwise():
    M = torch.diag(torch.tensor([5.0, 4.0, 0.1, 0.1], dtype=torch.float64))
    U = torch.eye(4, dtype=torch.float64)[:, :2]
    assert subspace_overlap(M, U) == pytest.approx(1.0)
    assert subspace_overlap(M, torch.eye(4, dtype=torch.float64)[:, 2:]) == pytest.approx(0.0, abs=1e-12)


def test_full_profile_mnist_path_runs_one_step_of_each_method_on_cpu():
    """The full profile's MNIST branch at tiny size: 784-dimensional inputs, one-hot targets."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 784, generator=g, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.arange(30) % 10, 10).to(torch.float64)
    t, M0 = x[:8], torch.eye(784, dtype=torch.float64) / 784
    A = agop_path(lambda M: agop(x, t, M, fit(x, y, t, M, 1e-4)), M0, 1)[-1]
    G = gd_path(lambda M: training_loss(x, y, t, M, 1e-4), M0, 1, every=1)[-1]
    for M in (A, G):
        s, _ = best_trace(M, (x[:20], y[:20]), (x[20:], y[20:]), t, 1e-4, [0.5, 1.0])
        out = predict(x, t, with_trace(M, s), fit(x, y, t, with_trace(M, s), 1e-4))
        assert out.shape == (30, 10) and torch.isfinite(out).all()


def test_gradient_descent_on_a_784_dimensional_metric_lowers_the_loss_at_the_full_profile_rate():
    """The MNIST branch scales Adam's rate by 1/sqrt(784): at that rate the training loss must go down."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(100, 784, generator=g, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.arange(100) % 10, 10).to(torch.float64)
    t, M0 = x[:20], torch.eye(784, dtype=torch.float64) / 784
    path = gd_path(lambda M: training_loss(x, y, t, M, 1e-4), M0, 10, lr=0.02 / math.sqrt(784), every=10)
    assert training_loss(x, y, t, path[-1], 1e-4) < training_loss(x, y, t, M0, 1e-4)
