"""The syllabus directives: each chapter's time, prerequisites and objectives, and the suggested courses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from companion.book import notebooks
from companion.core import chapters
from companion.core.claims import fmt
from companion.core.envelope import FIGURE, envelope_path, seed_spec
from companion.core.paths import committed_results_root, results_root, run_dir
from companion.core.provenance import SEP, split_output
from companion.core.results import git_commit


class SyllabusChapters(SphinxDirective):
    """Every written chapter's time, prerequisites and objectives (its "You will" list)."""

    def run(self) -> list[nodes.Node]:
        from companion.book import syllabus

        for slug in chapters.available():  # a chapter edited later re-reads this page
            self.env.note_dependency(str(chapters.source(slug)))
        text = "\n".join(syllabus.chapter_markdown(slug) for slug in chapters.available())
        return self.parse_text_to_nodes(text)


class SyllabusCourses(SphinxDirective):
    """The suggested courses through the written chapters."""

    def run(self) -> list[nodes.Node]:
        from companion.book import syllabus

        return self.parse_text_to_nodes(syllabus.courses_markdown())
