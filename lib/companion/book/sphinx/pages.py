"""What every page gets: provenance notes under figures, a chapter's run links and downloadable notebook,
and no repeated inline scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from companion.book import notebooks
from companion.core import chapters
from companion.core.provenance import SEP, split_output
from companion.core.results import git_commit

logger = logging.getLogger(__name__)


def run_links(app: Sphinx, slug: str) -> nodes.paragraph:
    """'Run it yourself': the chapter's executed notebook to download, and Colab when the repository is known."""
    para = nodes.paragraph(classes=["run-links"])
    para += nodes.Text("Run this chapter yourself: ")
    para += nodes.reference("", "download the notebook (.ipynb)", refuri=f"../notebooks/{slug}.ipynb")
    url = notebooks.colab_url(app.config.companion_repository, app.config.companion_pages_branch, slug)
    if url:
        para += nodes.Text(" · ")
        para += nodes.reference("", "open it in Colab", refuri=url)
    para += nodes.Text(", or in a checkout: ")
    para += nodes.literal("", f"make chapter NAME={slug}")
    return para


def provenance_notes(doctree: nodes.document) -> None:
    """Turn the printed provenance lines (`provenance.provenance_line`) in cell outputs into small notes:
    the legend of the figure the output follows when there is one, else paragraphs under the figures.
    Other lines printed by the same cell stay where they were."""
    for block in list(doctree.findall(nodes.literal_block)):
        if "output" not in block["classes"]:
            continue
        other, found = split_output(block.astext())
        if not found:
            continue
        notes = []
        for fields, command in found:
            note = nodes.paragraph(classes=["figure-provenance"])
            note += nodes.strong("", "Provenance: ")
            note += nodes.Text(SEP.join(fields) + ". Regenerate: ")
            note += nodes.literal("", command)
            notes.append(note)
        parent = block.parent
        index = parent.index(block)
        previous = parent[index - 1] if index > 0 else None
        if other:
            kept = block.deepcopy()
            kept.children = [nodes.Text(other)]
            kept.rawsource = other
            parent.insert(index, kept)
            index += 1
        parent.remove(block)
        if isinstance(previous, nodes.figure) and not any(isinstance(c, nodes.legend) for c in previous.children):
            previous += nodes.legend("", *notes)
        else:
            for offset, note in enumerate(notes):
                parent.insert(index + offset, note)


def write_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """After a successful HTML build, write each executed chapter as a downloadable notebook: the
    chapter as myst-nb read it, with the outputs of its execution merged in from jupyter-cache."""
    if exception is not None or app.builder.format != "html" or not app.config.companion_notebooks:
        return
    if app.env.mystnb_config.execution_mode != "cache":  # the outputs are in jupyter-cache only in this mode
        logger.info("chapter notebooks are written only when execute_notebooks is 'cache'")
        return
    from jupyter_cache import get_cache

    cache = get_cache(app.env.mystnb_config.execution_cache_path)
    commit = git_commit(length=40)  # the install cell pins the library to the commit the book was built from
    commit = None if commit == "unknown" or commit.endswith("-dirty") else commit
    read = Path(app.outdir).parent / "jupyter_execute" / "book"
    for slug in chapters.available():
        try:
            _, executed = cache.merge_match_into_notebook(nbformat.read(read / f"{slug}.ipynb", as_version=4))
        except (OSError, KeyError):
            logger.warning(f"no executed notebook for {slug}: its download link is broken")
            continue
        notebooks.downloadable(executed, Path(app.outdir) / "notebooks" / f"{slug}.ipynb",
                               app.config.companion_repository, commit)


def unique_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Drop repeated inline scripts: Jupyter Book adds sphinx-thebe's and sphinx-togglebutton's set-up
    twice (once with no file name, once with an empty one), and the second `const THEBE_JS_URL` is a
    JavaScript error on every page."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or None, tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    if "script_files" in context:
        context["script_files"] = unique
