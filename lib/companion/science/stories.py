"""A synthetic story grammar whose grammaticality and pronoun agreement can be checked exactly.

Each story introduces one character by name and then says things about them, sometimes by name and
sometimes by pronoun ("he" for a boy, "she" for a girl). A sentence is grammatical when it matches one
of the templates; a pronoun agrees when it fits the gender of the character named earlier in the
story. How far back the name is decides how long a context window a model needs to get the pronoun
right, which is what the chapter on auto-regressive trees varies.

Used in the chapters: decision-trees-lm.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from companion.science.next_word import contexts_and_targets

GIRLS = ("lily", "mia", "sue", "anna")
BOYS = ("tom", "ben", "max", "sam")
THINGS = ("ball", "kite", "cat", "dog", "box", "toy")
PLACES = ("park", "shop", "farm", "beach")
FEELINGS = ("happy", "sad", "tired", "glad")

# templates: {N} name, {P} pronoun, {T} thing, {L} place, {F} feeling
OPENING = "once upon a time there was a {G} named {N} ."
MIDDLE = (
    "{N} liked to play with a {T} .",
    "one day {P} went to the {L} .",
    "{P} saw a big {T} at the {L} .",
    "{P} was very {F} .",
    "{N} found a {T} and {P} was {F} .",
)
END = "the end ."
GENDER_WORD = {"girl": GIRLS, "boy": BOYS}


def _sentence_pattern(template: str) -> re.Pattern[str]:
    words = {"{G}": "(girl|boy)", "{N}": f"({'|'.join(GIRLS + BOYS)})", "{P}": "(he|she)",
             "{T}": f"({'|'.join(THINGS)})", "{L}": f"({'|'.join(PLACES)})", "{F}": f"({'|'.join(FEELINGS)})"}
    pattern = re.escape(template)
    for slot, alternatives in words.items():
        pattern = pattern.replace(re.escape(slot), alternatives)
    return re.compile(f"^{pattern}$")


PATTERNS = [_sentence_pattern(t) for t in (OPENING, *MIDDLE, END)]


def story(rng: np.random.Generator, sentences: int = 4) -> list[str]:
    """One story as a list of lowercase tokens (words and "."): an opening, `sentences` middle ones, the end."""
    gender = "girl" if rng.random() < 0.5 else "boy"
    name = str(rng.choice(GENDER_WORD[gender]))
    pronoun = "she" if gender == "girl" else "he"
    text = [OPENING.format(G=gender, N=name)]
    for _ in range(sentences):
        template = MIDDLE[rng.integers(len(MIDDLE))]
        text.append(template.format(N=name, P=pronoun, T=rng.choice(THINGS), L=rng.choice(PLACES),
                                    F=rng.choice(FEELINGS)))
    text.append(END)
    return " ".join(text).split()


def corpus(count: int, seed: int = 0, sentences: int = 4) -> list[list[str]]:
    """`count` stories from a seeded generator."""
    rng = np.random.default_rng(seed)
    return [story(rng, sentences) for _ in range(count)]


def sentences_of(tokens: list[str]) -> list[str]:
    """Split tokens into sentences at "." (a trailing fragment without "." is dropped)."""
    out, current = [], []
    for token in tokens:
        current.append(token)
        if token == ".":
            out.append(" ".join(current))
            current = []
    return out


def grammatical(tokens: list[str]) -> tuple[int, int]:
    """(complete sentences in `tokens` that match a template, complete sentences)."""
    sentences = sentences_of(tokens)
    return sum(any(p.match(s) for p in PATTERNS) for s in sentences), len(sentences)


def grammatical_share(tokens: list[str]) -> float:
    """Share of the complete sentences in `tokens` that match a template (0 when there are none)."""
    matching, total = grammatical(tokens)
    return matching / total if total else 0.0


def agreement(tokens: list[str]) -> tuple[int, int]:
    """(pronouns that fit the gender of the most recent name, pronouns that follow a name at all)."""
    gender, agree, total = None, 0, 0
    for token in tokens:
        if token in GIRLS:
            gender = "she"
        elif token in BOYS:
            gender = "he"
        elif token in ("he", "she") and gender is not None:
            total += 1
            agree += token == gender
    return agree, total


def pooled(check: Callable[[list[str]], tuple[int, int]], texts: list[list[str]]) -> float:
    """A (hits, cases) check pooled over texts: all hits over all cases (0 when there are no cases)."""
    hits, cases = (sum(v) for v in zip(*(check(t) for t in texts), strict=True)) if texts else (0, 0)
    return hits / cases if cases else 0.0


def name_consistency(tokens: list[str]) -> tuple[int, int]:
    """(names after the first that repeat the first name, names after the first): one character per story."""
    names = [t for t in tokens if t in GIRLS or t in BOYS]
    return sum(n == names[0] for n in names[1:]), max(len(names) - 1, 0)


def gender_positions(sequences: list[np.ndarray], stories: list[list[str]], context: int,
                     skip: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Contexts (as in companion.science.next_word) at every position after a story's opening sentence whose
    current word (the last word of the context) is not in `skip`, and whether the story's character is
    a girl (1) or a boy (0). With `skip` = the names, the pronouns and the words after which the grammar
    can put a name or a pronoun, neither the current word nor the next word tells the gender."""
    contexts, labels = [], []
    for ids, tokens in zip(sequences, stories, strict=True):
        c, _ = contexts_and_targets([ids], context)
        after_opening = np.arange(1, len(ids)) > tokens.index(".")
        keep = after_opening & ~np.isin(ids[:-1], skip)
        contexts.append(c[keep])
        labels += [int(tokens[tokens.index("named") - 1] == "girl")] * int(keep.sum())
    return np.concatenate(contexts), np.array(labels)


def cue_words() -> tuple[str, ...]:
    """The words that tell a character's gender, and those after which the grammar can put one."""
    return (*GIRLS, *BOYS, "he", "she", ".", "day", "and")


def cue_distances(tokens: list[str]) -> list[int]:
    """For each pronoun that follows a name: how many tokens back the nearest word that tells the
    character's gender is (a name or an earlier pronoun). A model that reads fewer words before the
    pronoun cannot know which pronoun fits."""
    last, out = None, []
    for i, token in enumerate(tokens):
        if token in ("he", "she") and last is not None:
            out.append(i - last)
        if token in GIRLS or token in BOYS or token in ("he", "she"):
            last = i
    return out


def split_stories(text: str, separator: str = "<|endoftext|>") -> list[list[str]]:
    """Real stories (TinyStories' format) as lowercase word and punctuation tokens, one list a story."""
    return [tokens for part in text.split(separator)
            if (tokens := re.findall(r"[a-z]+(?:'[a-z]+)?|[.,!?\"]", part.lower()))]
