"""The synthetic story grammar (`companion.science.stories`): generated stories are grammatical and agree, and the
checkers catch what is not."""

import numpy as np

from companion.science.stories import (
    agreement,
    corpus,
    cue_distances,
    cue_words,
    gender_positions,
    grammatical,
    grammatical_share,
    name_consistency,
    pooled,
    sentences_of,
    split_stories,
)


def test_generated_stories_are_grammatical_agree_and_are_seeded():
    stories = corpus(50, seed=3)
    assert stories == corpus(50, seed=3) and stories != corpus(50, seed=4)
    for tokens in stories:
        assert grammatical_share(tokens) == 1.0
        agree, total = agreement(tokens)
        assert agree == total
    assert sum(agreement(t)[1] for t in stories) > 50  # pronouns do occur


def test_checkers_catch_broken_sentences_and_wrong_pronouns():
    tokens = "once upon a time there was a girl named lily . she was very happy . he went to the park .".split()
    assert agreement(tokens) == (1, 2)
    broken = "once upon a time there was a girl named lily . lily was the park . the end .".split()
    assert grammatical_share(broken) == 2 / 3
    assert sentences_of("a b . c".split()) == ["a b ."]
    assert grammatical_share([]) == 0.0


def test_cue_distances_count_back_to_the_nearest_name_or_pronoun():
    tokens = "a girl named lily . she was happy . one day she went home .".split()
    assert cue_distances(tokens) == [2, 6]
    assert cue_distances("she was happy .".split()) == []  # no name before it


def test_real_stories_split_into_lowercase_words_and_punctuation():
    text = 'Once upon a time, Tom said "Hi!" He didn\'t stop.\n<|endoftext|>\nThe end.\n<|endoftext|>\n'
    assert split_stories(text) == [
        ["once", "upon", "a", "time", ",", "tom", "said", '"', "hi", "!", '"', "he", "didn't", "stop", "."],
        ["the", "end", "."]]


def test_name_consistency_and_pooling_count_every_case_once():
    tokens = "a girl named lily . lily was happy . mia was sad . lily ran .".split()
    assert name_consistency(tokens) == (2, 3) and name_consistency(["the", "end"]) == (0, 0)
    assert grammatical("once upon a time there was a girl named lily . she ran .".split()) == (1, 2)
    assert pooled(name_consistency, [tokens, "tom . tom".split()]) == 3 / 4
    assert pooled(name_consistency, []) == 0.0


def test_gender_positions_start_after_the_opening_and_skip_the_given_current_words():
    stories = [corpus(1, seed=0)[0], "once upon a time there was a girl named mia . she was sad . the end .".split()]
    words = sorted({w for s in stories for w in s})
    ids = [np.array([words.index(w) for w in s]) for s in stories]
    skip = tuple(words.index(w) for w in cue_words() if w in words)
    contexts, labels = gender_positions(ids, stories, 8, skip)
    second = labels == 1
    # the girl's story after its opening: the current words ".", "she", ".", are skipped; "was", "sad",
    # "the", "end" remain
    assert second.sum() == 4 and (labels == 0).sum() > 0
    assert contexts[second][0].tolist() == ids[1][5:13].tolist()  # "was ... she was", before "sad"
