"""The student edition (`make student`): every exercise without its solution, and no other door to them."""

from pathlib import Path

import pytest

from companion.book.student import BANNER, student_config
from companion.core import chapters

ROOT = Path(__file__).resolve().parents[2]
BOOK, STUDENT = ROOT / "_build" / "html", ROOT / "_build" / "student" / "_build" / "html"
built = pytest.mark.skipif(not (STUDENT / "index.html").exists() or not (BOOK / "index.html").exists(),
                           reason="editions not built: run `make student`")


def test_student_config_hides_solutions_and_the_doors_to_them_and_leaves_the_book_config_alone():
    book = {"title": "A book", "sphinx": {"config": {"numfig": True}}}
    student = student_config(book)
    config = student["sphinx"]["config"]
    assert config["hide_solutions"] and not config["html_copy_source"] and not config["html_show_sourcelink"]
    assert not config["companion_notebooks"]  # the chapters' notebooks hold the solutions too
    assert config["html_theme_options"] == {"use_download_button": False} and config["numfig"]
    assert student["sphinx"]["recursive_update"] and student["html"]["announcement"] == BANNER
    assert student["title"] == "A book (student edition)"
    assert book == {"title": "A book", "sphinx": {"config": {"numfig": True}}}


@built
@pytest.mark.parametrize("slug", chapters.available())
def test_student_pages_keep_every_exercise_and_drop_every_solution(slug):
    source = chapters.source(slug).read_text()
    exercises, solutions = source.count(":::{exercise}"), source.count(":::{solution}")
    assert exercises >= 3 and solutions == exercises
    full = (BOOK / "book" / f"{slug}.html").read_text()
    page = (STUDENT / "book" / f"{slug}.html").read_text()
    assert full.count('class="solution') == solutions  # the control: the full book shows them
    assert page.count('class="exercise') == full.count('class="exercise') > 0
    assert 'class="solution' not in page and BANNER in page


@built
def test_no_student_file_holds_a_solution_or_a_page_source():
    assert not (STUDENT / "_sources").exists() and (BOOK / "_sources").exists()
    assert not (STUDENT / "notebooks").exists() and (BOOK / "notebooks").exists()
    marker = "The gradient terms are the same for"  # the first solution of the learning-circuit chapter
    assert marker in (BOOK / "book" / "bio-circuit.html").read_text()
    for path in STUDENT.rglob("*"):
        if path.suffix in {".html", ".js", ".txt", ".md", ".ipynb"}:
            assert marker not in path.read_text(errors="ignore"), path


def test_handed_out_chapters_keep_exercises_and_code_and_lose_only_the_solution_blocks():
    from companion.book.student import without_solutions

    for slug in chapters.available():
        source = chapters.source(slug).read_text()
        stripped = without_solutions(source)
        assert ":::{solution}" not in stripped and stripped.count(":::{exercise}") == source.count(":::{exercise}")
        assert stripped.count("```{code-cell}") == source.count("```{code-cell}")
        assert "## What to take away" in stripped  # the text after the last solution survives
    text = "a\n\n:::{solution} ex-1\n:class: dropdown\n\nAnswer.\n:::\n\nb\n"
    assert without_solutions(text) == "a\n\nb\n"
