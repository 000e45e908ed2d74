"""Each norm, complexity and bound of `companion.science.bounds`, on small cases computed by hand."""

import math

import pytest
import torch

from companion.ml.metrics import numerical_rank, within_class_variability
from companion.science.bounds import (
    bartlett2017,
    filter_norm_bound,
    frobenius_norm,
    golowich2018,
    layer_norms,
    leading_ratio,
    low_rank_complexity,
    low_rank_complexity_bound,
    margins,
    neyshabur2015,
    neyshabur2018,
    norm_21_transpose,
    rank_additive,
    rank_factor_ratio,
    rank_multiplicative,
    spectral_norm,
    toeplitz_norm_bound,
)

A = torch.tensor([[3.0, 0.0], [0.0, 4.0]])  # ||A||_2 = 4, ||A||_F = 5, ||A^T||_{2,1} = 3 + 4 = 7
I3 = torch.eye(3)  # ||I||_2 = 1, ||I||_F = sqrt 3, ||I^T||_{2,1} = 3


def test_norms_of_a_diagonal_matrix():
    assert spectral_norm(A) == pytest.approx(4.0)
    assert frobenius_norm(A) == pytest.approx(5.0)
    assert norm_21_transpose(torch.tensor([[3.0, 4.0], [0.0, 1.0]])) == pytest.approx(5.0 + 1.0)


def test_norms_reject_non_matrices():
    with pytest.raises(ValueError, match="2-D"):
        spectral_norm(torch.ones(3))


def test_layer_norms_come_from_one_svd():
    n = layer_norms(torch.tensor([[3.0, 4.0], [0.0, 1.0]]))
    assert (n.out_width, n.in_width) == (2, 2)
    assert n.frobenius == pytest.approx(math.sqrt(26))
    assert n.norm21 == pytest.approx(6.0)
    assert n.spectral == pytest.approx(float(n.singular[0])) and n.singular[0] >= n.singular[1]
    assert n.spectral == pytest.approx(spectral_norm(torch.tensor([[3.0, 4.0], [0.0, 1.0]])))


NA, NI = layer_norms(A), layer_norms(I3)


def test_neyshabur2015_and_golowich2018_on_two_layers():
    assert neyshabur2015([NA, NA], B=2.0, m=4) == pytest.approx(2.0 * 4 * 25 / 2)
    depth = math.sqrt(2 * math.log(2) * 2) + 1
    assert golowich2018([NA, NA], B=2.0, m=4) == pytest.approx(2.0 * depth * 25 / 2)


def test_bartlett2017_main_term():
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])  # ||X||_F = 2, m = 4
    ratio = 2 * (7 / 4) ** (2 / 3)
    assert bartlett2017([NA, NA], frobenius_norm(X), len(X)) == pytest.approx(2.0 * 16 * ratio**1.5 / 4)


def test_neyshabur2018_pac_bayes_term():
    # two 3x3 identities: spectral product 1, stable ranks 3 + 3, h = 3, L = 2
    expected = 1.0 * math.sqrt(4 * 3 * math.log(6) * 6) / math.sqrt(9)
    assert neyshabur2018([NI, NI], B=1.0, m=9) == pytest.approx(expected)


def test_rank_terms_multiply_versus_add():
    # ranks (2, 2), spectral norms 4 and 4, output widths 2 and 2
    assert rank_multiplicative([NA, NA], [2, 2], B=1.0, m=1) == pytest.approx((math.sqrt(2) * 4) ** 2)
    assert rank_additive([NA, NA], [2, 2], B=1.0, m=1) == pytest.approx(16 * (2 + 2))
    assert rank_factor_ratio([2, 2], [2, 2]) == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="one output width per rank"):
        rank_factor_ratio([2, 2], [2])


def test_rank_multiplicative_is_golowich_without_its_depth_factor_when_frobenius_is_sqrt_rank_spectral():
    weights = [NI, NI, NI]  # ||I||_F = sqrt(3) ||I||_2 exactly
    depth = math.sqrt(2 * math.log(2) * 3) + 1
    expected = golowich2018(weights, B=1.5, m=7) / depth
    assert rank_multiplicative(weights, [3, 3, 3], B=1.5, m=7) == pytest.approx(expected)


