"""The system-identification pieces (`companion.science.sysid`): named layers, stimulus sets, recordings, the scores
of a zoo and the identification cases, checked where the answer is known."""

import numpy as np
import pytest
import torch

from companion.science.similarity import linear_cka, ridge_encoding, sparse_projection
from companion.science.sysid import (
    ZooNet,
    accuracy,
    activations,
    among,
    best_match,
    cases,
    choose_units,
    cka_scores,
    disagreement,
    identify,
    pixels,
    record,
    ridge_scores,
    score_zoo,
    stimulus_sets,
    train_zoo,
    wider_share,
    wilson,
)


def test_zoo_nets_record_their_named_layers_for_digits_and_colour_images():
    torch.manual_seed(0)
    sizes = {"cnn3": [1024, 2048, 64], "cnn5": [1024, 2048, 64], "mlp": [256, 128, 64], "vit": [512, 512, 64]}
    for kind, expected in sizes.items():
        net = ZooNet(kind)
        recorded = net.recorded(torch.rand(5, 64))
        assert list(recorded) == list(net.layers) and [v.shape[1] for v in recorded.values()] == expected
        assert list(net.widths().values()) == expected and net(torch.rand(5, 64)).shape == (5, 10)
        colour = ZooNet(kind, channels=3, size=32, width=4)
        assert colour(torch.rand(2, 3 * 32 * 32)).shape == (2, 10)
    assert ZooNet("cnn3", 3, 32, 4).widths() == {"conv1": 4 * 32 * 32, "conv2": 8 * 8 * 8, "fc": 64}
    with pytest.raises(ValueError, match="unknown network kind"):
        ZooNet("resnet")
    with pytest.raises(ValueError, match="multiple of 8"):
        ZooNet("cnn3", size=28)


def test_pixels_turn_grey_and_colour_uint8_images_into_padded_rgb_stimuli():
    grey = np.full((2, 28, 28), 255, dtype=np.uint8)
    out = pixels(grey).reshape(2, 3, 32, 32)
    assert out.shape == (2, 3, 32, 32) and out[:, :, 2:30, 2:30].min() == 1.0 and out[:, :, :2].max() == 0.0
    colour = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    colour[..., 1] = 51
    assert np.allclose(pixels(colour).reshape(1, 3, 32, 32)[:, 1], 0.2)
    with pytest.raises(ValueError, match="square images"):
        pixels(np.zeros((1, 40, 40), dtype=np.uint8))


def test_stimulus_sets_are_images_in_the_unit_range_and_smoothing_correlates_neighbours():
    digits = np.random.default_rng(0).random((50, 64))
    sets = stimulus_sets({"digits": digits}, 40, seed=1)
    assert list(sets) == ["digits", "white noise", "smoothed noise"]
    for values in sets.values():
        assert values.shape == (40, 64) and values.min() >= 0 and values.max() <= 1

    def neighbour_correlation(images, size=8):
        grid = images.reshape(-1, size, size)
        return np.corrcoef(grid[:, :, :-1].ravel(), grid[:, :, 1:].ravel())[0, 1]

    assert neighbour_correlation(sets["smoothed noise"]) > 0.5 > abs(neighbour_correlation(sets["white noise"]))
    colour = stimulus_sets({}, 10, (3, 32, 32), seed=0)
    assert colour["smoothed noise"].shape == (10, 3072)
    assert neighbour_correlation(colour["smoothed noise"], 32) > 0.8
    with pytest.raises(ValueError, match="at least 40 images"):
        stimulus_sets({"digits": digits[:20]}, 40)


def test_recordings_are_the_chosen_responsive_units_and_a_fully_recorded_brain_is_identified_by_layer():
    torch.manual_seed(0)
    brain, other = ZooNet("cnn3"), ZooNet("mlp")
    sets = stimulus_sets({}, 120, seed=0)
    stimuli = sets["white noise"]
    chosen = choose_units(brain, list(sets.values()), 30, seed=0)
    sampled = record(brain, stimuli, chosen)
    assert [v.shape for v in sampled.values()] == [(120, 30), (120, 30), (120, 30)]
    full = activations(brain, stimuli)
    assert all(np.array_equal(sampled[k], full[k][:, chosen[k]]) for k in full)
    for images in sets.values():  # the same units respond to every set
        assert all((v.std(0) > 0).all() for v in record(brain, images, chosen).values())
    every = choose_units(brain, [stimuli], 10_000, seed=0)  # every responsive unit: the answer is certain
    assert len(every["fc"]) == (full["fc"].std(0) > 0).sum()
    recording = record(brain, stimuli, every)
    candidates = {"brain": full, "other": activations(other, stimuli)}
    scores = identify(recording, candidates, linear_cka)
    for layer in brain.layers:
        assert best_match(scores[layer]) == ("brain", layer)
    fast = cka_scores(recording, candidates)
    for target, models in scores.items():
        for model, layers in models.items():
            assert fast[target][model] == pytest.approx(layers)


