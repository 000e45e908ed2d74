"""Models as next-word distributions (`companion.science.next_word`): contexts, scoring, the pair probe, sampling."""

import numpy as np
import pytest

from companion.science.next_word import contexts_and_targets, pair_probe, sample_texts, score, smoothed


def bigram_model(table: np.ndarray):
    """A next-word function that looks only at the last word (rows of `table` are distributions)."""
    return lambda contexts: table[contexts[:, -1]]


def test_contexts_skip_each_texts_prompt_and_pad_on_the_left():
    contexts, targets = contexts_and_targets([np.array([4, 5, 6]), np.array([7, 8])], context=2)
    assert contexts.tolist() == [[-1, 4], [4, 5], [-1, 7]] and targets.tolist() == [5, 6, 8]
    empty, none = contexts_and_targets([np.array([3])], context=2)
    assert empty.shape == (0, 2) and none.shape == (0,)


def test_score_of_a_known_model_matches_the_formula():
    # word 0 -> word 1 with prob 0.75; word 1 -> word 0 with prob 1
    table = np.array([[0.25, 0.75], [1.0, 0.0]])
    texts = [np.array([0, 1, 0, 0])]  # targets 1 (p .75, right), 0 (p 1, right), 0 (p .25, wrong)
    accuracy, perplexity = score(bigram_model(table), texts, context=1, mix=0.0)
    assert accuracy == pytest.approx(2 / 3)
    assert perplexity == pytest.approx(np.exp(-np.log([0.75, 1.0, 0.25]).mean()))
    # a zero probability stays finite once some uniform mass is mixed in
    _, finite = score(bigram_model(table), [np.array([1, 1])], context=1, mix=0.01)
    assert np.isfinite(finite) and finite == pytest.approx(1 / smoothed(table, 0.01)[1, 1])


def test_pair_probe_counts_only_positions_of_the_pair_and_ties_as_halves():
    table = np.array([[0.0, 0.6, 0.4], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    # next words of the pair: 0 -> 1 (right), 1 -> 1 and 1 -> 2 (ties), 0 -> 2 (wrong); 2 -> 0 is not counted
    texts = [np.array([0, 1, 1, 2, 0, 2])]
    assert pair_probe(bigram_model(table), texts, 1, first=1, second=2) == (2.0, 4)
    assert pair_probe(bigram_model(table), [np.array([0, 0])], 1, first=1, second=2) == (0.0, 0)


def test_sampling_follows_the_distribution_stops_and_is_seeded():
    table = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])  # 0 -> 1 -> 2 -> 0
    texts = sample_texts(bigram_model(table), [0], count=3, steps=10, context=1,
                         rng=np.random.default_rng(0), stop=2)
    assert all(t.tolist() == [0, 1, 2] for t in texts)
    mixed = np.full((3, 3), 1 / 3)
    a = sample_texts(bigram_model(mixed), [0], 5, 20, 1, np.random.default_rng(1))
    b = sample_texts(bigram_model(mixed), [0], 5, 20, 1, np.random.default_rng(1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    words = np.concatenate([t[1:] for t in a])
    assert len(words) == 100 and set(words.tolist()) == {0, 1, 2}
