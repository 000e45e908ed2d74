"""Ridge encoding and linear CKA (`companion.science.similarity`) on synthetic data whose answer is known."""

import numpy as np
import pytest

from companion.science.similarity import linear_cka, ridge_encoding, sample_units, sparse_projection


def test_linear_cka_is_one_for_the_same_representation_up_to_rotation_and_scale():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8))
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 3.0 * x @ q + 5.0) == pytest.approx(1.0)
    assert linear_cka(x, rng.normal(size=(300, 8))) < 0.1
    # a representation that keeps half of the signal lies in between
    assert 0.2 < linear_cka(x, x[:, :4]) < 0.9


def test_sparse_projection_keeps_distances_roughly_and_leaves_narrow_features_alone():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4000))
    projected = sparse_projection(x, 1000, seed=1)
    assert projected.shape == (20, 1000)
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)[np.triu_indices(20, 1)]
    dp = np.linalg.norm(projected[:, None] - projected[None], axis=-1)[np.triu_indices(20, 1)]
    assert np.abs(dp / d - 1).max() < 0.2
    assert sparse_projection(x[:, :50], 1000).shape == (20, 50)


def test_sample_units_draws_distinct_sorted_indices():
    units = sample_units(100, 60, seed=3)
    assert len(set(units.tolist())) == 60 and np.all(np.diff(units) > 0)
    assert sample_units(10, 60).tolist() == list(range(10))


def test_ridge_encoding_scores_a_linear_readout_high_noise_low_and_itself_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 30))
    y = x @ rng.normal(size=(30, 12)) + 0.3 * rng.normal(size=(400, 12))
    score, per_unit = ridge_encoding(x, y, seed=0)
    assert per_unit.shape == (12,) and score > 0.9
    assert ridge_encoding(x, x, seed=0)[0] > 0.99
    unrelated = ridge_encoding(x, rng.normal(size=(400, 12)), seed=0)[0]
    assert abs(unrelated) < 0.15
    with pytest.raises(ValueError, match="same stimuli"):
        ridge_encoding(x, y[:100])


def test_ridge_encoding_chooses_strong_regularisation_when_features_outnumber_stimuli():
    """With many more features than stimuli and a weak signal, a well-chosen lambda still predicts."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 600))
    y = x[:, :5] @ rng.normal(size=(5, 4)) + rng.normal(size=(120, 4))
    assert ridge_encoding(x, y, seed=0)[0] > 0.2


def test_ridge_predictions_in_kernel_form_match_the_svd_form():
    """With more features than stimuli the ridge uses the Gram matrix; both forms give one answer."""
    from companion.science.similarity import _ridge_predictions

    rng = np.random.default_rng(2)
    x, y, x_new = rng.normal(size=(40, 90)), rng.normal(size=(40, 3)), rng.normal(size=(7, 90))
    kernel = _ridge_predictions(x, y, x_new, (0.01, 1.0, 100.0))
    for k, lam in enumerate((0.01, 1.0, 100.0)):  # the authors' scaling: (x^T x / n + lambda) w = x^T y / n
        weights = np.linalg.solve(x.T @ x / 40 + lam * np.eye(90), x.T @ y / 40)
        assert np.allclose(kernel[k], x_new @ weights, atol=1e-8)


def test_ridge_encoding_gives_uninformative_features_a_small_negative_score():
    """Each fold predicts its own training mean, and pooled over folds those means anticorrelate with
    the held-out responses: a known, shared offset of the authors' protocol, about -sqrt(folds / n)."""
    rng = np.random.default_rng(3)
    responses = rng.normal(size=(300, 50))
    score, _ = ridge_encoding(np.zeros((300, 3)), responses, seed=0)
    assert -0.25 < score < -0.03
