"""Word embeddings, window features and sampling for auto-regressive trees on text (`companion.tree_lm`)."""

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from companion.stories import agreement, corpus, grammatical_share
from companion.tree_lm import Vocabulary, next_word_pairs, ppmi_embeddings, sample, window_features


def test_vocabulary_round_trips_and_rejects_unknown_words():
    vocab = Vocabulary.of([["a", "b"], ["b", "c"]])
    assert vocab.words == ("a", "b", "c")
    assert vocab.text(vocab.ids(["c", "a"])) == ["c", "a"]
    with pytest.raises(KeyError, match="zebra"):
        vocab.ids(["zebra"])


def test_ppmi_embeddings_put_words_of_the_same_role_together():
    stories = corpus(300, seed=0)
    vocab = Vocabulary.of(stories)
    vectors = ppmi_embeddings([vocab.ids(s) for s in stories], len(vocab.words), dim=16)
    v = {w: vectors[vocab.ids([w])[0]] for w in ("lily", "mia", "park", "beach", "ball")}
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert v["lily"] @ v["mia"] > v["lily"] @ v["park"]
    assert v["park"] @ v["beach"] > v["park"] @ v["ball"]


def test_window_features_average_with_recency_weights_and_pad_with_zeros():
    emb = np.array([[1.0, 0.0], [0.0, 1.0]])
    f = window_features(np.array([[-1, 0, 1]]), emb, length=3, last=1, decay=0.5)
    # weights 0.5 (word 0) and 1 (word 1); the padding counts for nothing
    assert np.allclose(f, [[1 / 3, 2 / 3, 0.0, 1.0]])


def test_next_word_pairs_cover_every_position_with_left_padding():
    contexts, targets = next_word_pairs([np.array([4, 5, 6])], length=2)
    assert contexts.tolist() == [[-1, -1], [-1, 4], [4, 5]] and targets.tolist() == [4, 5, 6]


def test_a_forest_on_long_windows_writes_grammatical_stories_that_agree():
    stories = corpus(400, seed=0)
    vocab = Vocabulary.of(stories)
    seqs = [vocab.ids(s) for s in stories]
    emb = ppmi_embeddings(seqs, len(vocab.words), dim=16)
    contexts, targets = next_word_pairs(seqs, length=12)
    forest = RandomForestClassifier(n_estimators=20, random_state=0, n_jobs=1)
    forest.fit(window_features(contexts, emb, 12), targets)
    rng = np.random.default_rng(0)
    texts = [vocab.text(sample(forest, vocab.ids(["once"]), emb, 12, 60, rng, stop=None)) for _ in range(10)]
    assert np.mean([grammatical_share(t) for t in texts]) > 0.8
    agree, total = map(sum, zip(*(agreement(t) for t in texts), strict=True))
    assert total > 0 and agree / total > 0.8
