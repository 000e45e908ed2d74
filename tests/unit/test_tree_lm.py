"""Word embeddings, window features and sampling for auto-regressive trees on text (`companion.science.tree_lm`)."""

import sys

import numpy as np
import pytest

from companion.science.next_word import contexts_and_targets, sample_texts
from companion.science.stories import agreement, corpus, grammatical_share
from companion.science.tree_lm import UNKNOWN, Vocabulary, fit_trees, ppmi_embeddings, tree_next_word, window_features


def test_vocabulary_round_trips_and_rejects_unknown_words():
    vocab = Vocabulary.of([["a", "b"], ["b", "c"]])
    assert vocab.words == ("a", "b", "c")
    assert vocab.text(vocab.ids(["c", "a"])) == ["c", "a"]
    with pytest.raises(KeyError, match="zebra"):
        vocab.ids(["zebra"])


def test_a_sized_vocabulary_keeps_the_most_frequent_words_and_maps_the_rest_to_unknown():
    vocab = Vocabulary.of([["a", "b", "b", "c"], ["c", "c", "d"]], size=3)
    assert vocab.words == ("c", "b", UNKNOWN)
    assert vocab.text(vocab.ids(["b", "a", "zebra"])) == ["b", UNKNOWN, UNKNOWN]
    assert Vocabulary.of([["a", "b"]], size=10).words == ("a", "b", UNKNOWN)


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


def test_tree_next_word_spreads_the_classes_over_the_whole_vocabulary():
    emb = np.eye(4)
    contexts = np.array([[0], [1], [0], [1]])
    trees = fit_trees(window_features(contexts, emb, 1, last=1), np.array([2, 3, 2, 3]), n_estimators=3)
    probs = tree_next_word(trees, emb, 1, last=1)(np.array([[0], [1]]))
    assert probs.shape == (2, 4) and np.allclose(probs.sum(1), 1.0)
    assert probs[0].tolist() == [0, 0, 1, 0] and probs[1].tolist() == [0, 0, 0, 1]


def test_fit_trees_names_unknown_learners_and_the_missing_xgboost_package(monkeypatch):
    x, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="unknown learner 'gbm'"):
        fit_trees(x, y, learner="gbm")
    monkeypatch.setitem(sys.modules, "xgboost", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install -e \"\.\[full\]\""):
        fit_trees(x, y, learner="xgboost")


def test_xgboost_trees_map_their_classes_back_to_word_ids():
    pytest.importorskip("xgboost")
    emb = np.eye(6)
    contexts = np.array([[0], [1]] * 10)
    targets = np.array([4, 5] * 10)  # word ids that are not 0..k-1
    trees = fit_trees(window_features(contexts, emb, 1, last=1), targets, learner="xgboost", n_estimators=5)
    probs = tree_next_word(trees, emb, 1, last=1)(np.array([[0], [1]]))
    assert probs.argmax(1).tolist() == [4, 5]


def test_a_forest_on_long_windows_writes_grammatical_stories_that_agree():
    stories = corpus(400, seed=0)
    vocab = Vocabulary.of(stories)
    seqs = [vocab.ids(s) for s in stories]
    emb = ppmi_embeddings(seqs, len(vocab.words), dim=16, window=8)
    contexts, targets = contexts_and_targets(seqs, 12)
    forest = fit_trees(window_features(contexts, emb, 12), targets, n_estimators=20)
    texts = sample_texts(tree_next_word(forest, emb, 12), vocab.ids(["once"]), 10, 60, 12,
                         np.random.default_rng(0), stop=vocab.ids(["end"])[0])
    texts = [vocab.text(t) for t in texts]
    assert np.mean([grammatical_share(t) for t in texts]) > 0.8
    agree, total = map(sum, zip(*(agreement(t) for t in texts), strict=True))
    assert total > 0 and agree / total > 0.8
