"""Each claim of the low-rank bounds chapter, checked with the chapter's own thresholds where it should hold
and where it must fail. The measurements are the library's, on the chapter's quick settings."""

from pathlib import Path

import pytest
import torch

from companion.core.claims import check
from companion.ml.metrics import numerical_rank
from companion.ml.models import mlp, weight_matrices
from companion.ml.training import evaluate, train_classifier
from companion.science.bounds import low_rank_complexity, low_rank_complexity_bound, rank_factor_ratio

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "low-rank-bounds.md"
WIDTH, D_OUT = 128, 128


def train(digits, weight_decay, hidden=4, epochs=150):
    x, y = digits[:2]
    torch.manual_seed(0)
    model = mlp((64, *[WIDTH] * hidden, 10))
    train_classifier(model, x, y, lr=0.05, weight_decay=weight_decay, batch_size=32, epochs=epochs,
                     momentum=0.9, log_every=epochs)
    return model


def ranks_after_training(digits, weight_decay, hidden=4, epochs=150):
    model = train(digits, weight_decay, hidden, epochs)
    return [numerical_rank(W, 1e-2, relative_to="spectral") for W in weight_matrices(model)]


@pytest.fixture(scope="module")
def trained_ranks(digits):
    return {wd: ranks_after_training(digits, wd) for wd in (0.0, 5e-3)}


@pytest.fixture(scope="module")
def complexity(digits):
    X = digits[0][:200]
    return X, low_rank_complexity(X, D_OUT, list(range(1, 65)), draws=100)


def test_one_layer_bound_holds_at_every_rank_and_fails_when_full_rank_meets_the_rank_one_bound(claims, complexity):
    X, G = complexity
    claim = claims["one-layer-bound"]
    assert check(claim, max(G[r] / low_rank_complexity_bound(X, D_OUT, r) for r in G)).passed
    assert not check(claim, G[64] / low_rank_complexity_bound(X, D_OUT, 1)).passed


def test_low_rank_cheaper_holds_on_digits_and_fails_on_data_of_rank_eight(claims, complexity):
    X, G = complexity
    assert check(claims["low-rank-cheaper"], G[8] / G[64]).passed
    U = torch.linalg.svd(X, full_matrices=False).Vh[:8]
    low = low_rank_complexity(X @ U.T @ U, D_OUT, [8, 64], draws=100)
    assert not check(claims["low-rank-cheaper"], low[8] / low[64]).passed


def test_top_layers_collapse_holds_with_weight_decay_and_fails_without(claims, trained_ranks):
    assert check(claims["top-layers-collapse"], max(trained_ranks[5e-3][-3:-1])).passed
    assert not check(claims["top-layers-collapse"], max(trained_ranks[0.0][-3:-1])).passed


def test_collapse_keeps_accuracy_holds_at_5e_3_and_fails_when_weight_decay_wipes_out_the_network(claims, digits):
    _, _, x_test, y_test = digits
    for wd, should_pass in [(5e-3, True), (0.5, False)]:
        accuracy = evaluate(train(digits, wd, epochs=30 if wd > 0.1 else 150), x_test, y_test)[1]
        assert check(claims["collapse-keeps-accuracy"], accuracy).passed is should_pass


def test_no_wd_full_rank_holds_without_weight_decay_and_fails_with_it(claims, trained_ranks):
    for wd, should_pass in [(0.0, True), (5e-3, False)]:
        value = min(trained_ranks[wd][1:-1]) / WIDTH
        assert check(claims["no-wd-full-rank"], value).passed is should_pass


def test_additive_gain_holds_for_four_hidden_layers_and_fails_for_one(claims, digits, trained_ranks):
    deep = rank_factor_ratio(trained_ranks[0.0], [WIDTH] * 4 + [10])
    shallow = rank_factor_ratio(ranks_after_training(digits, 0.0, hidden=1, epochs=100), [WIDTH, 10])
    assert check(claims["additive-gain"], deep).passed
    assert not check(claims["additive-gain"], shallow).passed


def test_gain_grows_with_depth_for_high_rank_layers_and_fails_for_rank_one_layers(claims):
    def growth(rank):
        depths = (1, 2, 3, 4, 6)
        gains = [rank_factor_ratio([rank] * (h + 1), [WIDTH] * h + [10]) for h in depths]
        steps = zip(depths[:-1], depths[1:], gains[:-1], gains[1:], strict=True)
        return min((b / a) ** (1 / (h2 - h1)) for h1, h2, a, b in steps)

    assert check(claims["gain-grows-with-depth"], growth(10)).passed
    assert not check(claims["gain-grows-with-depth"], growth(1)).passed
