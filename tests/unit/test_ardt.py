"""Auto-regressive decision trees on automata (`companion.science.ardt`): the chain-of-thought tree is exact at every
length with |Q||Sigma| leaves at most; a plain tree is not."""

import numpy as np
import pytest

from companion.science.ardt import (
    chain_windows,
    final_state_accuracy,
    fit_ardt,
    fit_plain_tree,
    generate_states,
    one_hot,
    parity,
    permutation_automaton,
    prompts,
    random_strings,
    tapes,
)


def test_parity_runs_and_its_tape_holds_the_chain_of_thought():
    strings = np.array([[1, 0, 1, 1]])
    assert parity().run(strings).tolist() == [[1, 1, 0, 1]]
    # symbols 0/1, states as tokens 2/3: x_1..x_4, q_0, q_1..q_4
    assert tapes(parity(), strings).tolist() == [[1, 0, 1, 1, 2, 3, 3, 2, 3]]
    assert prompts(parity(), strings).tolist() == [[1, 0, 1, 1, 2]] and parity().tokens == 4


def test_chain_windows_start_with_the_symbol_and_end_with_the_previous_state():
    strings = random_strings(parity(), 5, 6, seed=1)
    tape = tapes(parity(), strings)
    windows, targets = chain_windows(tape, 6)
    assert windows.shape == (30, 7) and targets.shape == (30,)
    for t in range(6):
        block = slice(5 * t, 5 * (t + 1))
        assert np.array_equal(windows[block, 0], strings[:, t])  # x_t
        assert np.array_equal(windows[block, -1], tape[:, 6 + t])  # q_{t-1}
        assert np.array_equal(targets[block], tape[:, 7 + t])  # q_t


def test_one_hot_has_one_block_per_position():
    x = one_hot(np.array([[0, 2], [1, 1]]), 3)
    assert x.tolist() == [[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0]]


def test_permutation_automaton_permutes_and_does_not_commute():
    a = permutation_automaton(5, 3, seed=0)
    assert all(sorted(a.delta[:, s]) == list(range(5)) for s in range(3))
    # some two symbols lead to different states depending on their order
    assert any(a.delta[a.delta[q, x], y] != a.delta[a.delta[q, y], x]
               for q in range(5) for x in range(3) for y in range(3))


@pytest.mark.parametrize("automaton", [parity(), permutation_automaton(5, 3, seed=0)], ids=["parity", "perm"])
def test_chain_of_thought_tree_is_exact_at_every_length_with_a_bounded_number_of_leaves(automaton):
    for n in (8, 32):
        tree = fit_ardt(automaton, random_strings(automaton, 2000, n, seed=0))  # enough for greedy CART
        test = random_strings(automaton, 300, n, seed=1)
        assert final_state_accuracy(automaton, test, generate_states(tree, automaton, test)) == 1.0
        assert tree.get_n_leaves() <= automaton.states * automaton.symbols


def test_plain_tree_is_at_chance_on_long_parity():
    train, test = random_strings(parity(), 2000, 32, seed=0), random_strings(parity(), 1000, 32, seed=1)
    tree = fit_plain_tree(parity(), train)
    assert abs(final_state_accuracy(parity(), test, tree.predict(one_hot(test, 2))) - 0.5) < 0.06


def test_a_window_one_token_short_misses_the_symbol_and_cannot_simulate_parity():
    automaton, n = parity(), 16
    train, test = random_strings(automaton, 500, n, seed=0), random_strings(automaton, 500, n, seed=1)
    tree = fit_ardt(automaton, train, window=n)
    accuracy = final_state_accuracy(automaton, test, generate_states(tree, automaton, test, window=n))
    assert abs(accuracy - 0.5) < 0.1 and tree.get_n_leaves() > automaton.states * automaton.symbols
    windows, _ = chain_windows(tapes(automaton, train), n, window=2)
    assert windows.shape == (500 * n, 2)
    with pytest.raises(ValueError, match="1 to n \\+ 1"):
        fit_ardt(automaton, train, window=n + 2)