def test_ridge_scores_fit_all_recorded_layers_at_once_with_the_same_result_as_layer_by_layer():
    torch.manual_seed(0)
    brain, other = ZooNet("cnn3"), ZooNet("cnn5")
    stimuli = stimulus_sets({}, 80, seed=2)["smoothed noise"]
    recording = record(brain, stimuli, choose_units(brain, [stimuli], 12, seed=0))
    candidates = {"other": activations(other, stimuli)}
    batched = ridge_scores(recording, candidates, dim=60, seed=0)

    def one_layer(features, responses):
        return ridge_encoding(sparse_projection(features, 60, 0), responses, seed=0)[0]

    separate = identify(recording, candidates, one_layer)
    for target, models in separate.items():
        for layer, value in models["other"].items():
            assert batched[target]["other"][layer] == pytest.approx(value, abs=1e-12)


def test_train_zoo_trains_every_kind_and_keeps_untrained_copies_of_the_same_start(digits):
    x, y, x_test, y_test = digits
    recipe = dict(lr=3e-3, weight_decay=1e-4, batch_size=64, epochs=2, optimizer="adamw")
    zoo = train_zoo(("cnn3", "mlp"), 5, x[:256], y[:256], recipe, untrained=True)
    assert list(zoo) == ["cnn3 s5", "mlp s5", "cnn3 s5 untrained", "mlp s5 untrained"]
    assert zoo["cnn3 s5"].trained and not zoo["cnn3 s5 untrained"].trained
    torch.manual_seed(5)
    fresh = ZooNet("cnn3")
    copy = zoo["cnn3 s5 untrained"]
    assert all(torch.equal(a, b) for a, b in zip(fresh.parameters(), copy.parameters(), strict=True))
    assert not torch.equal(fresh.conv1.weight, zoo["cnn3 s5"].conv1.weight)


def made_up_zoo():
    torch.manual_seed(0)
    models = {"brain": ZooNet("cnn3"), "twin": ZooNet("cnn3"), "wide": ZooNet("mlp"), "raw": ZooNet("cnn3")}
    models["brain"].trained = models["twin"].trained = models["wide"].trained = True
    return models


def test_cases_name_the_choice_its_correctness_margin_and_widths():
    models = made_up_zoo()
    scores = {"conv1": {"twin": {"conv1": 0.9, "conv2": 0.5, "fc": 0.1},
                        "wide": {"fc1": 0.7, "fc2": 0.6, "fc3": 0.5},
                        "raw": {"conv1": 0.85, "conv2": 0.2, "fc": 0.1}},
              "fc": {"twin": {"conv1": 0.3, "conv2": 0.4, "fc": 0.5},
                     "wide": {"fc1": 0.8, "fc2": 0.2, "fc3": 0.1},
                     "raw": {"conv1": 0.1, "conv2": 0.2, "fc": 0.3}}}
    first, last = cases(scores, "brain", models)
    assert (first["model"], first["chosen"], first["architecture"], first["exact"]) == ("twin", "conv1", True, True)
    assert first["margin"] == pytest.approx(0.05)  # the untrained copy counts as wrong
    assert (last["model"], last["chosen"], last["architecture"], last["motif"]) == ("wide", "fc1", False, False)
    assert last["margin"] == pytest.approx(-0.3) and last["last"] and not first["last"]
    assert (last["units"], last["target_units"]) == (256, 64)
    assert accuracy([first, last]) == 0.5 and accuracy([first, last], "motif") == 0.5
    assert wider_share([first, last]) == 1.0
    assert among(scores, ["wide"]) == {k: {"wide": v["wide"]} for k, v in scores.items()}


def test_disagreement_is_the_mean_share_of_recorded_layers_identified_differently_by_two_sets():
    a = [dict(brain="b", layer="x", model="m", chosen="l1"), dict(brain="b", layer="y", model="m", chosen="l2")]
    b = [dict(brain="b", layer="x", model="m", chosen="l1"), dict(brain="b", layer="y", model="n", chosen="l2")]
    assert disagreement({"one": a, "two": a}) == 0.0
    assert disagreement({"one": a, "two": b}) == 0.5
    assert disagreement({"one": a, "two": b, "three": b}) == pytest.approx((0.5 + 0.5 + 0.0) / 3)


def test_wilson_interval_contains_the_estimate_and_narrows_with_more_cases():
    low, high = wilson(6, 12)
    assert low < 0.5 < high and high - low == pytest.approx(0.49, abs=0.02)
    assert wilson(60, 120)[1] - wilson(60, 120)[0] < 0.2
    assert wilson(0, 12)[0] == pytest.approx(0.0, abs=1e-12) and wilson(12, 12)[1] == pytest.approx(1.0)


def test_score_zoo_finds_a_brain_that_is_its_own_candidate():
    models = made_up_zoo()
    stimuli = stimulus_sets({}, 100, seed=0)["smoothed noise"]
    brains = {"brain": models["brain"]}
    candidates = {k: v for k, v in models.items() if k != "brain"} | brains
    units = {"brain": choose_units(models["brain"], [stimuli], 10_000, seed=0)}
    scored = score_zoo(brains, candidates, stimuli, units, dim=100, seed=0)
    for layer in models["brain"].layers:
        assert best_match(scored["cka"]["brain"][layer]) == ("brain", layer)
        assert scored["cka"]["brain"][layer]["brain"][layer] == pytest.approx(1.0)
