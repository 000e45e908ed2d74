"""The system-identification pieces (`companion.sysid`): named layers, stimulus sets, recordings and the
identification, checked where the answer is known (a brain among its own candidates)."""

import numpy as np
import pytest
import torch

from companion.similarity import linear_cka, ridge_encoding, sparse_projection
from companion.sysid import DigitNet, activations, best_match, identify, record, ridge_scores, stimulus_sets


def test_digit_nets_record_their_named_layers():
    torch.manual_seed(0)
    x = torch.rand(5, 64)
    sizes = {"cnn3": [1024, 2048, 64], "cnn5": [1024, 2048, 64], "mlp": [256, 128, 64]}
    for kind, expected in sizes.items():
        net = DigitNet(kind)
        recorded = net.recorded(x)
        assert list(recorded) == list(net.layers) and [v.shape[1] for v in recorded.values()] == expected
        assert net(x).shape == (5, 10) and all((v >= 0).all() for v in recorded.values())
    with pytest.raises(ValueError, match="unknown network kind"):
        DigitNet("vit")


def test_stimulus_sets_are_images_in_the_unit_range_and_smoothing_correlates_neighbours():
    digits = np.random.default_rng(0).random((50, 64))
    sets = stimulus_sets(digits, 40, seed=1)
    assert list(sets) == ["digits", "white noise", "smoothed noise"]
    for values in sets.values():
        assert values.shape == (40, 64) and values.min() >= 0 and values.max() <= 1

    def neighbour_correlation(images):
        grid = images.reshape(-1, 8, 8)
        return np.corrcoef(grid[:, :, :-1].ravel(), grid[:, :, 1:].ravel())[0, 1]

    assert neighbour_correlation(sets["smoothed noise"]) > 0.5 > abs(neighbour_correlation(sets["white noise"]))


def test_recordings_are_units_of_the_layer_and_a_fully_recorded_brain_is_identified_layer_by_layer():
    torch.manual_seed(0)
    brain, other = DigitNet("cnn3"), DigitNet("mlp")
    stimuli = stimulus_sets(np.zeros((1, 64)), 120, seed=0)["white noise"]
    sampled = record(brain, stimuli, units=30, seed=0)
    assert [v.shape for v in sampled.values()] == [(120, 30), (120, 30), (120, 30)]
    full = activations(brain, stimuli)
    assert all(any(np.array_equal(c, f) for f in full[k].T) for k, v in sampled.items() for c in v.T[:3])
    recording = record(brain, stimuli, units=10_000, seed=0)  # every unit: the answer is certain
    candidates = {"brain": activations(brain, stimuli), "other": activations(other, stimuli)}
    scores = identify(recording, candidates, linear_cka)
    for layer in brain.layers:
        assert best_match(scores[layer]) == ("brain", layer)


def test_ridge_scores_fit_all_recorded_layers_at_once_with_the_same_result_as_layer_by_layer():
    torch.manual_seed(0)
    brain, other = DigitNet("cnn3"), DigitNet("cnn5")
    stimuli = stimulus_sets(np.zeros((1, 64)), 80, seed=2)["smoothed noise"]
    recording = record(brain, stimuli, units=12, seed=0)
    candidates = {"other": activations(other, stimuli)}
    batched = ridge_scores(recording, candidates, dim=60, seed=0)

    def one_layer(features, responses):
        return ridge_encoding(sparse_projection(features, 60, 0), responses, seed=0)[0]

    separate = identify(recording, candidates, one_layer)
    for target, models in separate.items():
        for layer, value in models["other"].items():
            assert batched[target]["other"][layer] == pytest.approx(value, abs=1e-12)
