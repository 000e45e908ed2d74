"""The built HTML book (after `make book`): figures present with alt text, claims rendered."""

import re
from pathlib import Path

import pytest

from companion.core import chapters

HTML = Path(__file__).resolve().parents[2] / "_build" / "html"
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


def test_reproducing_page_says_how_each_chapter_is_compared_across_machines():
    from companion.core import printed

    page = (HTML / "book" / "reproducing.html").read_text()
    table = page[page.index("numbers and verdicts in bands"):]
    for slug in chapters.available():
        assert f"<p>{slug}</p>" in table
    assert printed.TAG in page and "ATEN_CPU_CAPABILITY" in page


@pytest.mark.parametrize("slug", chapters.available())
def test_chapter_page_has_a_claims_badge_linked_to_its_claims_section(slug):
    page = (HTML / "book" / f"{slug}.html").read_text()
    badge = re.search(r'<p class="claims-badge"><a[^>]*href="#([^"]+)"[^>]*>([^<]*)</a>', page)
    assert badge, "no claims badge under the title"
    assert badge.group(1) == f"{slug}-claims" and f'id="{slug}-claims"' in page
    assert re.fullmatch(r"Claims: quick profile \d+ of \d+ pass; full profile (pending|\d+ of \d+ pass)",
                        badge.group(2))


@pytest.mark.parametrize("slug", chapters.available())
def test_every_figure_carries_its_provenance_note(slug):
    page = (HTML / "book" / f"{slug}.html").read_text()
    figures = re.findall(r"<figure.*?</figure>", page, re.DOTALL)
    assert len(figures) >= 3
    for figure in figures:
        note = re.search(r'<p class="figure-provenance">(.*?)</p>', figure, re.DOTALL)
        assert note, f"a figure without its provenance note: {figure[:200]}"
        text = re.sub(r"<[^>]+>", "", note.group(1))
        if "envelope-figure" in figure:  # the bands over seeds, drawn from the committed sweep
            pattern = (r"quick profile · seeds [\d–, ]+ · cpu .+ · commit [0-9a-f]{12}.* · aggregated [\d-]{10} · "
                       rf"results/quick/{slug}/envelope\.png")
            assert re.search(pattern, text), text
            assert "Regenerate: make sweep SEEDS=" in text and f"CHAPTERS={slug}" in text
            continue
        pattern = (r"quick profile · seed \d+ · cpu .+ · commit ([0-9a-f]{12}(-dirty)?|unknown) · "
                   rf"drawn [\d.]+ s into the run · results/quick/{slug}/seed-\d+/figures/[\w-]+\.png")
        assert re.search(pattern, text), text
        assert f"Regenerate: make chapter NAME={slug} PROFILE=quick SEED=" in text


def test_figures_are_opaque_with_a_light_background_so_dark_mode_keeps_them_legible():
    from PIL import Image

    images = sorted((HTML / "_images").glob("*.png"))
    assert len(images) >= 30
    for path in images:
        with Image.open(path) as image:
            rgba = image.convert("RGBA")
            alpha_min = rgba.getchannel("A").getextrema()[0]
            w, h = rgba.size
            corners = [rgba.getpixel(xy)[:3] for xy in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)]]
        assert alpha_min == 255, f"{path.name} has transparent pixels: on a dark page its text would vanish"
        assert all(min(c) >= 200 for c in corners), f"{path.name} has a dark background"


@pytest.mark.parametrize("slug", chapters.available())
def test_chapter_offers_its_executed_notebook_with_the_install_cell_first(slug):
    import nbformat

    from companion.book.notebooks import INSTALL_TAG

    page = (HTML / "book" / f"{slug}.html").read_text()
    assert f'href="../notebooks/{slug}.ipynb"' in page
    nb = nbformat.read(HTML / "notebooks" / f"{slug}.ipynb", as_version=4)
    assert INSTALL_TAG in nb.cells[0].metadata["tags"]
    assert any(o.get("output_type") == "display_data" for c in nb.cells[1:] for o in c.get("outputs", []))
