"""Auto-regressive decision trees on text: word embeddings, window features and sampling (Gan et al. 2024).

The paper's pipeline, as far as it is known: embed words (Word2Vec), summarise the window of the last
L words by a weighted average of their embeddings, and train gradient-boosted trees to predict the next
word. Here the embeddings come from the corpus itself, offline: an SVD of its positive pointwise
mutual information (PPMI) matrix, a classical stand-in for Word2Vec. The features are a
recency-weighted average over the window plus the embeddings of the last few words, so the trees see
both what was said recently and exactly what was said last.

Used in the chapters: decision-trees-lm.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from companion.science.next_word import NextWord

UNKNOWN = "<unk>"


@dataclass(frozen=True)
class Vocabulary:
    """Word <-> id. Words outside the vocabulary map to UNKNOWN when the vocabulary has it."""

    words: tuple[str, ...]

    @classmethod
    def of(cls, texts: Sequence[Sequence[str]], size: int | None = None) -> Vocabulary:
        """Every word in order of first appearance; or, with `size`, the (at most) size - 1 most
        frequent (ties in order of first appearance) and UNKNOWN for every other word."""
        counts = Counter(w for text in texts for w in text)
        if size is None:
            return cls(tuple(counts))
        return cls((*(w for w, _ in counts.most_common(size - 1)), UNKNOWN))

    def ids(self, text: Sequence[str]) -> np.ndarray:
        index = {w: i for i, w in enumerate(self.words)}
        if UNKNOWN in index:
            return np.array([index.get(w, index[UNKNOWN]) for w in text], dtype=np.int64)
        unknown = [w for w in text if w not in index]
        if unknown:
            raise KeyError(f"words not in the vocabulary: {sorted(set(unknown))[:5]}")
        return np.array([index[w] for w in text], dtype=np.int64)

    def text(self, ids: Sequence[int]) -> list[str]:
        return [self.words[i] for i in ids]


def ppmi_embeddings(sequences: Sequence[np.ndarray], size: int, dim: int, window: int = 2) -> np.ndarray:
    """Word vectors (size, dim) from the SVD of the PPMI matrix of co-occurrences within `window` words.

    PPMI(i, j) = max(0, log p(i, j) / (p(i) p(j))); the vectors are U_k sqrt(S_k) of its top `dim`
    singular directions, normalised to unit length.
    """
    counts = np.zeros((size, size))
    for seq in sequences:
        for offset in range(1, window + 1):
            np.add.at(counts, (seq[:-offset], seq[offset:]), 1.0)
    counts += counts.T
    total = counts.sum()
    p_word = counts.sum(1) / total
    with np.errstate(divide="ignore", invalid="ignore"):  # words never seen get PPMI 0
        pmi = np.log(counts / total) - np.log(np.outer(p_word, p_word))
    ppmi = np.where(np.isfinite(pmi), np.maximum(pmi, 0.0), 0.0)
    U, S, _ = np.linalg.svd(ppmi)
    vectors = U[:, :dim] * np.sqrt(S[:dim])
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def window_features(context: np.ndarray, embeddings: np.ndarray, length: int,
                    last: int = 3, decay: float = 0.8) -> np.ndarray:
    """Features of the last `length` words of each row of `context` (M, >= length; ids,
    -1 = padding): the average of their embeddings with weights decay^age (newest age 0),
    then the embeddings of the `last` newest words. Shape (M, (1 + last) * dim)."""
    window = context[:, -length:]
    dim = embeddings.shape[1]
    padded = np.vstack([embeddings, np.zeros((1, dim))])  # id -1 -> zeros
    vectors = padded[window]  # (M, length, dim)
    weights = decay ** np.arange(length)[::-1] * (window >= 0)
    total = np.maximum(weights.sum(1, keepdims=True), 1e-12)
    average = (vectors * weights[..., None]).sum(1) / total
    newest = vectors[:, -last:].reshape(len(context), -1)
    return np.concatenate([average, newest], axis=1)


def fit_trees(features: np.ndarray, targets: np.ndarray, learner: str = "forest", seed: int = 0,
                  device: str = "cpu", **options):
    """A tree ensemble for a classification: the next word from window features, or any label.

    "forest": scikit-learn's random forest (CPU; `options` e.g. n_estimators, min_samples_leaf).
    "xgboost": gradient-boosted trees as in the paper, on `device` ("cpu" or "cuda"); needs the
    optional xgboost package (pip install -e ".[full]").
    """
    if learner == "forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(random_state=seed, n_jobs=1, **options).fit(features, targets)
    if learner == "xgboost":
        try:
            from xgboost import XGBClassifier
        except ImportError as error:
            raise ImportError('the "xgboost" learner needs the xgboost package: '
                              'pip install -e ".[full]"') from error
        classes, labels = np.unique(targets, return_inverse=True)
        model = XGBClassifier(tree_method="hist", device=device, random_state=seed, **options)
        model.fit(features, labels)
        model.set_params(device="cpu")  # predict from numpy arrays without a device round trip
        model.word_ids_ = classes  # the booster numbers classes 0..k-1; keep the words they stand for
        return model
    raise ValueError(f"unknown learner {learner!r}; expected 'forest' or 'xgboost'")


def tree_next_word(model, embeddings: np.ndarray, length: int, **feature_options) -> NextWord:
    """The next-word distribution (over all embeddings.shape[0] words) of a tree ensemble trained on
    `window_features` of the last `length` words; words it never saw as a target get probability 0."""
    size = embeddings.shape[0]
    words = getattr(model, "word_ids_", model.classes_)

    def next_word(contexts: np.ndarray) -> np.ndarray:
        probs = np.zeros((len(contexts), size))
        probs[:, words] = model.predict_proba(window_features(contexts, embeddings, length, **feature_options))
        return probs

    return next_word
