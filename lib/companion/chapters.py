"""The book's chapters: which papers they cover, and which are written (a MyST notebook in `book/`)."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.paths import project_root
from companion.runtime import ConfigError


@dataclass(frozen=True)
class Chapter:
    """One paper of the book: its slug (file name), short title and number in the list of abstracts."""

    slug: str
    title: str
    abstract: int


PLANNED = (
    Chapter("sgd-vs-gd", "SGD vs GD: high noise and low rank", 7),
    Chapter("canonical-representation", "The Canonical Representation Hypothesis", 3),
    Chapter("low-rank-bounds", "Generalization bounds for networks with low-rank layers", 1),
    Chapter("sparse-norm-bounds", "Norm-based bounds for sparse and convolutional networks", 8),
    Chapter("compositional-sparsity", "Compositional sparsity", 6),
    Chapter("agop-hyperbf", "AGOP vs gradient descent in HyperBF networks", 5),
    Chapter("hyperbf-transformer", "A homogeneous transformer of HyperBF units", 9),
    Chapter("decision-trees-lm", "Auto-regressive decision trees for language modeling", 4),
    Chapter("bio-circuit", "Self-assembly of a biologically plausible learning circuit", 2),
    Chapter("system-identification", "System identification of neural systems", 10),
)


def book_dir() -> Path:
    """The folder of the chapter sources: `$COMPANION_BOOK_DIR` when set (a copy of the sources, or the tests'
    small chapters, which child processes such as a sweep's jobs must find too), else the checkout's `book/`."""
    override = os.environ.get("COMPANION_BOOK_DIR")
    if override:
        return Path(override)
    root = project_root()
    if root is None:
        raise ConfigError("the book's sources are not here: run this from a checkout of the book (with _toc.yml)")
    return root / "book"


def is_notebook(path: Path) -> bool:
    """True when a Markdown file is a jupytext MyST notebook (it has a kernelspec in its front matter)."""
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "format_name: myst" in head and "kernelspec:" in head


def available() -> list[str]:
    """Slugs of the chapters that exist, in the book's order."""
    written = {p.stem for p in book_dir().glob("*.md") if is_notebook(p)}
    return [c.slug for c in PLANNED if c.slug in written]


def source(slug: str) -> Path:
    """The MyST source of a written chapter; an unknown or unwritten one is a ConfigError listing the valid ones."""
    names = available()
    if slug not in names:
        planned = {c.slug for c in PLANNED}
        why = "is planned but not written yet" if slug in planned else "is not a chapter of this book"
        raise ConfigError(f"chapter {slug!r} {why}; available chapters: {', '.join(names) or 'none'}")
    return book_dir() / f"{slug}.md"


def settings(slug: str, name: str, **names: Any) -> Any:
    """The value a chapter's code assigns to `name` at top level (a settings table such as `SETTINGS` or
    `DEEP`), evaluated on its own with `names` (and `dict`) in scope: library code that repeats a chapter's
    experiment reads its settings from the chapter, so the two cannot drift apart."""
    import jupytext

    for cell in jupytext.read(source(slug), fmt="myst").cells:
        if cell.cell_type != "code" or name not in cell.source:
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:  # a cell with IPython magics, which assigns no settings
            continue
        for node in body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                return eval(compile(ast.Expression(node.value), f"{slug}:{name}", "eval"), {"dict": dict, **names})
    raise ConfigError(f"chapter {slug!r} assigns no {name!r} at the top level of a code cell")
