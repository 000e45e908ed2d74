"""The teacher's view of the book: each chapter's learning objectives, prerequisites and time, and
suggested courses through it.

The objectives are not written twice: they are the "You will" list of each chapter's overview,
read from its source, so the syllabus cannot drift from the chapters. Hours, prerequisites and the
courses are in the chapter registry, `book/chapters.yml`.
"""

from __future__ import annotations

import re

from companion.core import chapters


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
    entry = chapters.chapter(slug)
    items = objectives(chapters.source(slug).read_text())
    lines = [f"**{{doc}}`{slug}`** (about {entry.hours:g} hours). *Prerequisites:* "
             f"{entry.prerequisites}.", "", "Objectives:", ""]
    return "\n".join(lines + [f"- {item}" for item in items] + [""])


def courses_markdown() -> str:
    """The suggested courses in MyST Markdown, over the chapters that are written."""
    written = set(chapters.available())
    out = []
    for course, weeks in chapters.courses().items():
        out += [f"**A course of {course}.**", ""]
        for week in weeks:
            links = ", ".join(f"{{doc}}`{s}`" for s in week.chapters if s in written)
            out.append(f"- {week.label}: {week.topic}" + (f": {links}" if links else ""))
        out.append("")
    return "\n".join(out)
