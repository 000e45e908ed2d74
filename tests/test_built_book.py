"""The built HTML book (after `make book`): figures present with alt text, claims rendered."""

import re
from pathlib import Path

import pytest

from companion import chapters

HTML = Path(__file__).resolve().parents[1] / "_build" / "html"
pytestmark = pytest.mark.skipif(not (HTML / "index.html").exists(), reason="book not built: run `make book`")


@pytest.mark.parametrize("slug", chapters.available())
def test_chapter_page_shows_its_figures_each_with_alt_text(slug):
    page = (HTML / "book" / f"{slug}.html").read_text()
    images = re.findall(r"<img[^>]*>", page)
    assert len(images) >= 3, "no figures: was MPLBACKEND=Agg inherited by the kernel?"
    for img in images:
        alt = re.search(r'alt="([^"]*)"', img)
        assert alt and alt.group(1).strip(), f"figure without alt text: {img[:120]}"


@pytest.mark.parametrize("slug", chapters.available())
def test_chapter_page_pastes_claim_outcomes_into_the_prose(slug):
    page = (HTML / "book" / f"{slug}.html").read_text()
    assert re.search(r"\d+ of \d+</p>|\d+ of \d+\s*claims pass", page)
    assert "PASS" in page or "FAIL" in page


def test_claims_page_lists_every_written_chapter_with_quick_outcomes():
    page = (HTML / "book" / "claims.html").read_text()
    for slug in chapters.available():
        assert f'href="{slug}.html#{slug}-claims"' in page  # each claim links to where it is checked
    assert re.search(r"(PASS|FAIL) \(", page)


def test_reproducing_page_lists_committed_full_runs_or_says_they_are_pending():
    page = (HTML / "book" / "reproducing.html").read_text()
    committed = sorted((HTML.parents[1] / "results" / "full").glob("*/seed-0/provenance.json"))
    if committed:
        for path in committed:
            assert path.parts[-3] in page
    else:
        assert "No full-profile run is committed yet" in page


@pytest.mark.parametrize("slug", chapters.available())
def test_chapter_page_has_a_claims_badge_linked_to_its_claims_section(slug):
    page = (HTML / "book" / f"{slug}.html").read_text()
    badge = re.search(r'<p class="claims-badge"><a[^>]*href="#([^"]+)"[^>]*>([^<]*)</a>', page)
    assert badge, "no claims badge under the title"
    assert badge.group(1) == f"{slug}-claims" and f'id="{slug}-claims"' in page
    assert re.fullmatch(r"Claims: quick profile \d+ of \d+ pass; full profile (pending|\d+ of \d+ pass)",
                        badge.group(2))
