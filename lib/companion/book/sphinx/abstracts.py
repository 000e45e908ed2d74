"""The abstracts' main claims against the chapters' checks: a table in each chapter (which of its claims
test each main claim of the abstract, of which kind, with what outcome) and the counts that open the
Claims page. The map is the registry's `abstract_claims`; kinds and outcomes come from the runs' records,
so both are filled in when the page is written."""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from companion.book.sphinx.records import read_json, recorded_claims, table
from companion.core import chapters
from companion.core.envelope import envelope_path
from companion.core.paths import committed_results_root

# An empirical claim "holds over seeds" when it held at this share of the committed quick seeds or more.
OVER_SEEDS = 0.9


class abstract_claims_node(nodes.General, nodes.Element):
    """Placeholder replaced by a chapter's table of its abstract's main claims."""


class abstract_counts_node(nodes.General, nodes.Element):
    """Placeholder replaced by the counts of main claims tested and holding, over the book."""


class AbstractClaims(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(chapters.registry_path()))
        return [abstract_claims_node(slug=self.env.docname.removeprefix("book/"))]


class AbstractCounts(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(chapters.registry_path()))
        return [abstract_counts_node()]


def _empirical(claim: chapters.AbstractClaim, records: dict[str, dict]) -> list[str]:
    """The ids of the chapter's empirical claims that test `claim` (by the kinds its run recorded)."""
    return [cid for cid in claim.tested_by if (records.get(cid) or {}).get("kind") == "empirical"]


def _over_seeds(ids: list[str], envelope: dict | None) -> bool | None:
    """Whether every claim in `ids` held at OVER_SEEDS of the envelope's seeds; None without an envelope."""
    if not envelope:
        return None
    by_id = {c["id"]: c for c in envelope["claims"]}
    return all(cid in by_id and by_id[cid]["n"] and by_id[cid]["holds"] >= OVER_SEEDS * by_id[cid]["n"]
               for cid in ids)


def abstract_table(slug: str) -> list[nodes.Node]:
    """One row per main claim of the chapter's abstract: the claims testing it with kind and outcome, or
    why it is not tested here."""
    entry = chapters.chapter(slug)
    if not entry.abstract_claims:
        return [nodes.paragraph(text="This chapter's claims are not yet mapped to its abstract's main claims.")]
    records = recorded_claims(slug, "quick")
    rows = []
    for claim in entry.abstract_claims:
        text = claim.claim + (" (this chapter's reading)" if claim.inference else "")
        if claim.not_tested:
            rows.append([text, f"not tested here: {claim.not_tested}"])
            continue
        checks = []
        for cid in claim.tested_by:
            rec = records.get(cid)
            kind = (rec or {}).get("kind") or "kind not given"
            verdict = "pending" if rec is None else ("PASS" if rec["passed"] else "FAIL")
            checks.append(f"{cid} ({kind}): {verdict}")
        rows.append([text, "; ".join(checks)])
    return [table(["main claim of the abstract", "checked by (kind): outcome at quick, seed 0"], rows, [45, 55])]


def abstract_counts() -> list[nodes.Node]:
    """Per chapter and in all: the abstract's main claims, how many an empirical claim tests, and how many of
    those hold at quick (seed 0), over the committed quick seeds, and at full."""
    rows, totals, any_full = [], [0, 0, 0, 0, 0], False
    for entry in chapters.planned():
        if entry.slug not in chapters.available():
            continue
        if not entry.abstract_claims:
            rows.append([entry.slug, "not mapped yet", "", "", "", ""])
            continue
        quick, full = recorded_claims(entry.slug, "quick"), recorded_claims(entry.slug, "full")
        envelope = read_json(envelope_path(entry.slug, "quick", committed_results_root()))
        tested = [ids for c in entry.abstract_claims if (ids := _empirical(c, quick))]
        at_quick = sum(all(quick[cid]["passed"] for cid in ids) for ids in tested)
        seeds = [_over_seeds(ids, envelope) for ids in tested]
        at_full = sum(all(cid in full and full[cid]["passed"] for cid in ids) for ids in tested) if full else None
        any_full = any_full or at_full is not None
        counts = [len(entry.abstract_claims), len(tested), at_quick, sum(s is True for s in seeds), at_full or 0]
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        rows.append([entry.slug, *map(str, counts[:3]), "–" if envelope is None else str(counts[3]),
                     "pending" if at_full is None else str(at_full)])
    rows.append(["all mapped chapters", *map(str, totals[:4]), str(totals[4]) if any_full else "pending"])
    intro = nodes.paragraph(text=(
        "The papers' abstracts, claim by claim: how many main claims each chapter tests with an empirical "
        f"claim (one that could have failed on the data), and how many of those hold at the quick profile (seed "
        f"0), over seeds (every empirical claim testing it held at {OVER_SEEDS:.0%} or more of the committed "
        "quick seeds) and at the full profile. A main claim tested only by identities is shown, not tested."))
    header = ["chapter", "main claims", "tested empirically", "hold at quick", "hold over seeds", "hold at full"]
    return [intro, table(header, rows, [24, 12, 14, 12, 14, 12])]


def fill(app: Sphinx, doctree: nodes.document) -> None:
    """Replace this page's placeholders."""
    for node in list(doctree.findall(abstract_claims_node)):
        node.replace_self(abstract_table(node["slug"]))
    for node in list(doctree.findall(abstract_counts_node)):
        node.replace_self(abstract_counts())
