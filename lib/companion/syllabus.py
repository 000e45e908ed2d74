"""The teacher's view of the book: each chapter's learning objectives, prerequisites and time, and
suggested courses through it.

The objectives are not written twice: they are the "You will" list of each chapter's overview,
read from its source, so the syllabus cannot drift from the chapters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from companion import chapters


@dataclass(frozen=True)
class Session:
    """What a class on one chapter needs: hours in class (with the exercises) and prerequisites."""

    hours: float
    prerequisites: str


SESSIONS = {
    "sgd-vs-gd": Session(1.5, "linear algebra (SVD, rank), gradient descent, weight decay"),
    "canonical-representation": Session(1.5, "SGD with weight decay, covariance matrices, eigenvectors"),
    "low-rank-bounds": Session(2.0, "Rademacher or Gaussian complexity, matrix norms, covering numbers"),
    "sparse-norm-bounds": Session(1.5, "convolutional networks, norm-based generalization bounds"),
    "compositional-sparsity": Session(2.0, "approximation rates and smoothness, ReLU networks"),
    "agop-hyperbf": Session(1.5, "radial basis function networks, kernel methods, gradients"),
    "hyperbf-transformer": Session(1.5, "attention and transformers, radial basis functions"),
    "decision-trees-lm": Session(2.0, "decision trees and boosting, finite automata, language models"),
    "bio-circuit": Session(1.5, "backpropagation, weight decay; no neuroscience needed"),
    "system-identification": Session(1.5, "ridge regression, cross-validation, convolutional networks"),
}

COURSES = {
    "four weeks, two sessions a week": [
        ("Week 1: implicit bias", ["sgd-vs-gd", "canonical-representation"]),
        ("Week 2: generalization", ["low-rank-bounds", "sparse-norm-bounds"]),
        ("Week 3: architectures", ["compositional-sparsity", "hyperbf-transformer"]),
        ("Week 4: brains", ["bio-circuit", "system-identification"]),
    ],
    "twelve weeks, one chapter a week": [
        ("Weeks 1-2: optimization and implicit bias", ["sgd-vs-gd", "canonical-representation"]),
        ("Weeks 3-4: generalization", ["low-rank-bounds", "sparse-norm-bounds"]),
        ("Weeks 5-8: architectures and compositionality",
         ["compositional-sparsity", "agop-hyperbf", "hyperbf-transformer", "decision-trees-lm"]),
        ("Weeks 9-10: brains", ["bio-circuit", "system-identification"]),
        ("Weeks 11-12: a project: one chapter's full profile on a GPU, a claim tested at a new "
         "seed or scale, and a written report", []),
    ],
}


def objectives(source: str) -> list[str]:
    """The learning objectives of a chapter: the items of the "You will" list in its overview, each
    as one line of MyST Markdown."""
    match = re.search(r"You\s+will\s*\n\n((?:- .*\n(?:  .*\n)*)+)", source)
    if match is None:
        return []
    items = re.split(r"\n(?=- )", match.group(1).strip())
    return [" ".join(line.strip() for line in item[2:].splitlines()).rstrip(";.") for item in items]


def chapter_markdown(slug: str) -> str:
    """One chapter's syllabus entry in MyST Markdown: a link, time, prerequisites and objectives."""
    session = SESSIONS[slug]
    items = objectives(chapters.source(slug).read_text())
    lines = [f"**{{doc}}`{slug}`** (about {session.hours:g} hours). *Prerequisites:* "
             f"{session.prerequisites}.", "", "Objectives:", ""]
    return "\n".join(lines + [f"- {item}" for item in items] + [""])


def courses_markdown() -> str:
    """The suggested courses in MyST Markdown, over the chapters that are written."""
    written = set(chapters.available())
    out = []
    for course, weeks in COURSES.items():
        out += [f"**A course of {course}.**", ""]
        for title, slugs in weeks:
            links = ", ".join(f"{{doc}}`{s}`" for s in slugs if s in written)
            out.append(f"- {title}" + (f": {links}" if links else ""))
        out.append("")
    return "\n".join(out)
