"""The envelope in the book: each chapter's "Over seeds" section and the Claims page's seed counts."""

import json
import re
from pathlib import Path

import pytest

from companion.book.sphinx import envelopes, records
from companion.core import chapters, envelope
from companion.core.paths import committed_results_root

HTML = Path(__file__).resolve().parents[2] / "_build" / "html"
built = pytest.mark.skipif(not (HTML / "index.html").exists(), reason="book not built: run `make book`")


def write_envelope(root: Path, slug: str, sd: float | None = 0.2) -> None:
    """An envelope of one claim (>= 0.5) measured 0.6, 0.4 and 0.8 at seeds 0, 1 and 2."""
    claim = {"id": "a-claim", "statement": "s", "where": "w", "op": ">=", "threshold": 0.5, "seeds": [0, 1, 2],
             "measured": [0.6, 0.4, 0.8], "passed": [True, False, True], "holds": 2, "n": 3, "mean": 0.6,
             "sd": sd, "min": 0.4, "max": 0.8}
    sweep = {"launcher": "local", "jobs": 2, "ran": 3, "chapters": [slug], "wall_time_s": 120.0,
             "machine": {"processor": "a CPU", "cores": 2}}
    path = envelope.envelope_path(slug, "quick", root)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"chapter": slug, "profile": "quick", "seeds": [0, 1, 2], "failed": [],
                                "claims": [claim], "runs": {"0": {"device": "cpu (2 cores)"}},
                                "commits": ["abc123"], "sweeps": [sweep], "date": "2026-12-02T00:00:00Z"}))


def test_a_chapter_without_a_sweep_says_how_to_run_one(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "committed_results_root", lambda: tmp_path)
    (para,) = envelopes.envelope_table("sgd-vs-gd")
    assert "No seed sweep is committed" in para.astext()
    assert "--seeds 0-4 --jobs 2 --chapters sgd-vs-gd" in para.astext()


def test_a_committed_sweep_shows_how_often_each_claim_held_and_where_it_came_from(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "committed_results_root", lambda: tmp_path)
    write_envelope(tmp_path, "sgd-vs-gd")
    why, intro, summary, table = envelopes.envelope_table("sgd-vs-gd")
    assert summary.astext() == ("At the quick profile, 0 of 1 claims held at every seed; a-claim held at 2 of 3 "
                                "seeds (measured 0.4 to 0.8, threshold >= 0.5).")
    assert "how often" in why.astext()
    assert "seeds 0–2 (3 runs)" in intro.astext() and "abc123" in intro.astext()
    assert "3 jobs of 1 chapter(s) in 2 min (local launcher, 2 at a time on 2 cores (a CPU))" in intro.astext()
    text = table.astext()
    assert "2 of 3" in text and "0.6 ± 0.2 [0.4, 0.8]" in text


def test_a_claim_without_a_spread_shows_a_dash_for_it(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "committed_results_root", lambda: tmp_path)
    write_envelope(tmp_path, "sgd-vs-gd", sd=None)  # as aggregate_claims writes it for one finite value
    assert "0.6 ± – [0.4, 0.8]" in envelopes.envelope_table("sgd-vs-gd")[-1].astext()


@built
@pytest.mark.parametrize("slug", chapters.available())
def test_chapter_page_shows_its_claims_over_seeds(slug):
    page = (HTML / "book" / f"{slug}.html").read_text()
    assert "Over seeds" in page
    committed = envelope.load(slug, "quick", committed_results_root())
    if committed is None:
        assert "No seed sweep is committed" in page
        return
    for claim in committed["claims"]:
        assert f"{claim['holds']} of {claim['n']}" in page
    assert re.search(r'<img[^>]*src="[^"]*envelope\d*\.png"', page), "no band figure"


@built
def test_claims_page_counts_the_seeds_where_each_claim_held():
    page = (HTML / "book" / "claims.html").read_text()
    assert "holds in seeds" in page
    for slug in chapters.available():
        committed = envelope.load(slug, "quick", committed_results_root())
        for claim in (committed or {}).get("claims", []):
            assert f"quick {claim['holds']} of {claim['n']}" in page


@built
def test_claims_page_opens_with_the_abstracts_counts_and_mapped_chapters_show_their_map():
    page = (HTML / "book" / "claims.html").read_text()
    assert page.index("tested empirically") < page.index("holds in seeds")  # the counts come first
    assert "all mapped chapters" in page
    for entry in chapters.planned():
        if entry.abstract_claims:
            chapter = (HTML / "book" / f"{entry.slug}.html").read_text()
            assert "main claim of the abstract" in chapter
            assert all(claim.claim.split()[-1] in chapter for claim in entry.abstract_claims)
