"""Auto-regressive decision trees on text: word embeddings, window features and sampling (Gan et al. 2024).

The paper's pipeline, as far as it is known: embed words (Word2Vec), summarise the window of the last
L words by a weighted average of their embeddings, and train gradient-boosted trees to predict the next
word. Here the embeddings come from the corpus itself, offline: an SVD of its positive pointwise
mutual information (PPMI) matrix, a classical stand-in for Word2Vec. The features are a
recency-weighted average over the window plus the embeddings of the last few words, so the trees see
both what was said recently and exactly what was said last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Vocabulary:
    """Word <-> id, in order of first appearance."""

    words: tuple[str, ...]

    @classmethod
    def of(cls, texts: Sequence[Sequence[str]]) -> Vocabulary:
        return cls(tuple(dict.fromkeys(w for text in texts for w in text)))

    def ids(self, text: Sequence[str]) -> np.ndarray:
        index = {w: i for i, w in enumerate(self.words)}
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
    with np.errstate(divide="ignore"):
        pmi = np.log(counts / total) - np.log(np.outer(p_word, p_word))
    ppmi = np.where(np.isfinite(pmi), np.maximum(pmi, 0.0), 0.0)
    U, S, _ = np.linalg.svd(ppmi)
    vectors = U[:, :dim] * np.sqrt(S[:dim])
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def window_features(context: np.ndarray, embeddings: np.ndarray, length: int, last: int = 3,
                    decay: float = 0.8) -> np.ndarray:
    """Features of the last `length` words of each row of `context` (M, >= length; ids, -1 = padding):
    the average of their embeddings with weights decay^age (newest age 0), then the embeddings of the
    `last` newest words. Shape (M, (1 + last) * dim)."""
    window = context[:, -length:]
    dim = embeddings.shape[1]
    padded = np.vstack([embeddings, np.zeros((1, dim))])  # id -1 -> zeros
    vectors = padded[window]  # (M, length, dim)
    weights = decay ** np.arange(length)[::-1] * (window >= 0)
    average = (vectors * weights[..., None]).sum(1) / np.maximum(weights.sum(1, keepdims=True), 1e-12)
    newest = vectors[:, -last:].reshape(len(context), -1)
    return np.concatenate([average, newest], axis=1)


def next_word_pairs(sequences: Sequence[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """(contexts (M, length) padded with -1 at the start of each text, next words (M,)) for every position."""
    contexts, targets = [], []
    for seq in sequences:
        padded = np.concatenate([np.full(length, -1), seq])
        for t in range(len(seq)):
            contexts.append(padded[t:t + length])
            targets.append(seq[t])
    return np.array(contexts), np.array(targets)


def sample(model, prompt: np.ndarray, embeddings: np.ndarray, length: int, steps: int,
           rng: np.random.Generator, stop: int | None = None) -> np.ndarray:
    """Generate up to `steps` word ids after `prompt` by ancestral sampling from `model.predict_proba`
    (any scikit-learn classifier trained on `window_features`), stopping after the id `stop`."""
    text = list(prompt)
    for _ in range(steps):
        context = np.array([([-1] * length + text)[-length:]])
        probs = model.predict_proba(window_features(context, embeddings, length))[0]
        word = int(model.classes_[rng.choice(len(probs), p=probs / probs.sum())])
        text.append(word)
        if word == stop:
            break
    return np.array(text)
