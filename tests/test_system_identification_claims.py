"""Each claim of the system-identification chapter, checked with the chapter's own thresholds where it
should hold and where it must fail. The zoo, stimuli and sizes are the chapter's quick ones, read from its
data cell; the full settings run one training step and a tiny identification on the CPU."""

from pathlib import Path

import numpy as np
import pytest
import torch

from companion.claims import check
from companion.data import load_digits
from companion.sysid import (
    KINDS,
    accuracy,
    among,
    cases,
    changed_share,
    pixels,
    score_zoo,
    stimulus_sets,
    train_zoo,
    wider_share,
)

CHAPTER = Path(__file__).resolve().parents[1] / "book" / "system-identification.md"


@pytest.fixture(scope="module")
def zoo(settings):
    """The chapter's seed-0 brains and candidates, its stimulus sets, and every recording scored against
    the candidates and the brains themselves."""
    torch.set_num_threads(1)
    S = settings["quick"]
    d = load_digits()
    x, y = torch.as_tensor(d["x_train"]), torch.as_tensor(d["y_train"])
    brains = train_zoo(KINDS, 0, x, y, S["recipe"], shape=S["shape"], width=S["width"])
    candidates = train_zoo(KINDS, 1, x, y, S["recipe"], untrained=True, shape=S["shape"], width=S["width"])
    stimuli = stimulus_sets({"digits": d["x_test"]}, S["stimuli"], S["shape"], seed=0)
    scored = {name: score_zoo(brains, candidates | brains, stim, S["units"], S["dim"], seed=0)
              for name, stim in stimuli.items()}
    return brains, candidates, stimuli, scored


def outcomes(zoo, score, pool=None):
    """{stimulus set: cases} for `score`, against the chapter's candidates or against pool(brain)."""
    brains, candidates, stimuli, scored = zoo
    models = brains | candidates
    return {name: [c for b in brains
                   for c in cases(among(scored[name][score][b], pool(b) if pool else list(candidates)),
                                  b, models)]
            for name in stimuli}


def brain_for_twin(zoo):
    """Candidates in which the brain itself takes the place of its twin (its kind, trained, other seed)."""
    brains, candidates, _, _ = zoo
    return lambda b: [m for m in candidates
                      if not (candidates[m].kind == brains[b].kind and candidates[m].trained)] + [b]


def test_scores_barely_separate_holds_and_fails_when_the_brain_itself_is_scored_on_white_noise(claims, zoo):
    margins = [c["margin"] for cs in outcomes(zoo, "ridge").values() for c in cs]
    assert check(claims["scores-barely-separate"], np.median(np.abs(margins))).passed
    itself = outcomes(zoo, "ridge", brain_for_twin(zoo))["white noise"]
    assert not check(claims["scores-barely-separate"], np.median(np.abs([c["margin"] for c in itself]))).passed


def test_ridge_prefers_wide_layers_and_cka_does_not(claims, zoo):
    def pooled(score):
        return wider_share([c for cs in outcomes(zoo, score).values() for c in cs])

    assert check(claims["ridge-prefers-wide"], pooled("ridge")).passed
    assert not check(claims["ridge-prefers-wide"], pooled("cka")).passed


def test_stimuli_change_the_answer_but_the_same_stimuli_three_times_do_not(claims, zoo):
    for score in ("ridge", "cka"):
        assert check(claims["stimuli-change-answer"], changed_share(outcomes(zoo, score))).passed
    same = outcomes(zoo, "ridge")["digits"]
    assert changed_share({"a": same, "b": same, "c": same}) == 0.0
    assert not check(claims["stimuli-change-answer"], changed_share({"a": same, "b": same})).passed


def test_architecture_and_motif_are_missed_but_found_when_the_brain_itself_is_a_candidate(claims, zoo):
    best = {what: max(accuracy(cs, what) for score in ("ridge", "cka") for cs in outcomes(zoo, score).values())
            for what in ("architecture", "motif")}
    assert check(claims["architecture-missed"], best["architecture"]).passed
    assert check(claims["motif-missed"], best["motif"]).passed
    with_brain = outcomes(zoo, "cka", lambda b: [*zoo[1], b])
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
    scored = score_zoo(brains, candidates, stimuli["MNIST"], units=5, dim=20, seed=0)
    found = [c for b in brains for c in cases(scored["ridge"][b], b, brains | candidates)]
    assert len(found) == 12 and all(np.isfinite(c["margin"]) for c in found)
