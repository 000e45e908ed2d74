"""The syllabus (`companion.book.syllabus`): objectives read from the chapters, sessions and courses that cover them."""

import re
from pathlib import Path

import pytest

from companion.book import syllabus
from companion.core import chapters

HTML = Path(__file__).resolve().parents[2] / "_build" / "html"


@pytest.mark.parametrize("slug", chapters.available())
def test_every_chapter_has_objectives_a_session_and_a_place_in_the_long_course(slug):
    items = syllabus.objectives(chapters.source(slug).read_text())
    assert len(items) >= 3 and all(len(item) > 30 and "\n" not in item for item in items)
    entry = chapters.chapter(slug)
    assert entry.hours > 0 and entry.prerequisites
    long_course = next(weeks for name, weeks in chapters.courses().items() if name.startswith("twelve"))
    assert slug in {s for week in long_course for s in week.chapters}


def test_objectives_are_the_you_will_list_joined_line_by_line():
    text = "Intro. You\nwill\n\n- derive a law;\n  and check it\n- plot it.\n\n**Next** paragraph.\n"
    assert syllabus.objectives(text) == ["derive a law; and check it", "plot it"]
    assert syllabus.objectives("no list here") == []


def test_courses_name_only_planned_chapters():
    planned = {c.slug for c in chapters.planned()}
    assert all(set(week.chapters) <= planned for weeks in chapters.courses().values() for week in weeks)


@pytest.mark.skipif(not (HTML / "index.html").exists(), reason="book not built: run `make book`")
def test_the_syllabus_page_links_every_chapter_with_its_objectives():
    page = (HTML / "book" / "syllabus.html").read_text()
    for slug in chapters.available():
        assert f'href="{slug}.html"' in page
    assert len(re.findall(r"Objectives:", page)) == len(chapters.available())
