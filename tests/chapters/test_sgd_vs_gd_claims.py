"""Each claim of the SGD-vs-GD chapter, checked with the chapter's own thresholds where it should hold
and where it must fail. The measurement code is the library's, as in the chapter."""

from pathlib import Path

import numpy as np
import pytest
import torch

from companion.core.claims import check, declared
from companion.ml.data import load_mnist1d
from companion.ml.models import mlp
from companion.ml.training import hidden_ranks, train_classifier
from companion.science.null_space import linear_problem, ratio_error, relative_change, train_linear

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "sgd-vs-gd.md"
D, N, K, LR, WD = 100, 20, 50, 0.1, 0.05


@pytest.fixture(scope="module")
def claims():
    return {c.id: c for c in declared(CHAPTER, rank_x=N)}


@pytest.fixture(scope="module")
def problem():
    torch.set_num_threads(1)
    return linear_problem(D, N, K, seed=0)


def fit(problem, batch_size, epochs=200, **changes):
    X, Y, W0 = problem
    options = dict(lr=LR, weight_decay=WD, batch_size=batch_size, epochs=epochs, seed=0) | changes
    return train_linear(X, Y, W0, **options)


def test_null_space_rate_holds_for_plain_sgd(claims, problem):
    value = max(ratio_error(fit(problem, b), fit(problem, N), lr=LR, weight_decay=WD) for b in (1, 5))
    assert check(claims["null-space-rate"], value).passed


def test_null_space_rate_fails_with_input_noise_augmentation(claims, problem):
    noisy = fit(problem, 1, input_noise=0.1)
    value = ratio_error(noisy, fit(problem, N), lr=LR, weight_decay=WD)
    assert not check(claims["null-space-rate"], value).passed


def test_sgd_rank_at_most_rank_x_holds_with_weight_decay_and_fails_without(claims, problem):
    claim = claims["sgd-rank-at-most-rank-x"]
    assert check(claim, fit(problem, 1)["rank_0.001"][-1]).passed
    assert not check(claim, fit(problem, 1, weight_decay=0.0)["rank_0.001"][-1]).passed


def test_gd_keeps_rank_holds_after_200_epochs_and_fails_once_gd_has_converged(claims, problem):
    def kept(h):
        return h["rank_0.001"][-1] / h["rank_0.001"][0]

    assert check(claims["gd-keeps-rank"], kept(fit(problem, N))).passed
    assert not check(claims["gd-keeps-rank"], kept(fit(problem, N, epochs=3000, rank_every=3000))).passed


def test_no_decay_without_wd_holds_at_zero_and_fails_with_weight_decay(claims, problem):
    assert check(claims["no-decay-without-wd"], relative_change(fit(problem, 1, weight_decay=0.0)["w_perp"])).passed
    assert not check(claims["no-decay-without-wd"], relative_change(fit(problem, 1)["w_perp"])).passed


def test_sgd_noise_holds_with_weight_decay_and_fails_without_it(claims, problem):
    updates = 3000  # GD: one update per epoch; SGD (B=1): N per epoch
    for wd, should_pass in [(WD, True), (0.0, False)]:  # without it both interpolate and come to rest
        gd_final = fit(problem, N, epochs=updates, rank_every=updates, weight_decay=wd)["step"][-1]
        sgd_at_t = fit(problem, 1, weight_decay=wd)["mean_step"][updates // N - 1]
        assert check(claims["sgd-noise"], sgd_at_t / gd_final).passed is should_pass


@pytest.fixture(scope="module")
def mnist1d():
    data = load_mnist1d()
    return torch.as_tensor(data["x_train"][:500]), torch.as_tensor(data["y_train"][:500])


def mean_hidden_rank(data, batch_size, epochs, weight_decay):
    torch.manual_seed(0)
    h = train_classifier(mlp((40, 128, 128, 128, 10)), *data, lr=0.1, weight_decay=weight_decay,
                         batch_size=batch_size, epochs=epochs, log_every=epochs)
    return hidden_ranks(h)


def test_deep_rank_per_epoch_holds_with_weight_decay_and_fails_without(claims, mnist1d):
    for wd, should_pass in [(0.015, True), (0.0, False)]:
        ratio = np.mean(mean_hidden_rank(mnist1d, 8, 60, wd)) / np.mean(mean_hidden_rank(mnist1d, 500, 60, wd))
        assert check(claims["deep-rank-per-epoch"], ratio).passed is should_pass


def test_deep_no_wd_full_rank_holds_at_zero_and_fails_with_strong_weight_decay(claims, mnist1d):
    for wd, should_pass in [(0.0, True), (0.02, False)]:
        value = min(mean_hidden_rank(mnist1d, 8, 60, wd)) / 128
        assert check(claims["deep-no-wd-full-rank"], value).passed is should_pass
