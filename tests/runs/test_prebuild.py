"""Chapters executed in parallel into the book's execution cache, under the keys the book build looks up."""

import pytest

from companion.book import prebuild
from conftest import CHAPTER


def test_stale_chapters_run_in_parallel_and_are_then_found_in_the_cache(small_book, tmp_path):
    cache = tmp_path / "cache"
    assert prebuild.stale(cache, ["one", "two"]) == ["one", "two"]
    seconds = prebuild.prebuild(cache, jobs=2, slugs=["one", "two"])
    assert set(seconds) == {"one", "two"}
    assert prebuild.stale(cache, ["one", "two"]) == []  # the lookup the book build makes now hits
    from jupyter_cache import get_cache

    _, executed = get_cache(str(cache)).merge_match_into_notebook(prebuild.read_chapter("one"))
    assert executed.cells[-1].outputs[0]["text"] == "2\n"
    assert prebuild.prebuild(cache, jobs=2, slugs=["one", "two"]) == {}  # nothing left to do
    (small_book / "one.md").write_text(CHAPTER.format(body="3 + 3"))  # edited code: stale again
    assert prebuild.stale(cache, ["one", "two"]) == ["one"]


def test_a_failing_chapter_stops_with_its_traceback(small_book, tmp_path):
    with pytest.raises(RuntimeError, match="(?s)chapter broken failed:.*ZeroDivisionError"):
        prebuild.prebuild(tmp_path / "cache", jobs=2, slugs=["one", "broken"])
