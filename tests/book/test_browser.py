"""The built book in headless Chromium: every page loads without console errors, chapters render their
math, figures and claims table, internal links resolve, search finds chapters, and figures stay legible
in dark mode. Screenshots of each chapter (light, and its first figure in dark mode) and the pages' load
times are written to `_build/screenshots/` for review.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from companion.core import chapters

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
pytestmark = pytest.mark.skipif(not (HTML / "index.html").exists(), reason="book not built: run `make book`")

CHROMIUM_HELP = (
    "The browser tests need headless Chromium. On Debian or Ubuntu: `sudo apt-get install chromium` "
    "(`.ci/run` does this); elsewhere install Chromium or Chrome and set COMPANION_CHROMIUM to its executable."
)
# Flags for a machine without a network or a screen: no sandbox (CI runs as root), no GPU, and none of
# Chromium's own background connections, which would otherwise fail noisily.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOAD_TIMES: dict[str, float] = {}


def chromium_path() -> str:
    """The Chromium executable: $COMPANION_CHROMIUM, else chromium, chromium-browser or google-chrome on PATH."""
    candidates = [os.environ.get("COMPANION_CHROMIUM"), shutil.which("chromium"),
                  shutil.which("chromium-browser"), shutil.which("google-chrome")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(CHROMIUM_HELP, pytrace=False)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The built book served over HTTP on localhost, as a reader's browser would get it."""
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: run `make setup` (it is in the book's pinned tools)", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "load-times.json").write_text(json.dumps(LOAD_TIMES, indent=1, sort_keys=True) + "\n")


class Visit:
    """One page opened in a fresh browser context, with its console errors and failed requests."""

    def __init__(self, browser: object, url: str, dark: bool = False, redirects: bool = False) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900},
                                           color_scheme="dark" if dark else "light")
        if dark:  # the theme keeps the reader's choice in localStorage
            self.context.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        self.page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        self.page.goto(url, wait_until="load")
        if redirects:  # the page is left at once: there is nothing to time
            return
        self.load_ms = self.page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; }")

    def typeset(self) -> tuple[int, int]:
        """Wait for MathJax's first typesetting; return (formulas rendered, formulas with TeX errors)."""
        return tuple(self.page.evaluate(
            """async () => {
                if (!window.MathJax || !MathJax.startup) return [0, 0];
                await MathJax.startup.promise;
                return [document.querySelectorAll('mjx-container').length,
                        document.querySelectorAll('mjx-merror').length];
            }"""))

    def close(self) -> None:
        self.context.close()


def chapter_url(base_url: str, slug: str) -> str:
    return f"{base_url}/book/{slug}.html"


def target_exists(base_url: str, href: str, page_path: Path) -> str | None:
    """None when an internal link's file (and its #fragment) exists in the built book, else a message."""
    url = urlparse(href)
    path = HTML / unquote(url.path).lstrip("/")
    if path.is_dir():
        path = path / "index.html"
    if not path.exists():
        return f"{href}: no such file"
    if url.fragment and path.suffix == ".html":
        text = _page_text(path)
        if f'id="{unquote(url.fragment)}"' not in text:
            return f"{href}: no element with id {url.fragment!r} in {path.relative_to(HTML)}"
    return None


@functools.cache
def _page_text(path: Path) -> str:
    return path.read_text()


def pages() -> list[str]:
    """Every page of the book's table of contents, as paths relative to the HTML root."""
    return sorted(str(p.relative_to(HTML)) for p in (HTML / "book").glob("*.html"))


@pytest.mark.parametrize("path", pages())
def test_page_loads_without_errors_and_its_internal_links_resolve(browser, base_url, path):
    visit = Visit(browser, f"{base_url}/{path}")
    try:
        formulas, tex_errors = visit.typeset()
        LOAD_TIMES[path] = round(visit.load_ms)
        assert tex_errors == 0, f"{tex_errors} formulas failed to typeset"
        assert not visit.errors, "console errors:\n" + "\n".join(visit.errors)
        links = visit.page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
        internal = {h for h in links if h.startswith(base_url)}
        broken = [m for h in sorted(internal) if (m := target_exists(base_url, h, HTML / path))]
        assert not broken, "broken internal links:\n" + "\n".join(broken)
    finally:
        visit.close()


@pytest.mark.parametrize("slug", chapters.available())
def test_chapter_renders_math_figures_and_claims_table(browser, base_url, slug):
    visit = Visit(browser, chapter_url(base_url, slug))
    try:
        formulas, _ = visit.typeset()
        assert formulas >= 5, f"only {formulas} formulas rendered by MathJax"
        broken = visit.page.evaluate(
            "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
        assert not broken, f"images that did not load: {broken}"
        figures = visit.page.locator("figure img").count()
        assert figures >= 3, f"{figures} figures"
        notes = visit.page.locator("figure p.figure-provenance").count()
        assert notes == visit.page.locator("figure").count(), "a figure without its provenance note"
        claims = visit.page.locator(f"xpath=//*[@id='{slug}-claims']/..")  # the label's section
        assert claims.count() == 1
        assert "PASS" in claims.inner_text() or "FAIL" in claims.inner_text(), "no claims table"
        assert visit.page.locator("p.claims-badge a").is_visible()
        SHOTS.mkdir(parents=True, exist_ok=True)
        visit.page.screenshot(path=str(SHOTS / f"{slug}.png"))
    finally:
        visit.close()


@pytest.mark.parametrize("slug", chapters.available())
def test_figures_are_legible_in_dark_mode(browser, base_url, slug):
    """In the dark theme the page turns dark and each figure keeps its own light, opaque background."""
    visit = Visit(browser, chapter_url(base_url, slug), dark=True)
    try:
        theme = visit.page.evaluate("() => document.documentElement.dataset.theme")
        assert theme == "dark"
        page_bg = visit.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert _luminance(page_bg) < 0.3, f"page background {page_bg} is not dark"
        figure = visit.page.locator("figure img").first
        figure.scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"{slug}-dark-figure.png"
        figure.screenshot(path=str(shot))
        assert _corner_luminance(shot) > 0.6, "the figure's background is dark: its black text would vanish"
    finally:
        visit.close()


def test_the_front_door_leads_to_the_introduction(browser, base_url):
    visit = Visit(browser, f"{base_url}/index.html", redirects=True)
    try:
        visit.page.wait_for_url("**/book/intro.html", timeout=10_000)
        assert "Theory, run" in visit.page.title()
    finally:
        visit.close()


def test_search_page_finds_the_chapters(browser, base_url):
    visit = Visit(browser, f"{base_url}/search.html?q=rank")
    try:
        results = visit.page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=20_000)
        hrefs = visit.page.evaluate(
            "() => [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.href)")
        assert any("/book/sgd-vs-gd.html" in h for h in hrefs), hrefs[:10]
        assert not visit.errors, "console errors:\n" + "\n".join(visit.errors)
    finally:
        visit.close()


def test_without_chromium_the_failure_says_how_to_install_it(monkeypatch):
    monkeypatch.delenv("COMPANION_CHROMIUM", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        chromium_path()


def _luminance(css_colour: str) -> float:
    """Relative brightness (0 black, 1 white) of a CSS rgb()/rgba() colour."""
    parts = css_colour[css_colour.index("(") + 1:-1].split(",")
    r, g, b = (float(v) / 255 for v in parts[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _corner_luminance(png: Path) -> float:
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        w, h = rgb.size
        corners = [rgb.getpixel(xy) for xy in [(2, 2), (w - 3, 2), (2, h - 3), (w - 3, h - 3)]]
    return min(0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in corners) / 255
