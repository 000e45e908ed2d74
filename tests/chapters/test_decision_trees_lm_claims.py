"""The decision-tree chapter's claim checks hold in the chapter's setting and fail where they should not hold.

Each check is computed as in the chapter (the thresholds are read from the chapter itself); the failing
settings are ones where the claim is false: a window one token short, strings short enough to memorise,
a one-word window, a model that reads further than the window, a transformer that reads two words.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from companion.core.claims import check
from companion.science.ardt import (
    final_state_accuracy,
    fit_ardt,
    fit_plain_tree,
    generate_states,
    one_hot,
    parity,
    permutation_automaton,
    random_strings,
)
from companion.science.next_word import contexts_and_targets, pair_probe, sample_texts
from companion.science.stories import agreement, corpus, cue_distances, cue_words, gender_positions, grammatical, pooled
from companion.science.tiny_lm import CausalLM, hidden_states, lm_next_word, train_lm
from companion.science.tree_lm import Vocabulary, fit_trees, ppmi_embeddings, tree_next_word, window_features

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "decision-trees-lm.md"


def automaton_runs(settings, n, window_short_by=0, seed=0):
    """(ARDT accuracy, leaves / bound, plain accuracy - chance) for both automata at length n, computed
    as in the chapter (the strings' seeds differ)."""
    a = settings["automata"]
    out = []
    for automaton in (parity(), permutation_automaton(5, 3, seed=seed)):
        train = random_strings(automaton, a["train"], n, seed=2 * seed)
        test = random_strings(automaton, a["test"], n, seed=2 * seed + 1)
        window = n + 1 - window_short_by
        tree = fit_ardt(automaton, train, window=window)
        plain = fit_plain_tree(automaton, train)
        final = automaton.run(test)[:, -1]
        chance = np.bincount(final).max() / len(test)
        out.append((final_state_accuracy(automaton, test, generate_states(tree, automaton, test, window)),
                    tree.get_n_leaves() / (automaton.states * automaton.symbols),
                    final_state_accuracy(automaton, test, plain.predict(one_hot(test, automaton.symbols))) - chance))
    return out


def test_ardt_exact_and_leaves_bound_hold_with_the_full_window_and_fail_one_token_short(claims, settings):
    runs = automaton_runs(settings["quick"], 16)
    assert check(claims["ardt-exact"], min(r[0] for r in runs)).passed
    assert check(claims["leaves-bound"], max(r[1] for r in runs)).passed
    short = automaton_runs(settings["quick"], 16, window_short_by=1)
    assert not check(claims["ardt-exact"], min(r[0] for r in short)).passed
    assert not check(claims["leaves-bound"], max(r[1] for r in short)).passed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_greedy_cart_finds_the_small_tree_at_the_chapters_longest_length_for_other_seeds(claims, settings, seed):
    """CART finds the proposition's tree only through the first window's fixed q_0 (see the chapter); the
    quick profile's strings must be enough for that at its longest length, whatever the seed."""
    runs = automaton_runs(settings["quick"], max(settings["quick"]["automata"]["lengths"]), seed=seed)
    assert check(claims["ardt-exact"], min(r[0] for r in runs)).passed
    assert check(claims["leaves-bound"], max(r[1] for r in runs)).passed


def test_plain_tree_chance_holds_on_long_strings_and_fails_on_strings_short_enough_to_memorise(claims, settings):
    assert check(claims["plain-tree-chance"], max(r[2] for r in automaton_runs(settings["quick"], 32))).passed
    assert not check(claims["plain-tree-chance"], max(r[2] for r in automaton_runs(settings["quick"], 8))).passed


@pytest.fixture(scope="module")
def stories(settings):
    """The chapter's quick corpus, vocabulary and word vectors (seed 0)."""
    s = settings["quick"]
    train, test = corpus(s["stories"]["train"], seed=0), corpus(s["stories"]["test"], seed=1)
    vocab = Vocabulary.of(train + test)
    train_ids, test_ids = [vocab.ids(t) for t in train], [vocab.ids(t) for t in test]
    emb = ppmi_embeddings(train_ids, len(vocab.words), s["embedding"]["dim"], window=s["embedding"]["window"])
    return dict(vocab=vocab, train=train_ids, test=test_ids, train_tokens=train, test_tokens=test, emb=emb)


def ardt(settings, stories, length, **features):
    contexts, targets = contexts_and_targets(stories["train"], length)
    trees = fit_trees(window_features(contexts, stories["emb"], length, **features), targets,
                      **settings["quick"]["trees"])
    return tree_next_word(trees, stories["emb"], length, **features)


@pytest.fixture(scope="module")
def transformer(settings, stories):
    torch.manual_seed(0)
    s = settings["quick"]
    model = CausalLM(len(stories["vocab"].words), **s["transformer"])
    train_lm(model, stories["train"], seed=0, **s["training"])
    return model


def writing(stories, next_word, context, count=60):
    """(grammatical share, pronoun agreement) of `count` sampled stories."""
    vocab = stories["vocab"]
    texts = sample_texts(next_word, vocab.ids(["once"]), count, 60, context, np.random.default_rng(0),
                         stop=vocab.ids(["end"])[0])
    texts = [vocab.text(t) for t in texts]
    return pooled(grammatical, texts), pooled(agreement, texts)


def test_grammar_and_parity_with_the_transformer_hold_for_a_long_window_and_fail_for_a_bigram(
        claims, settings, stories, transformer):
    context = settings["quick"]["transformer"]["context"]
    reference = writing(stories, lm_next_word(transformer), context)
    for length, holds in [(settings["quick"]["main_window"], True), (1, False)]:
        grammar, agree = writing(stories, ardt(settings, stories, length), length)
        assert check(claims["ardt-grammatical"], grammar).passed is holds
        on_par = min(grammar - reference[0], agree - reference[1])
        assert check(claims["on-par-with-transformer"], on_par).passed is holds


def window_gap(stories, next_word, context, length):
    """|pronoun accuracy of a model that reads `context` words - the prediction for a window of `length`|."""
    she, he = stories["vocab"].ids(["she", "he"])
    right, total = pair_probe(next_word, stories["test"], context, she, he)
    distances = np.array([d for s in stories["test_tokens"] for d in cue_distances(s)])
    return abs(right / total - np.mean(np.where(distances <= length, 1.0, 0.5)))


def test_window_limits_agreement_holds_for_a_window_and_fails_for_a_model_that_reads_further(
        claims, settings, stories, transformer):
    gaps = [window_gap(stories, ardt(settings, stories, length), length, length)
            for length in settings["quick"]["windows"]]
    assert check(claims["window-limits-agreement"], max(gaps)).passed
    context = settings["quick"]["transformer"]["context"]  # 32 words, held to the prediction for 8
    further = window_gap(stories, lm_next_word(transformer), context, 8)
    assert not check(claims["window-limits-agreement"], further).passed
    nearer = window_gap(stories, ardt(settings, stories, 1), 8, 8)  # uses 1 word of a window of 8
    assert not check(claims["window-limits-agreement"], nearer).passed


def gender_probe(stories, model, learner_options, skip):
    """Accuracy of trees on `model`'s last-layer states telling girls from boys (as in the chapter)."""
    skip = tuple(stories["vocab"].ids(list(skip)))
    x, y = gender_positions(stories["train"], stories["train_tokens"], model.context, skip)
    x_test, y_test = gender_positions(stories["test"], stories["test_tokens"], model.context, skip)
    trees = fit_trees(hidden_states(model, x), y, **learner_options)
    return trees.score(hidden_states(model, x_test), y_test)


def test_trees_on_transformer_holds_where_the_model_needs_the_gender_and_fails_for_a_two_word_context(
        claims, settings, stories, transformer):
    """The chapter's positions are a borderline case at quick (see the chapter); where the next word may
    be a pronoun the states must carry the gender and the check passes; a transformer that reads two
    words cannot carry it and the check fails."""
    trees = settings["quick"]["trees"]
    before_cue = [w for w in stories["vocab"].words if w not in (".", "day", "and")]
    assert check(claims["trees-on-transformer"], gender_probe(stories, transformer, trees, before_cue)).passed
    torch.manual_seed(0)
    short = CausalLM(len(stories["vocab"].words), **{**settings["quick"]["transformer"], "context": 2})
    train_lm(short, stories["train"], seed=0, **settings["quick"]["training"])
    assert not check(claims["trees-on-transformer"], gender_probe(stories, short, trees, cue_words())).passed


def test_the_full_profile_runs_one_step_of_each_model_on_the_cpu(settings):
    """The full settings' TinyStories models, one step each, on a tiny text: plumbing, not results."""
    full = settings["full"]["tinystories"]
    texts = [("once upon a time there was a girl named lily . she was happy . " * 8).split()] * 6
    vocab = Vocabulary.of(texts, size=full["vocabulary"])
    ids = [vocab.ids(t) for t in texts]
    emb = ppmi_embeddings(ids, len(vocab.words), dim=4, window=full["embedding"]["window"])
    contexts, targets = contexts_and_targets(ids, full["window"])
    model = CausalLM(len(vocab.words), **full["transformer"])
    losses = train_lm(model, ids, seed=0, **{**full["training"], "steps": 1})
    assert losses.shape == (1,) and np.isfinite(losses).all()
    pytest.importorskip("xgboost")  # the optional package of the full profile (pip install -e ".[full]")
    options = {**settings["full"]["trees"], "n_estimators": 1}
    trees = fit_trees(window_features(contexts, emb, full["window"]), targets, "xgboost", **options)
    assert tree_next_word(trees, emb, full["window"])(contexts[:3]).shape == (3, len(vocab.words))
