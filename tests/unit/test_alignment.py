"""The alignment metric, the per-sample signals, the power-law fit and the other measurements of
`companion.science.alignment`."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.ml.models import mlp
from companion.science.alignment import (
    RELATIONS,
    agop,
    alignment,
    alignments,
    fit_power_law,
    input_mass,
    layer_signals,
    measure,
    normalized_covariance,
    power_laws,
    six_matrices,
)


def random_psd(d, seed):
    A = torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return A @ A.T / d


def test_alignment_of_a_matrix_with_itself_and_its_positive_multiples_is_one():
    A = random_psd(20, 0)
    assert alignment(A, A) == pytest.approx(1.0)
    assert alignment(A, 3.0 * A + 2.0) == pytest.approx(1.0)
    assert alignment(A, -A) == pytest.approx(-1.0)


def test_alignment_of_independent_random_matrices_is_near_zero():
    rng = np.random.default_rng(0)
    values = [alignment(rng.standard_normal((50, 50)), rng.standard_normal((50, 50))) for _ in range(20)]
    assert abs(np.mean(values)) < 0.01
    assert max(abs(v) for v in values) < 0.1


def test_alignment_rejects_mismatched_shapes_and_constant_matrices():
    with pytest.raises(ValueError, match="same shape"):
        alignment(torch.ones(3, 3), torch.ones(4, 4))
    with pytest.raises(ValueError, match="same shape"):
        alignment(torch.ones(2, 8), torch.ones(4, 4))  # same number of entries is not enough
    with pytest.raises(ValueError, match="constant"):
        alignment(torch.ones(3, 3), random_psd(3, 0))


def test_normalized_covariance_ignores_each_samples_scale_and_is_centred():
    v = torch.randn(200, 5, generator=torch.Generator().manual_seed(0))
    scaled = v * torch.rand(200, 1, generator=torch.Generator().manual_seed(1)) * 100
    assert torch.allclose(normalized_covariance(v), normalized_covariance(scaled), atol=1e-12)
    u = v / v.norm(dim=1, keepdim=True)
    expected = torch.cov(u.T.double(), correction=0)
    assert torch.allclose(normalized_covariance(v), expected, atol=1e-12)


def test_layer_signals_are_each_samples_own_gradients():
    torch.manual_seed(0)
    model = mlp((6, 5, 4, 3), bias=True)
    x, y = torch.randn(7, 6), torch.randint(0, 3, (7,))
    sig = layer_signals(model, model[2], x, y, chunk=3)
    for i in range(len(x)):
        h_a = torch.relu(model[0](x[i:i + 1])).detach().requires_grad_(True)
        h_b = model[2](h_a)
        h_b.retain_grad()
        F.cross_entropy(model[4](torch.relu(h_b)), y[i:i + 1]).backward()
        assert torch.allclose(sig["g_a"][i], -h_a.grad[0], atol=1e-6)
        assert torch.allclose(sig["g_b"][i], -h_b.grad[0], atol=1e-6)
        assert torch.allclose(sig["h_b"][i], h_b[0].detach(), atol=1e-6)
    # the kinematic identity g_a = W^T g_b holds sample by sample
    assert torch.allclose(sig["g_a"], sig["g_b"] @ model[2].weight.detach(), atol=1e-6)


def test_layer_signals_requires_a_linear_layer():
    model = mlp((4, 3, 2))
    with pytest.raises(TypeError, match="nn.Linear"):
        layer_signals(model, model[1], torch.randn(2, 4), torch.zeros(2, dtype=torch.long))


def test_layer_signals_refuses_batch_norm_in_training_mode():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    x, y = torch.randn(5, 4), torch.zeros(5, dtype=torch.long)
    with pytest.raises(ValueError, match="eval mode"):
        layer_signals(model, model[2], x, y)
    assert layer_signals(model.eval(), model[2], x, y)["g_b"].shape == (5, 2)


def test_permutation_null_removes_neuron_correspondence_but_keeps_the_diagonal():
    A = torch.randn(40, 40, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    A = (A + A.T).fill_diagonal_(0.0)  # no diagonal: only which neuron pairs with which carries signal
    mats = {f"{m}_{s}": A for m in "HGZ" for s in "ab"}
    assert all(v == pytest.approx(1.0) for v in alignments(mats).values())
    null = alignments(mats, permute=torch.Generator().manual_seed(0))
    assert set(null) == set(RELATIONS) and max(abs(v) for v in null.values()) < 0.1
    # a diagonally dominant (Wishart) matrix keeps a positive null level: why the chapter shows the null
    wishart = {f"{m}_{s}": random_psd(30, 0) for m in "HGZ" for s in "ab"}
    assert min(alignments(wishart, permute=torch.Generator().manual_seed(0)).values()) > 0.3


def test_fit_power_law_recovers_a_known_exponent_with_perfect_fit():
    Z = random_psd(30, 1)
    lam, U = torch.linalg.eigh(Z)
    for p in (0.5, 1.0, 2.0, 3.0):
        A = U @ torch.diag(lam.clamp_min(1e-12) ** p) @ U.T
        fit = fit_power_law(A, Z, top=10)
        assert fit["p"] == pytest.approx(p, abs=1e-6)
        assert fit["r"] == pytest.approx(1.0, abs=1e-9)
        assert fit["n"] == 10 and len(fit["log_lambda"]) == 10


def test_power_laws_shift_by_exactly_one_for_raw_moments():
    torch.manual_seed(0)
    W = torch.randn(12, 10, dtype=torch.float64)
    h_a = torch.randn(500, 10, dtype=torch.float64) * torch.linspace(0.2, 2, 10, dtype=torch.float64)
    g_b = torch.randn(500, 12, dtype=torch.float64)
    raw = {"H_a": h_a.T @ h_a, "H_b": W @ h_a.T @ h_a @ W.T, "G_b": g_b.T @ g_b, "G_a": W.T @ g_b.T @ g_b @ W,
           "Z_a": W.T @ W, "Z_b": W @ W.T}
    fits = power_laws(raw, top=8)
    assert fits["H_b"]["p"] - fits["H_a"]["p"] == pytest.approx(1.0, abs=1e-9)
    assert fits["G_a"]["p"] - fits["G_b"]["p"] == pytest.approx(1.0, abs=1e-9)


def test_fit_power_law_needs_three_usable_directions():
    with pytest.raises(ValueError, match="three directions"):
        fit_power_law(-torch.eye(4, dtype=torch.float64), torch.eye(4, dtype=torch.float64))


def test_six_matrices_and_measure_restore_the_training_mode():
    torch.manual_seed(0)
    model = mlp((6, 8, 8, 3), bias=True)
    x, y = torch.randn(40, 6), torch.randint(0, 3, (40,))
    model.train()
    mats = measure(model, model[2], x, y)
    assert model.training
    assert set(mats) == {"H_a", "H_b", "G_a", "G_b", "Z_a", "Z_b"}
    assert torch.allclose(mats["Z_b"], model[2].weight.double() @ model[2].weight.double().T)
    direct = six_matrices(layer_signals(model, model[2], x, y), model[2].weight)
    assert all(torch.allclose(mats[k], direct[k]) for k in mats)


def test_agop_of_a_linear_readout_is_its_gram_matrix():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4, bias=False), nn.Linear(4, 3, bias=False))
    x = torch.randn(10, 5)
    V = model[1].weight.detach().double()
    assert torch.allclose(agop(model, model[1], x, outputs=3), V.T @ V, atol=1e-6)


def test_input_mass_is_the_share_of_squared_weights_on_the_chosen_inputs():
    W = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert input_mass(W, slice(2, 3)) == pytest.approx(1 / 3)
    assert input_mass(W, slice(0, 3)) == pytest.approx(1.0)
