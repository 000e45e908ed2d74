"""The synthetic story grammar (`companion.stories`): generated stories are grammatical and agree, and the
checkers catch what is not."""

from companion.stories import agreement, corpus, grammatical_share, sentences_of


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
