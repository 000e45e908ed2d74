"""The student edition: the same book with every exercise's solution left out.

`python -m companion student CONFIG SOURCES` writes CONFIG, a copy of the book's `_config.yml` that
turns on sphinx-exercise's `hide_solutions`, removes what would give the solutions away by another
door (the notebook download button, the chapters' notebooks and the copied page sources) and puts a
banner on every page, and writes into SOURCES every chapter's MyST notebook without its solution blocks, to hand out.
`make student` builds the book with that configuration into `_build/student/`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from companion.core import chapters
from companion.core.paths import project_root

BANNER = "Student edition: the exercises are here, their solutions are not."


def student_config(config: dict[str, Any]) -> dict[str, Any]:
    """The student edition's configuration, from the book's (which is left unchanged)."""
    out = yaml.safe_load(yaml.safe_dump(config))  # a deep copy
    out["title"] = f"{config.get('title', 'The book')} (student edition)"
    out.setdefault("html", {})["announcement"] = BANNER
    sphinx = out.setdefault("sphinx", {})
    sphinx["recursive_update"] = True  # merge the options below into the theme's, not replace them
    sphinx.setdefault("config", {}).update(
        hide_solutions=True, html_copy_source=False, html_show_sourcelink=False, companion_notebooks=False,
        html_theme_options={"use_download_button": False})
    return out


def without_solutions(source: str) -> str:
    """A chapter's MyST source with every `:::{solution}` block (up to its closing `:::`) removed."""
    return re.sub(r"^:::\{solution\}.*?^:::[ \t]*\n\n?", "", source, flags=re.MULTILINE | re.DOTALL)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m companion student CONFIG.yml SOURCES_DIR", file=sys.stderr)
        return 2
    root = project_root()
    if root is None:
        print("error: run this from a checkout of the book (with _toc.yml)", file=sys.stderr)
        return 2
    config = yaml.safe_load((root / "_config.yml").read_text())
    out = Path(args[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(student_config(config), sort_keys=False))
    sources = Path(args[1])
    sources.mkdir(parents=True, exist_ok=True)
    for slug in chapters.available():
        (sources / f"{slug}.md").write_text(without_solutions(chapters.source(slug).read_text()))
    return 0

