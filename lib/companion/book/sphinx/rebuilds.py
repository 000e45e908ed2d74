"""Which pages Sphinx reads again: those with run tables whenever anything changed, and chapters whose
committed envelopes changed."""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from companion.book.sphinx.records import envelope_files

DYNAMIC_PAGES = ("book/claims", "book/reproducing")


def on_env_get_outdated(app: Sphinx, env: Any, added: set, changed: set, removed: set) -> list[str]:
    """Re-read the pages with run tables whenever anything else is rebuilt (a chapter may have re-run), and
    the chapters whose set of committed envelopes changed (a changed envelope is a noted dependency)."""
    envelopes = getattr(env, "companion_envelopes", {})
    new = [doc for doc, files in envelopes.items()
           if doc in env.found_docs and tuple(envelope_files(doc.removeprefix("book/"))) != files]
    if not (added or changed or removed or new):
        return []
    return [page for page in DYNAMIC_PAGES if page in env.found_docs] + new


def on_env_before_read_docs(app: Sphinx, env: Any, docnames: list[str]) -> None:
    if not hasattr(env, "companion_envelopes"):
        env.companion_envelopes = {}


def on_env_purge_doc(app: Sphinx, env: Any, docname: str) -> None:
    getattr(env, "companion_envelopes", {}).pop(docname, None)


def on_env_merge_info(app: Sphinx, env: Any, docnames: set, other: Any) -> None:
    env.companion_envelopes.update({d: other.companion_envelopes[d] for d in docnames
                                    if d in getattr(other, "companion_envelopes", {})})