def test_low_rank_complexity_of_one_sample_is_the_gaussian_norm_times_the_input_norm():
    # n = 1: Gamma X is (d_out, d_in) of rank one with singular value ||gamma|| ||x||, so every r gives the same
    x = torch.tensor([[3.0, 4.0]])
    est = low_rank_complexity(x, d_out=50, ranks=[1, 2], draws=400, seed=0)
    expected = 5.0 * math.sqrt(2) * math.gamma(25.5) / math.gamma(25)  # E||gamma|| for 50 dimensions
    assert est[1] == pytest.approx(expected, rel=0.02) and est[2] == pytest.approx(est[1])


def test_low_rank_complexity_grows_with_rank_and_stays_below_its_bound():
    X = torch.randn(30, 12, generator=torch.Generator().manual_seed(0))
    est = low_rank_complexity(X, d_out=8, ranks=[1, 2, 4, 8], M=2.0, draws=50)
    values = [est[r] for r in (1, 2, 4, 8)]
    assert values == sorted(values)
    assert all(est[r] <= low_rank_complexity_bound(X, 8, r, M=2.0) for r in est)
    with pytest.raises(ValueError, match="ranks"):
        low_rank_complexity(X, d_out=8, ranks=[9])


def test_margins_are_true_logit_minus_best_other():
    logits = torch.tensor([[2.0, 1.0, 0.5], [0.0, 3.0, 1.0]])
    assert margins(logits, torch.tensor([0, 0])).tolist() == [1.0, -3.0]


def test_spectral_rank_counts_singular_values_above_a_fraction_of_the_largest():
    W = torch.diag(torch.tensor([1.0, 0.5, 0.005, 0.0]))
    assert numerical_rank(W, 1e-2, relative_to="spectral") == 2
    assert numerical_rank(W, 1e-3, relative_to="spectral") == 3
    with pytest.raises(ValueError, match="relative_to"):
        numerical_rank(W, 1e-2, relative_to="nuclear")


def test_within_class_variability_is_zero_for_collapsed_features_and_positive_otherwise():
    means = torch.eye(3) * 5
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    collapsed = means[labels]
    assert within_class_variability(collapsed, labels) == pytest.approx(0.0, abs=1e-12)
    noisy = collapsed + torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    assert within_class_variability(noisy, labels) > 0.01


def test_filter_norm_bound_on_a_hand_computed_case():
    # two layers, norms 2 and 3 (rho = 6), one 2x2 convolution (d = 4), n = 100, 10 classes
    rho, n = 6.0, 100
    log_term = 2 * math.log(8) + math.log(10)
    main = (rho + 1) / n * 2**1.5 * (1 + math.sqrt(2 * log_term)) * math.sqrt(25.0) * 2
    extra = 3 * math.sqrt(math.log(2 * 8**2 / 1e-3) / (2 * n))
    assert filter_norm_bound([2.0, 3.0], [4], n=100, classes=10, max_pixel_energy=25.0) == pytest.approx(main + extra)


def test_toeplitz_norm_bound_on_a_hand_computed_case():
    # the same network with 49 output positions: rho = 6 * 7 = 42
    rho, n = 42.0, 100
    log_term = 2 * math.log(2) + math.log(10)
    main = (rho + 1) / n * 2**1.5 * (1 + math.sqrt(2 * log_term)) * math.sqrt(400.0)
    extra = 3 * math.sqrt(math.log(2 * 44**2 / 1e-3) / (2 * n))
    assert toeplitz_norm_bound([2.0, 3.0], [49], n=100, classes=10, total_energy=400.0) == pytest.approx(main + extra)


def test_leading_ratio_matches_the_bounds_when_rho_is_large():
    norms, positions, areas = [30.0, 40.0, 50.0], [49, 36], [4, 4]
    big = toeplitz_norm_bound(norms, positions, 10**6, 10, 900.0) / filter_norm_bound(norms, areas, 10**6, 10, 25.0)
    assert big == pytest.approx(leading_ratio(positions, areas, 3, 10, 900.0, 25.0), rel=1e-3)
