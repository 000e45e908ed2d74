"""Any language model as a next-word distribution: sampling, accuracy, perplexity and a pair probe.

A model is reduced to one function: word contexts (M, C) of ids, left-padded with -1, to probabilities
(M, V) over the whole vocabulary. Trees, transformers and n-gram baselines then share one sampling
loop and one scorer, so they are compared on exactly the same positions and the same terms.

Used in the chapters: decision-trees-lm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

NextWord = Callable[[np.ndarray], np.ndarray]


def contexts_and_targets(sequences: Sequence[np.ndarray], context: int) -> tuple[np.ndarray, np.ndarray]:
    """(contexts (M, context) padded with -1 at the start of each text, next words (M,)) for every
    position after the first of every sequence (the first word is a text's prompt): the model sees
    only earlier words of the same text."""
    contexts, targets = [], []
    for seq in sequences:
        padded = np.concatenate([np.full(context, -1), seq])
        for t in range(1, len(seq)):
            contexts.append(padded[t:t + context])
            targets.append(seq[t])
    return np.array(contexts, dtype=np.int64).reshape(-1, context), np.array(targets, dtype=np.int64)


def smoothed(probs: np.ndarray, mix: float) -> np.ndarray:
    """(1 - mix) probs + mix / V: no word gets probability zero, so perplexity stays finite."""
    return (1.0 - mix) * probs + mix / probs.shape[1]


def score(next_word: NextWord, sequences: Sequence[np.ndarray], context: int,
          mix: float = 0.01) -> tuple[float, float]:
    """Next-word accuracy (argmax) and perplexity over every position of `sequences`, with `mix` of the
    uniform distribution mixed into every model's probabilities alike."""
    contexts, targets = contexts_and_targets(sequences, context)
    probs = next_word(contexts)
    p_true = smoothed(probs, mix)[np.arange(len(targets)), targets]
    return float((probs.argmax(1) == targets).mean()), float(np.exp(-np.log(p_true).mean()))


def pair_probe(next_word: NextWord, sequences: Sequence[np.ndarray], context: int, first: int,
               second: int) -> tuple[float, int]:
    """At each position whose next word is `first` or `second` (say "she" and "he"): does the model give
    the right one more probability than the other? Returns (right, positions), a tie counting 1/2, as a
    coin flip would."""
    contexts, targets = contexts_and_targets(sequences, context)
    at = (targets == first) | (targets == second)
    if not at.any():
        return 0.0, 0
    probs = next_word(contexts[at])
    right_word = np.where(targets[at] == first, first, second)
    wrong_word = np.where(targets[at] == first, second, first)
    rows = np.arange(int(at.sum()))
    margin = probs[rows, right_word] - probs[rows, wrong_word]
    return float((margin > 0).sum() + 0.5 * (margin == 0).sum()), int(at.sum())


def sample_texts(next_word: NextWord, prompt: Sequence[int], count: int, steps: int, context: int,
                 rng: np.random.Generator, stop: int | None = None) -> list[np.ndarray]:
    """`count` texts, each `prompt` followed by up to `steps` words drawn from the model's distribution
    (ancestral sampling, all texts in one batch); a text ends after the word `stop`."""
    texts = [list(prompt) for _ in range(count)]
    open_ = list(range(count))
    for _ in range(steps):
        if not open_:
            break
        contexts = np.array([([-1] * context + texts[i])[-context:] for i in open_])
        probs = next_word(contexts)
        cumulative = np.cumsum(probs / probs.sum(1, keepdims=True), axis=1)
        draws = (cumulative < rng.random((len(open_), 1))).sum(1)
        words = np.minimum(draws, probs.shape[1] - 1)
        for i, word in zip(open_, words, strict=True):
            texts[i].append(int(word))
        open_ = [i for i in open_ if texts[i][-1] != stop]
    return [np.array(t) for t in texts]
