"""The self-checks of the exercises of `decision-trees-lm`, each answer computed from the exercise's formula."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from companion.exercises.judge import Target, exact, exercise, near
from companion.science.ardt import parity, permutation_automaton
from companion.science.stories import BOYS, GIRLS


@exercise("ex-ardt-window-short", "final-state accuracy of the parity ARDT with a window of n")
def ardt_window_short(*, test_strings: int = 1000) -> Target:
    """ex-ardt-window-short: no window ever holds x_1, so the final parity is a fair coin to the tree:
    accuracy 1/|Q|. Default: the chapter's SETTINGS["quick"]["automata"]["test"]."""
    expected = 1 / parity().states
    # Three binomial standard deviations over the test strings: a measured accuracy passes too.
    return near(expected, abs_tol=3 * math.sqrt(expected * (1 - expected) / test_strings))


@exercise("ex-ardt-ordinal", "depth of the shallowest threshold tree on ids isolating every cell")
def ardt_ordinal(*, states: int | None = None, symbols: int | None = None) -> Target:
    """ex-ardt-ordinal: depth of the shallowest tree of threshold tests on ids that isolates every
    (symbol, state) cell: halve the symbol ids, then the state ids. Defaults: permutation_automaton()'s."""
    automaton = permutation_automaton()
    states = automaton.states if states is None else states
    symbols = automaton.symbols if symbols is None else symbols
    return exact(math.ceil(math.log2(symbols)) + math.ceil(math.log2(states)))


def name_gaps(tokens: Sequence[str]) -> list[int]:
    """How many tokens back the previous name is, for every name of a story after its first."""
    where = [i for i, t in enumerate(tokens) if t in GIRLS or t in BOYS]
    return [b - a for a, b in itertools.pairwise(where)]


@exercise("ex-ardt-names", "shortest window that always holds the previous name")
def ardt_names(*, stories: Sequence[Sequence[str]]) -> Target:
    """ex-ardt-names: the shortest window that always holds the previous name, the largest gap in `stories`
    (pass the chapter's `train_stories`)."""
    gaps = [g for s in stories for g in name_gaps(s)]
    if not gaps:
        raise ValueError("no story here names its character twice")
    return exact(max(gaps))
