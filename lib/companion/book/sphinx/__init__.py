"""The book's Sphinx extension (`companion.book.sphinx` in `_config.yml`): directives that render the
record of runs and the teacher's syllabus, and the hooks that finish every page.

- `abstracts`: each abstract's main claims against the chapter's checks, and the counts over the book;
- `tables`: the claims table and each chapter's badge, committed full runs, timings, throughput, and how
  the reference notebooks are compared;
- `envelopes`: a chapter's claims and key curves over seeds;
- `courses`: the syllabus directives;
- `pages`: provenance notes under figures, run links and downloadable notebooks, no repeated scripts;
- `rebuilds`: which pages are read again when results change;
- `records`: the result files they all read, and the table node they build.

The tables of runs are filled in when pages are written, after every chapter has executed (and so after each
has recorded its claims); the syllabus is read from the chapters' sources and the registry when its page is
read.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

from companion.book.sphinx import abstracts
from companion.book.sphinx.courses import SyllabusChapters, SyllabusCourses
from companion.book.sphinx.envelopes import ClaimsEnvelope, envelope_node, envelope_table
from companion.book.sphinx.pages import provenance_notes, run_links, unique_scripts, write_notebooks
from companion.book.sphinx.rebuilds import (
    on_env_before_read_docs,
    on_env_get_outdated,
    on_env_merge_info,
    on_env_purge_doc,
)
from companion.book.sphinx.tables import (
    BenchTable,
    ClaimsTable,
    ComparisonTable,
    FullRunsTable,
    ThroughputTable,
    bench_node,
    bench_table,
    claims_badge,
    claims_table,
    claims_table_node,
    full_runs_node,
    full_runs_table,
    throughput_node,
    throughput_table,
)
from companion.core import chapters
from companion.core.paths import committed_results_root


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    slug = docname.removeprefix("book/")
    if slug in {c.slug for c in chapters.planned()} and docname.startswith("book/"):
        badge = claims_badge(doctree, slug)
        if badge is not None and app.config.companion_notebooks:
            badge.parent.insert(badge.parent.index(badge) + 1, run_links(app, slug))
    abstracts.fill(app, doctree)
    for node in list(doctree.findall(claims_table_node)):
        node.replace_self(claims_table(app, docname))
    for node in list(doctree.findall(envelope_node)):
        node.replace_self(envelope_table(node["slug"]))
    for node in list(doctree.findall(full_runs_node)):
        node.replace_self(full_runs_table(app, docname))
    for node in list(doctree.findall(bench_node)):
        node.replace_self(bench_table(committed_results_root() / "bench" / "quick.json"))
    for node in list(doctree.findall(throughput_node)):
        node.replace_self(throughput_table(committed_results_root() / "bench" / "throughput"))


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    provenance_notes(doctree)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(claims_table_node)
    app.add_node(full_runs_node)
    app.add_directive("claims-table", ClaimsTable)
    app.add_directive("full-runs-table", FullRunsTable)
    app.add_directive("bench-table", BenchTable)
    app.add_directive("comparison-table", ComparisonTable)
    app.add_node(bench_node)
    app.add_directive("throughput-table", ThroughputTable)
    app.add_node(throughput_node)
    app.add_directive("claims-envelope", ClaimsEnvelope)
    app.add_node(envelope_node)
    app.add_directive("abstract-claims", abstracts.AbstractClaims)
    app.add_node(abstracts.abstract_claims_node)
    app.add_directive("abstract-counts", abstracts.AbstractCounts)
    app.add_node(abstracts.abstract_counts_node)
    app.add_directive("syllabus-chapters", SyllabusChapters)
    app.add_directive("syllabus-courses", SyllabusCourses)
    app.add_config_value("companion_repository", "", "html", [str])
    app.add_config_value("companion_pages_branch", "gh-pages", "html", [str])
    app.add_config_value("companion_notebooks", True, "html", [bool])
    app.connect("doctree-read", on_doctree_read)
    app.connect("build-finished", write_notebooks)
    app.connect("html-page-context", unique_scripts)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("env-before-read-docs", on_env_before_read_docs)
    app.connect("env-purge-doc", on_env_purge_doc)
    app.connect("env-merge-info", on_env_merge_info)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
