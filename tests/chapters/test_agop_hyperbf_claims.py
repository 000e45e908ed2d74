"""Each claim of the AGOP chapter, checked with the chapter's own thresholds where it should hold and where it
must fail, on the chapter's quick data (10-dimensional Gaussian inputs, 100 centres, lambda 1e-4)."""

import math
from pathlib import Path

import pytest
import torch

from companion.core.claims import check
from companion.science import hyperbf as hb
from companion.science.alignment import alignment

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "agop-hyperbf.md"
D, LAM, TRACES = 10, 1e-4, [0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0]
M0 = torch.eye(D, dtype=torch.float64) / D


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x, x_val, x_test = torch.randn(5300, D, generator=g, dtype=torch.float64).split([800, 500, 4000])
    return x, x_val, x_test, x[torch.randperm(800, generator=g)[:100]]


def ridge(x):
    return torch.sin(math.sqrt(2) * (x[:, 0] + x[:, 1]))


def product(x):
    return x[:, 0] * x[:, 1]


def mixed(x):
    return torch.tanh(x[:, 0]) + x[:, 1] ** 2 - 1


def spread(x):  # depends on all ten directions equally
    return (x**2).sum(1) / math.sqrt(2 * D) - math.sqrt(D / 2)


def errors(data, f):
    """Test MSE of RBF, AGOP and GD as the chapter computes them, and the learned metrics."""
    x, x_val, x_test, t = data
    y, train, val = f(x), (x, f(x)), (x_val, f(x_val))

    def test_error(M):
        return hb.mse(x_test, f(x_test), t, M, hb.fit(x, y, t, M, LAM))

    def agop_at(M):
        return hb.agop(x, t, M, hb.fit(x, y, t, M, LAM))

    rbf = hb.with_trace(M0, hb.best_trace(M0, train, val, t, LAM, TRACES)[0])
    paths = {tr: hb.agop_path(agop_at, hb.with_trace(M0, tr), 5)[-1] for tr in TRACES}
    M_agop = min(paths.values(), key=lambda M: hb.mse(*val, t, M, hb.fit(*train, t, M, LAM)))
    gd = hb.gd_path(lambda M: hb.training_loss(x, y, t, M, LAM), M0, 300, lr=0.02, every=300)[-1]
    M_gd = hb.with_trace(gd, hb.best_trace(gd, train, val, t, LAM, TRACES)[0])
    return {"RBF": test_error(rbf), "AGOP": test_error(M_agop), "GD": test_error(M_gd), "M_AGOP": M_agop,
            "M_GD": M_gd}


@pytest.fixture(scope="module")
def learned(data):
    return {f.__name__: errors(data, f) for f in (ridge, product, mixed, spread)}


def test_gradient_closed_form_holds_at_the_optimum_and_fails_for_other_coefficients(claims, data):
    x, _, _, t = data
    y = product(x)
    auto = hb.loss_gradient(x, y, t, M0, LAM)
    assert check(claims["gradient-closed-form"], float((hb.closed_form_gradient(x, y, t, M0, LAM) - auto).norm()
                                                       / auto.norm())).passed
    c = hb.fit(x, y, t, M0, 1.0)  # not the optimum for LAM
    w = (y[:, None] - hb.features(x, t, M0) @ c) @ c.T * hb.features(x, t, M0)
    d = x[:, None, :] - t[None, :, :]
    wrong = 2 * torch.einsum("ia,iad,iae->de", w, d, d) / len(x)
    assert not check(claims["gradient-closed-form"], float((wrong - auto).norm() / auto.norm())).passed


@pytest.mark.parametrize("method", ["AGOP", "GD"])
def test_beats_rbf_holds_for_a_ridge_target_and_fails_when_every_direction_matters(claims, learned, method):
    claim = claims[f"{method.lower()}-beats-rbf"]
    assert check(claim, learned["ridge"][method] / learned["ridge"]["RBF"]).passed
    assert not check(claim, learned["spread"][method] / learned["spread"]["RBF"]).passed


def test_subspace_recovered_holds_for_the_product_and_fails_for_the_isotropic_metric(claims, learned):
    U = torch.eye(D, dtype=torch.float64)[:, :2]
    learned_overlap = min(hb.subspace_overlap(learned["product"][k], U) for k in ("M_AGOP", "M_GD"))
    assert check(claims["subspace-recovered"], learned_overlap).passed
    assert not check(claims["subspace-recovered"], hb.subspace_overlap(M0, U)).passed  # no direction learned


def test_metrics_similar_holds_for_the_product_and_fails_for_the_mixed_target(claims, learned):
    assert check(claims["metrics-similar"], alignment(learned["product"]["M_AGOP"], learned["product"]["M_GD"])).passed
    assert not check(claims["metrics-similar"], alignment(learned["mixed"]["M_AGOP"], learned["mixed"]["M_GD"])).passed


def agreement(data, f, kernel_ridge, beta=1.0):
    """Correlation of the AGOP step with the negative gradient at M0, and its change after one AGOP step."""
    x, _, _, t = data
    y = f(x)
    if kernel_ridge:
        def agop_at(M):
            return hb.kernel_ridge_agop(x, y, M, LAM)

        def grad(M):
            return hb.kernel_ridge_gradient(x, y, M, LAM)
    else:
        def agop_at(M):
            return hb.agop(x, t, M, hb.fit(x, y, t, M, LAM))

        def grad(M):
            return hb.loss_gradient(x, y, t, M, LAM)

    def step(M):
        return alignment(hb.with_trace(agop_at(M), float(torch.trace(M))) - M, -grad(M))

    start = step(M0)
    return start, step(hb.agop_path(agop_at, M0, 1, beta=beta)[1]) - start


def test_greedy_first_step_holds_in_kernel_ridge_and_fails_for_the_product_with_fixed_centres(claims, data):
    assert check(claims["greedy-first-step"], agreement(data, product, kernel_ridge=True)[0]).passed
    assert not check(claims["greedy-first-step"], agreement(data, product, kernel_ridge=False)[0]).passed


def test_greedy_after_jump_holds_for_a_full_step_and_fails_for_a_tiny_damped_one(claims, data):
    assert check(claims["greedy-after-jump"], agreement(data, product, kernel_ridge=True)[1]).passed
    tiny = agreement(data, product, kernel_ridge=True, beta=0.01)[1]
    assert not check(claims["greedy-after-jump"], tiny).passed
