"""`make bench`: chapters timed one at a time, and the committed timings shown on the Reproducing page."""

import json

from companion.book.sphinx.tables import bench_table
from companion.runs import bench


def test_each_chapter_is_timed_alone_with_its_claims(small_book, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_RESULTS_DIR", str(tmp_path / "results"))
    times = bench.time_chapters(["one", "two"], tmp_path / "notebooks")
    assert list(times) == ["one", "two"]
    assert all(t["seconds"] > 0 and t["claims"] == "no claims" for t in times.values())
    assert (tmp_path / "notebooks" / "one.ipynb").exists()


def test_the_reproducing_page_shows_the_committed_timings(tmp_path):
    assert "make bench" in bench_table(tmp_path / "missing.json")[0].astext()
    report = {"machine": {"processor": "Some CPU", "cores": 2, "python": "3.11.7", "torch": "2.13.0"},
              "commit": "abc123", "date": "2026-12-02T17:00:00Z", "jobs": 2,
              "chapters": {"sgd-vs-gd": {"seconds": 23.4, "claims": "7/7"},
                           "bio-circuit": {"seconds": 38.0, "claims": "5/5"}},
              "book": {"cold_s": 400.0, "warm_s": 12.5}}
    (tmp_path / "quick.json").write_text(json.dumps(report))
    intro, table = bench_table(tmp_path / "quick.json")
    assert "Some CPU (2 cores)" in intro.astext() and "2026-12-02" in intro.astext()
    text = table.astext()
    for expected in ["sgd-vs-gd", "23.4", "7/7", "bio-circuit", "61.4", "cold build (2 chapters at a time)",
                     "400.0", "12.5"]:
        assert expected in text


def test_the_machine_is_described():
    info = bench.machine()
    assert info["cores"] >= 1 and info["processor"] and info["torch"].startswith("2.")


def test_throughput_table_says_how_to_measure_until_a_gpu_run_is_committed(tmp_path):
    from companion.book.sphinx.tables import throughput_table

    assert "needs a GPU" in throughput_table(tmp_path)[0].astext()
    report = {"workload": "sgd-mlp", "device": "NVIDIA H200", "precision": "float32", "book_images_per_s": 90000.0,
              "dataloader_images_per_s": 30000.0, "ratio": 3.0, "book_tflops": 2.5, "peak_tflops": 67.0,
              "fraction_of_peak": 0.037}
    (tmp_path / "sgd-mlp.json").write_text(json.dumps(report))
    text = throughput_table(tmp_path)[0].astext()
    assert all(s in text for s in ["sgd-mlp", "NVIDIA H200", "90,000", "30,000", "3.00", "4% of 67"])


def test_the_benchmark_builds_the_book_with_the_makefiles_flags():
    from companion.core.paths import project_root
    from companion.runs.bench import jb_flags

    root = project_root()
    assert "--warningiserror" in jb_flags(root) and "--nitpick" in jb_flags(root)
    assert "jupyter-book build . $(JB_FLAGS)" in (root / "Makefile").read_text()
