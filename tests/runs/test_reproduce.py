"""The papermill re-execution command: argument errors, success and failure handling."""


import pytest

from companion.core import chapters
from companion.runs import reproduce
from conftest import FRONT_MATTER

HEADER = FRONT_MATTER + """
# {name}

```{{code-cell}} ipython3
:tags: [parameters]

profile = "quick"
seed = 0
device = "auto"
```

```{{code-cell}} ipython3
from companion.core.results import save_results
from companion.core.runtime import start_run

run = start_run("{name}", profile, seed, device)
save_results(run, {{"new": True}}, params={{}})
{extra}
```
"""


@pytest.fixture
def tiny_book(tmp_path, monkeypatch):
    book = tmp_path / "book"
    book.mkdir()
    (book / "good.md").write_text(HEADER.format(name="good", extra='print("ran", profile, seed)'))
    (book / "broken.md").write_text(HEADER.format(name="broken", extra='raise RuntimeError("boom")'))
    monkeypatch.setattr(chapters, "book_dir", lambda: book)
    monkeypatch.setattr(chapters, "planned", lambda: (chapters.Chapter("good", "g", 1),
                                                      chapters.Chapter("broken", "b", 2)))
    results = tmp_path / "results"
    monkeypatch.setenv("COMPANION_RESULTS_DIR", str(results))
    return tmp_path


def test_unknown_chapter_is_a_clear_error_listing_the_valid_ones(capsys):
    assert reproduce.main(["--chapters", "no-such-chapter"]) == 2
    err = capsys.readouterr().err
    assert "not a chapter of this book" in err and "sgd-vs-gd" in err


def test_planned_but_unwritten_chapter_says_so(capsys, monkeypatch):
    """Every planned chapter is written now, so one more is planned for the test."""
    unwritten = "a-chapter-to-come"
    registered = chapters.planned()
    monkeypatch.setattr(chapters, "planned", lambda: (*registered, chapters.Chapter(unwritten, "To come", 11)))
    assert unwritten not in chapters.available()
    assert reproduce.main(["--chapters", unwritten]) == 2
    assert "planned but not written yet" in capsys.readouterr().err


def test_unknown_profile_and_device_are_clear_errors(capsys):
    assert reproduce.main(["--profile", "medium"]) == 2
    assert "expected one of quick, full" in capsys.readouterr().err
    assert reproduce.main(["--device", "gpu"]) == 2
    assert "expected one of auto, cpu, cuda" in capsys.readouterr().err


def test_cuda_without_a_gpu_is_refused_before_anything_runs(capsys):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without a GPU")
    assert reproduce.main(["--device", "cuda", "--chapters", "sgd-vs-gd"]) == 2
    assert "no GPU" in capsys.readouterr().err


def test_successful_run_writes_notebook_and_moves_results_into_place(tiny_book, capsys):
    out = tiny_book / "out"
    assert reproduce.main(["--chapters", "good", "--device", "cpu", "--seed", "3", "--out", str(out)]) == 0
    text = (out / "good.ipynb").read_text()
    assert "ran quick 3" in text and "injected-parameters" in text
    assert (tiny_book / "results" / "quick" / "good" / "seed-3" / "results.json").exists()
    summary = capsys.readouterr().out
    assert "chapter" in summary and "good" in summary and "no claims" in summary


def test_failed_run_leaves_earlier_results_and_outputs_untouched(tiny_book, capsys):
    earlier = tiny_book / "results" / "quick" / "broken" / "seed-0" / "results.json"
    earlier.parent.mkdir(parents=True)
    earlier.write_text('{"old": true}')
    out = tiny_book / "out"
    assert reproduce.main(["--chapters", "broken", "--device", "cpu", "--out", str(out)]) == 1
    assert earlier.read_text() == '{"old": true}'
    assert not (out / "broken.ipynb").exists()
    assert "broken FAILED" in capsys.readouterr().err


def test_make_stable_removes_papermill_metadata_and_numbers_cell_ids():
    nb = {"metadata": {"papermill": {"duration": 1}},
          "cells": [{"id": "a1b2c3", "metadata": {"papermill": {}, "tags": ["x"]}}]}
    assert reproduce.make_stable(nb) == {"metadata": {}, "cells": [{"id": "cell-0", "metadata": {"tags": ["x"]}}]}




def test_chapter_without_parameters_cell_is_refused(tiny_book, capsys):
    source = tiny_book / "book" / "good.md"
    source.write_text(source.read_text().replace(":tags: [parameters]\n", ""))
    assert reproduce.main(["--chapters", "good", "--device", "cpu", "--out", str(tiny_book / "out")]) == 1
    assert "no code cell tagged 'parameters'" in capsys.readouterr().err


def test_negative_seed_is_a_clear_error(capsys):
    assert reproduce.main(["--seed", "-1"]) == 2
    assert "non-negative" in capsys.readouterr().err


def test_failure_message_shows_the_notebook_exception_not_the_traceback():
    class NotebookError(Exception):
        ename, evalue = "DatasetError", "no network: put cifar10.npz in the cache"

    assert reproduce.failure_message(NotebookError("long traceback ...")) == \
        "DatasetError: no network: put cifar10.npz in the cache"
    assert reproduce.failure_message(ValueError("plain")) == "ValueError: plain"
