"""A synthetic story grammar whose grammaticality and pronoun agreement can be checked exactly.

Each story introduces one character by name and then says things about them, sometimes by name and
sometimes by pronoun ("he" for a boy, "she" for a girl). A sentence is grammatical when it matches one
of the templates; a pronoun agrees when it fits the gender of the character named earlier in the
story. How far back the name is decides how long a context window a model needs to get the pronoun
right, which is what the chapter on auto-regressive trees varies.
"""

from __future__ import annotations

import re

import numpy as np

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


def grammatical_share(tokens: list[str]) -> float:
    """Share of the complete sentences in `tokens` that match a template (0 when there are none)."""
    sentences = sentences_of(tokens)
    if not sentences:
        return 0.0
    return sum(any(p.match(s) for p in PATTERNS) for s in sentences) / len(sentences)


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
