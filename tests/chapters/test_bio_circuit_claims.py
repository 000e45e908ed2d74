"""Each claim of the learning-circuit chapter, checked with the chapter's own thresholds where it should hold and
where it must fail. The networks and recipe are the chapter's quick ones, read from its data cell; the full
settings take one training step on the CPU."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from companion.core.claims import check
from companion.ml.data import load_mnist1d, standardize
from companion.ml.resnet import resnet18
from companion.ml.training import evaluate, train_classifier
from companion.science.feedback import (
    alignment,
    feedback_layers,
    feedback_mlp,
    impair_feedback,
    mismatch,
    surviving_alignment,
    with_feedback,
)

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "bio-circuit.md"


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    d = load_mnist1d()
    x, mean, std = standardize(d["x_train"])
    x_test = standardize(d["x_test"], mean, std)[0]
    return (torch.tensor(x), torch.tensor(d["y_train"]), torch.tensor(x_test), torch.tensor(d["y_test"]))


def trained(settings, data, rule, seed=0, damage=None, **changes):
    """A quick-profile network trained by `rule`, with recipe `changes`; its test accuracy, step count and
    the mismatch of each layer at the start."""
    S = settings["quick"]
    x, y, x_test, y_test = data
    torch.manual_seed(seed)
    model = feedback_mlp(S["widths"], rule)
    if damage:
        impair_feedback(model, **damage, seed=seed)
    start = [mismatch(layer) for layer in feedback_layers(model)]
    h = train_classifier(model, x, y, **(S["recipe"] | changes), seed=seed, log_every=1000)
    return model, evaluate(model, x_test, y_test)[1], int(h["steps"]), start


@pytest.fixture(scope="module")
def runs(settings, data):
    """The chapter's seed-0 runs, and the settings where each claim should fail."""
    return {
        "circuit": trained(settings, data, "circuit"),
        "circuit, no decay": trained(settings, data, "circuit", weight_decay=0.0),
        "circuit, decay / 100": trained(settings, data, "circuit", weight_decay=1e-4),
        "circuit, momentum": trained(settings, data, "circuit", momentum=0.9, lr=0.01),
        "feedback alignment": trained(settings, data, "feedback-alignment"),
        "damaged": trained(settings, data, "circuit", damage=dict(removed=0.5, noise=1.0)),
        "damaged, no decay": trained(settings, data, "circuit", damage=dict(removed=0.5, noise=1.0),
                                     weight_decay=0.0),
    }


def law_error(run, settings, **changes):
    model, _, steps, start = run
    recipe = settings["quick"]["recipe"] | changes
    factor = math.log(1 - recipe["lr"] * recipe["weight_decay"])
    return max(abs(math.log(mismatch(layer) / s) - steps * factor)
               for layer, s in zip(feedback_layers(model), start, strict=True))


def test_decay_law_holds_for_plain_sgd_and_fails_with_momentum(claims, runs, settings):
    assert check(claims["decay-law"], law_error(runs["circuit"], settings)).passed
    assert not check(claims["decay-law"], law_error(runs["circuit, momentum"], settings, lr=0.01)).passed


def used_cos(run):
    return [alignment(layer)[0] for layer in feedback_layers(run[0])[1:]]


def test_self_assembly_holds_for_the_circuit_and_fails_with_a_hundred_times_less_decay(claims, runs):
    assert check(claims["self-assembly"], min(used_cos(runs["circuit"]))).passed
    assert not check(claims["self-assembly"], min(used_cos(runs["circuit, decay / 100"]))).passed
    assert not check(claims["self-assembly"], min(used_cos(runs["feedback alignment"]))).passed


def test_decay_drives_assembly_holds_for_the_chapter_decay_and_fails_for_one_a_hundred_times_smaller(claims,
                                                                                                    runs):
    without = used_cos(runs["circuit, no decay"])[0]
    assert check(claims["decay-drives-assembly"], used_cos(runs["circuit"])[0] - without).passed
    assert not check(claims["decay-drives-assembly"], used_cos(runs["circuit, decay / 100"])[0] - without).passed


@pytest.fixture(scope="module")
def mean_accuracy(settings, data, runs):
    seeds = range(settings["quick"]["seeds"])
    out = {}
    for rule, first in [("backprop", None), ("circuit", runs["circuit"]),
                        ("feedback-alignment", runs["feedback alignment"])]:
        accs = [first[1] if s == 0 and first else trained(settings, data, rule, seed=s)[1] for s in seeds]
        out[rule] = float(np.mean(accs))
    return out


def test_circuit_matches_backprop_holds_and_fails_for_feedback_alignment_in_its_place(claims, mean_accuracy):
    m = mean_accuracy
    assert check(claims["circuit-matches-backprop"], m["circuit"] - m["backprop"]).passed
    assert not check(claims["circuit-matches-backprop"], m["feedback-alignment"] - m["backprop"]).passed


def survivor_cos(run):
    return min(surviving_alignment(layer)[0] for layer in feedback_layers(run[0])[1:])


def test_damaged_synapses_assemble_with_decay_and_fail_without(claims, runs):
    assert check(claims["damaged-synapses-assemble"], survivor_cos(runs["damaged"])).passed
    assert not check(claims["damaged-synapses-assemble"], survivor_cos(runs["damaged, no decay"])).passed


def test_full_profile_recipe_takes_a_step_on_the_cpu(settings):
    S = settings["full"]
    torch.manual_seed(0)
    model = with_feedback(resnet18(classes=10, base=S["base"]), "circuit")
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    before = feedback_layers(model)[0].B.detach().clone()
    recipe = S["recipe"] | {"batch_size": 4, "epochs": 1}
    h = train_classifier(model, x, y, **recipe, max_updates=1, log_every=1)
    assert int(h["steps"]) == 1
    assert not torch.equal(before, feedback_layers(model)[0].B)
