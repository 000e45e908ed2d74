"""The abstracts' main claims against the chapters' checks: each chapter's table and the Claims page's counts."""

import json

import pytest

from companion.book.sphinx import abstracts
from companion.core import chapters
from companion.core.chapters import AbstractClaim, Chapter

MAPPED = Chapter("one", "One", 1, abstract_claims=(
    AbstractClaim("an effect", tested_by=("measured-effect", "exact-fact")),
    AbstractClaim("a fact", tested_by=("exact-fact",)),
    AbstractClaim("a claim we skip", not_tested="no data for it", inference=True),
))


@pytest.fixture
def book(tmp_path, monkeypatch):
    """One mapped chapter and one not mapped, with quick claims recorded at seed 0 and an envelope."""
    monkeypatch.setattr(chapters, "planned", lambda: (MAPPED, Chapter("two", "Two", 2)))
    monkeypatch.setattr(chapters, "available", lambda: ["one", "two"])
    monkeypatch.setattr(chapters, "registry_path", lambda: tmp_path / "chapters.yml")
    records = {"measured-effect": {"id": "measured-effect", "kind": "empirical", "passed": True},
               "exact-fact": {"id": "exact-fact", "kind": "identity", "passed": True}}
    monkeypatch.setattr(abstracts, "recorded_claims", lambda slug, profile: records if profile == "quick" else {})
    envelope = {"claims": [{"id": "measured-effect", "holds": 8, "n": 10}, {"id": "exact-fact", "holds": 10, "n": 10}]}
    path = tmp_path / "envelope.json"
    path.write_text(json.dumps(envelope))
    monkeypatch.setattr(abstracts, "envelope_path", lambda slug, profile, root: path)
    return envelope, path


def test_a_chapters_table_gives_each_main_claim_its_checks_with_kind_and_outcome(book):
    (table,) = abstracts.abstract_table("one")
    text = table.astext()
    assert "measured-effect (empirical): PASS; exact-fact (identity): PASS" in text
    assert "a claim we skip (this chapter's reading)" in text and "not tested here: no data for it" in text


def test_counts_test_a_main_claim_only_with_an_empirical_claim_and_hold_it_to_nine_seeds_in_ten(book):
    envelope, path = book
    intro, table = abstracts.abstract_counts()
    rows = [[entry.astext() for entry in row.children] for row in table.findall(lambda n: n.tagname == "row")]
    # three main claims; only "an effect" has an empirical check; it held at seed 0 but at 8 of 10 seeds
    assert rows[1] == ["one", "3", "1", "1", "0", "pending"]
    assert rows[2][:2] == ["two", "not mapped yet"]
    envelope["claims"][0]["holds"] = 9
    path.write_text(json.dumps(envelope))
    _, table = abstracts.abstract_counts()
    rows = [[entry.astext() for entry in row.children] for row in table.findall(lambda n: n.tagname == "row")]
    assert rows[1][4] == "1" and rows[-1] == ["all mapped chapters", "3", "1", "1", "1", "pending"]
