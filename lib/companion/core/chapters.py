"""The book's chapters: the registry (`book/chapters.yml`: which papers, in which order and parts, for how long
in class), and which are written (a MyST notebook in `book/`)."""

from __future__ import annotations

import ast
import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from companion.core.paths import project_root
from companion.errors import ConfigError

REGISTRY = "chapters.yml"  # in the book's sources: the one place a chapter is registered


@dataclass(frozen=True)
class AbstractClaim:
    """A main claim of the paper's abstract, and the chapter's claims that test it (their ids), or why none
    does. `inference`: the chapter's own reading of the abstract, not the paper's words."""

    claim: str
    tested_by: tuple[str, ...] = ()
    not_tested: str | None = None
    inference: bool = False

    def __post_init__(self) -> None:
        if bool(self.tested_by) == bool(self.not_tested):
            raise ValueError(f"abstract claim {self.claim!r}: give either tested_by (claim ids) or not_tested (why)")


@dataclass(frozen=True)
class Chapter:
    """One paper of the book, as `book/chapters.yml` registers it (that file's header says what each field is)."""

    slug: str
    title: str
    abstract: int
    paper: str | None = None
    part: str = ""
    hours: float = 0.0
    prerequisites: str = ""
    key_figures: tuple[str, ...] = ()
    abstract_claims: tuple[AbstractClaim, ...] = ()


@dataclass(frozen=True)
class Week:
    """One row of a suggested course: its label ("Week 1"), topic and chapters (none for a project week)."""

    label: str
    topic: str
    chapters: tuple[str, ...]


def _checkout_book(what: str) -> Path:
    """The checkout's `book/` folder; outside a checkout, a ConfigError saying that `what` needs one."""
    root = project_root()
    if root is None:
        raise ConfigError(f"{what} in a checkout of the book (with _toc.yml); none is here")
    return root / "book"


def registry_path() -> Path:
    """The registry file, `book/chapters.yml` in the checkout (pages built from it depend on it)."""
    return _checkout_book(f"the chapter registry is book/{REGISTRY},") / REGISTRY


def _chapter(entry: dict[str, Any]) -> Chapter:
    """One registry entry, its lists as tuples."""
    claims = tuple(AbstractClaim(**{**c, "tested_by": tuple(c.get("tested_by", ()))})
                   for c in entry.get("abstract_claims", ()))
    return Chapter(**{**entry, "key_figures": tuple(entry.get("key_figures", ())), "abstract_claims": claims})


@functools.cache
def _registry() -> tuple[tuple[Chapter, ...], dict[str, tuple[Week, ...]]]:
    path = registry_path()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        entries = tuple(_chapter(entry) for entry in data["chapters"])
        courses = {name: tuple(Week(label, topic, tuple(slugs)) for label, topic, slugs in weeks)
                   for name, weeks in data.get("courses", {}).items()}
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"{path}: {type(err).__name__}: {err}") from None
    slugs = [c.slug for c in entries]
    unknown = {s for weeks in courses.values() for week in weeks for s in week.chapters} - set(slugs)
    if len(set(slugs)) != len(slugs) or unknown:
        raise ConfigError(f"{path}: chapters listed twice, or courses naming unregistered chapters {sorted(unknown)}")
    return entries, courses


def planned() -> tuple[Chapter, ...]:
    """Every chapter the registry (`book/chapters.yml`) lists, in the book's order, written or not."""
    return _registry()[0]


def chapter(slug: str) -> Chapter:
    """The registry's entry for `slug`; an unregistered slug is a ConfigError."""
    for entry in planned():
        if entry.slug == slug:
            return entry
    raise ConfigError(f"{slug!r} is not a chapter of this book (book/{REGISTRY} lists them)")


def courses() -> dict[str, tuple[Week, ...]]:
    """The suggested courses through the book, by name."""
    return _registry()[1]


def book_dir() -> Path:
    """The folder of the chapter sources: `$COMPANION_BOOK_DIR` when set (a copy of the sources, or the tests'
    small chapters, which child processes such as a sweep's jobs must find too), else the checkout's `book/`."""
    override = os.environ.get("COMPANION_BOOK_DIR")
    return Path(override) if override else _checkout_book("the book's sources are")


def is_notebook(path: Path) -> bool:
    """True when a Markdown file is a jupytext MyST notebook (it has a kernelspec in its front matter)."""
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "format_name: myst" in head and "kernelspec:" in head


def available() -> list[str]:
    """Slugs of the chapters that exist, in the book's order."""
    written = {p.stem for p in book_dir().glob("*.md") if is_notebook(p)}
    return [c.slug for c in planned() if c.slug in written]


def source(slug: str) -> Path:
    """The MyST source of a written chapter; an unknown or unwritten one is a ConfigError listing the valid ones."""
    names = available()
    if slug not in names:
        registered = {c.slug for c in planned()}
        why = "is planned but not written yet" if slug in registered else "is not a chapter of this book"
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


def main(argv: list[str] | None = None) -> int:
    """`python -m companion chapters`: the written chapters' slugs, one per line (the names commands take)."""
    if argv:
        print("usage: python -m companion chapters", file=sys.stderr)
        return 2
    print("\n".join(available()))
    return 0
