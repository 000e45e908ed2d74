"""The syllabus directives: each chapter's time, prerequisites and objectives, and the suggested courses."""

from __future__ import annotations

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from companion.book import syllabus
from companion.core import chapters


class SyllabusChapters(SphinxDirective):
    """Every written chapter's time, prerequisites and objectives (its "You will" list)."""

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(chapters.registry_path()))  # hours and prerequisites
        for slug in chapters.available():  # a chapter edited later re-reads this page
            self.env.note_dependency(str(chapters.source(slug)))
        text = "\n".join(syllabus.chapter_markdown(slug) for slug in chapters.available())
        return self.parse_text_to_nodes(text)


class SyllabusCourses(SphinxDirective):
    """The suggested courses through the written chapters."""

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(chapters.registry_path()))
        return self.parse_text_to_nodes(syllabus.courses_markdown())
