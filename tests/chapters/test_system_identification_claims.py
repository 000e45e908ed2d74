"""Each claim of the system-identification chapter, checked with the chapter's own thresholds where it
should hold and where it must fail. The zoo, stimuli and sizes are the chapter's quick ones, read from its
data cell; the full settings run one training step and a tiny identification on the CPU."""

from pathlib import Path

import numpy as np
import pytest
import torch

from companion.core.claims import check
from companion.ml.data import load_digits
from companion.science.sysid import (
    KINDS,
    accuracy,
    among,
    cases,
    choose_units,
    disagreement,
    pixels,
    score_zoo,
    stimulus_sets,
    train_zoo,
    wider_share,
)

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "system-identification.md"
SCORES = ("ridge", "cka")
NOISE = ("white noise", "smoothed noise")


@pytest.fixture(scope="module")
def zoo(settings):
    """The chapter's seed-0 brains, candidates, stimulus sets, redrawn noise and recorded units, with every
    recording scored against the candidates and the brains themselves; plus a third draw of white noise."""
    torch.set_num_threads(1)
    S = settings["quick"]
    d = load_digits()
    x, y = torch.as_tensor(d["x_train"]), torch.as_tensor(d["y_train"])
    brains = train_zoo(KINDS, 0, x, y, S["recipe"], shape=S["shape"], width=S["width"])
    candidates = train_zoo(KINDS, 1, x, y, S["recipe"], untrained=True, shape=S["shape"], width=S["width"])
    stimuli = stimulus_sets({"digits": d["x_test"]}, S["stimuli"], S["shape"], seed=0)
    redrawn = stimulus_sets({}, S["stimuli"], S["shape"], seed=1000)
    every_set = list(stimuli.values()) + [redrawn[k] for k in NOISE]
    units = {b: choose_units(brain, every_set, S["units"], seed=0) for b, brain in brains.items()}
    sets = stimuli | {f"{k}, again": redrawn[k] for k in NOISE}
    sets["white noise, third"] = stimulus_sets({}, S["stimuli"], S["shape"], seed=2000)["white noise"]
    scored = {name: score_zoo(brains, candidates | brains, stim, units, S["dim"], seed=0)
              for name, stim in sets.items()}
    narrow = {name: score_zoo(brains, candidates, stimuli[name], units, 64, seed=0) for name in stimuli}
    return dict(brains=brains, candidates=candidates, scored=scored, narrow=narrow, kinds=list(stimuli))


def outcomes(zoo, score, names=None, pool=None, scored=None):
    """{stimulus set: cases} for `score`, against the chapter's candidates or against pool(brain)."""
    brains, candidates = zoo["brains"], zoo["candidates"]
    scored = scored or zoo["scored"]
    return {name: [c for b in brains
                   for c in cases(among(scored[name][score][b], pool(b) if pool else list(candidates)),
                                  b, brains | candidates)]
            for name in names or zoo["kinds"]}


def brain_for_twin(zoo):
    """Candidates in which the brain itself takes the place of its twin (its kind, trained, other seed)."""
    brains, candidates = zoo["brains"], zoo["candidates"]
    return lambda b: [m for m in candidates
                      if not (candidates[m].kind == brains[b].kind and candidates[m].trained)] + [b]


def kinds_minus_draws(zoo, kinds):
    """The chapter's measure: min over scores of the disagreement between the `kinds` of stimuli minus
    that between two draws of each noise."""
    def draws(score):
        return np.mean([disagreement(outcomes(zoo, score, [k, f"{k}, again"])) for k in NOISE])

    return min(disagreement(outcomes(zoo, score, kinds)) - draws(score) for score in SCORES)


def median_margin(zoo, pool=None):
    return np.median([abs(c["margin"]) for cs in outcomes(zoo, "ridge", pool=pool).values() for c in cs])


def test_the_twin_barely_separates_but_a_twin_from_the_brains_own_seed_separates_like_the_brain(
        claims, zoo, settings):
    itself = median_margin(zoo, brain_for_twin(zoo))
    assert check(claims["scores-barely-separate"], median_margin(zoo) / itself).passed
    # a twin trained from the brain's own seed is the brain, because training is deterministic ...
    S = settings["quick"]
    d = load_digits()
    x, y = torch.as_tensor(d["x_train"]), torch.as_tensor(d["y_train"])
    again = train_zoo(("mlp",), 0, x, y, S["recipe"], shape=S["shape"], width=S["width"])["mlp s0"]
    brain = zoo["brains"]["mlp s0"]
    assert all(torch.equal(a, b) for a, b in zip(again.parameters(), brain.parameters(), strict=True))
    # ... so its margins are the brain's own, and the ratio is 1
    assert not check(claims["scores-barely-separate"], itself / itself).passed


def test_ridge_prefers_wide_layers_until_every_layer_is_projected_to_64_columns(claims, zoo):
    def pooled(scored=None):
        return wider_share([c for cs in outcomes(zoo, "ridge", scored=scored).values() for c in cs])

    assert check(claims["ridge-prefers-wide"], pooled()).passed
    assert not check(claims["ridge-prefers-wide"], pooled(zoo["narrow"])).passed


def test_stimulus_kinds_change_the_answer_more_than_draws_but_three_draws_of_noise_do_not(claims, zoo):
    assert check(claims["stimuli-change-answer"], kinds_minus_draws(zoo, zoo["kinds"])).passed
    same_kind = ["white noise", "white noise, again", "white noise, third"]
    assert not check(claims["stimuli-change-answer"], kinds_minus_draws(zoo, same_kind)).passed


def test_architecture_and_motif_are_missed_but_found_when_the_brain_itself_is_a_candidate(claims, zoo):
    best = {what: max(accuracy(cs, what) for score in SCORES for cs in outcomes(zoo, score).values())
            for what in ("architecture", "motif")}
    assert check(claims["architecture-missed"], best["architecture"]).passed
    assert check(claims["motif-missed"], best["motif"]).passed
    with_brain = outcomes(zoo, "cka", pool=lambda b: [*zoo["candidates"], b])
    found = {what: max(accuracy(cs, what) for cs in with_brain.values()) for what in ("architecture", "motif")}
    assert not check(claims["architecture-missed"], found["architecture"]).passed
    assert not check(claims["motif-missed"], found["motif"]).passed


def test_full_profile_zoo_and_identification_run_one_step_on_cpu(settings):
    S = settings["full"]
    rng = np.random.default_rng(0)
    x = torch.as_tensor(pixels(rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)))
    y = torch.as_tensor(rng.integers(0, 10, size=64))
    recipe = S["recipe"] | dict(batch_size=64, epochs=1)
    brains = train_zoo(KINDS, 0, x, y, recipe, shape=S["shape"], width=4)
    candidates = train_zoo(KINDS, 1, x, y, recipe, untrained=True, shape=S["shape"], width=4)
    digits = pixels(rng.integers(0, 256, size=(30, 28, 28), dtype=np.uint8))
    stimuli = stimulus_sets({"CIFAR-10 test": x.numpy(), "MNIST": digits}, 30, S["shape"], seed=0)
    assert list(stimuli) == ["CIFAR-10 test", "MNIST", "white noise", "smoothed noise"]
    units = {b: choose_units(brain, list(stimuli.values()), 5, seed=0) for b, brain in brains.items()}
    scored = score_zoo(brains, candidates, stimuli["MNIST"], units, dim=20, seed=0)
    found = [c for b in brains for c in cases(scored["ridge"][b], b, brains | candidates)]
    assert len(found) == 12 and all(np.isfinite(c["margin"]) for c in found)
