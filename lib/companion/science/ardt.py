"""Auto-regressive decision trees (ARDTs) on finite automata, with chain of thought (Gan et al. 2024).

An ARDT predicts the next token of a sequence from a window of the last L tokens and appends it, like
a language model. To simulate an automaton it writes the input x_1..x_n, the start state q_0, and then
the states q_1..q_n as a chain of thought: with L = n + 1 the window that predicts q_t begins with x_t
and ends with q_{t-1}, so a tree that reads those two positions computes q_t = delta(q_{t-1}, x_t) with
|Q||Sigma| leaves, whatever n is. A plain tree that maps x_1..x_n straight to q_n has no such shortcut.

Tokens: symbols are 0..|Sigma|-1, states |Sigma|..|Sigma|+|Q|-1.

Used in the chapters: decision-trees-lm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.tree import DecisionTreeClassifier


@dataclass(frozen=True)
class Automaton:
    """A deterministic finite automaton: `delta[q, a]` is the state after reading symbol a in state q."""

    delta: np.ndarray
    start: int = 0

    @property
    def states(self) -> int:
        return self.delta.shape[0]

    @property
    def symbols(self) -> int:
        return self.delta.shape[1]

    @property
    def tokens(self) -> int:
        """Size of the tape's vocabulary: the symbols, then the states."""
        return self.symbols + self.states

    def run(self, strings: np.ndarray) -> np.ndarray:
        """The states q_1..q_n after each symbol of each string (N, n): shape (N, n)."""
        q = np.full(len(strings), self.start)
        out = np.empty(strings.shape, dtype=np.int64)
        for t in range(strings.shape[1]):
            q = self.delta[q, strings[:, t]]
            out[:, t] = q
        return out


def parity() -> Automaton:
    """Two states, two symbols: the state is the parity of the number of ones read so far."""
    return Automaton(np.array([[0, 1], [1, 0]]))


def permutation_automaton(states: int = 5, symbols: int = 3, seed: int = 0) -> Automaton:
    """Each symbol permutes the states by a random permutation; for random permutations the order of the
    symbols matters (the automaton is not commutative), unlike parity's."""
    rng = np.random.default_rng(seed)
    return Automaton(np.stack([rng.permutation(states) for _ in range(symbols)], axis=1))


def random_strings(automaton: Automaton, count: int, length: int, seed: int = 0) -> np.ndarray:
    """`count` uniform random strings of `length` symbols: shape (count, length)."""
    return np.random.default_rng(seed).integers(0, automaton.symbols, size=(count, length))


def prompts(automaton: Automaton, strings: np.ndarray) -> np.ndarray:
    """The start of each tape, before the chain of thought: x_1..x_n, q_0 as tokens, shape (N, n + 1)."""
    start = np.full((len(strings), 1), automaton.start + automaton.symbols)
    return np.concatenate([strings, start], axis=1)


def tapes(automaton: Automaton, strings: np.ndarray) -> np.ndarray:
    """The chain-of-thought tape of each string: x_1..x_n, q_0, q_1..q_n as tokens, shape (N, 2n + 1)."""
    return np.concatenate([prompts(automaton, strings), automaton.run(strings) + automaton.symbols], axis=1)


def one_hot(windows: np.ndarray, vocabulary: int) -> np.ndarray:
    """(M, L) tokens -> (M, L * vocabulary) 0/1 features, one block per window position."""
    m, length = windows.shape
    out = np.zeros((m, length, vocabulary), dtype=np.float32)
    np.put_along_axis(out, windows[..., None], 1.0, axis=2)
    return out.reshape(m, length * vocabulary)


def _window(n: int, window: int | None) -> int:
    window = n + 1 if window is None else window
    if not 1 <= window <= n + 1:
        raise ValueError(f"the window must hold 1 to n + 1 = {n + 1} tokens, got {window}")
    return window


def chain_windows(tape: np.ndarray, n: int, window: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Training pairs of the ARDT: for t = 1..n, the `window` tokens before q_t (default n + 1, which
    starts at x_t), and q_t. A shorter window misses x_t."""
    w = _window(n, window)
    windows = np.concatenate([tape[:, n + 1 + t - w:n + 1 + t] for t in range(n)])
    targets = np.concatenate([tape[:, n + 1 + t] for t in range(n)])
    return windows, targets


def fit_ardt(automaton: Automaton, strings: np.ndarray, seed: int = 0,
             window: int | None = None) -> DecisionTreeClassifier:
    """A CART tree trained on the chain-of-thought windows of `strings` (one-hot features)."""
    n = strings.shape[1]
    windows, targets = chain_windows(tapes(automaton, strings), n, window)
    return DecisionTreeClassifier(random_state=seed).fit(one_hot(windows, automaton.tokens), targets)


def generate_states(tree: DecisionTreeClassifier, automaton: Automaton,
                    strings: np.ndarray, window: int | None = None) -> np.ndarray:
    """Run the ARDT: starting from x_1..x_n, q_0, predict q_1..q_n one token at a time
    from its own output, reading the last `window` tokens (as in training). Returns the
    predicted final states."""
    n = strings.shape[1]
    w = _window(n, window)
    tape = prompts(automaton, strings)
    for t in range(n):
        window_tokens = tape[:, n + 1 + t - w:n + 1 + t]
        token = tree.predict(one_hot(window_tokens, automaton.tokens))
        tape = np.concatenate([tape, token[:, None]], axis=1)
    return tape[:, -1] - automaton.symbols


def fit_plain_tree(automaton: Automaton, strings: np.ndarray, seed: int = 0) -> DecisionTreeClassifier:
    """A CART tree that maps the whole string (one-hot) straight to the final state, no chain of thought."""
    final = automaton.run(strings)[:, -1]
    return DecisionTreeClassifier(random_state=seed).fit(one_hot(strings, automaton.symbols), final)


def final_state_accuracy(automaton: Automaton, strings: np.ndarray, predicted: np.ndarray) -> float:
    """Share of strings whose predicted final state is the automaton's."""
    return float((automaton.run(strings)[:, -1] == predicted).mean())
