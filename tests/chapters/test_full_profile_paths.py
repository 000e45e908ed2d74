"""The full-profile branches of the chapters' data cells, run on the CPU against a small synthetic cache.

A full run needs a GPU and real datasets; this checks that its code path (loading, preprocessing,
moving to the device) works, so the GPU run does not fail on plumbing.
"""

import numpy as np
import pytest

from companion.core import chapters
from conftest import start_chapter

# What each chapter's full-profile data cells print about the shapes they built from the synthetic cache.
EXPECTED_SHAPES = {
    "sgd-vs-gd": ["(3072, 500)", "(10000, 3072)", "(50, 3072)"],
    "canonical-representation": ["(10000, 3, 32, 32)", "(50, 3, 32, 32)", "sweep data (10000, 784)"],
    "low-rank-bounds": ["training set (10000, 784), test set (50, 784)", "one-layer samples (1000, 784)"],
    "sparse-norm-bounds": ["training images (10000, 1, 28, 28), test images (50, 1, 28, 28)"],
    "agop-hyperbf": ["MNIST (10000, 784), test (50, 784)", "train (800, 10)"],
    "bio-circuit": ["train (10000, 3, 32, 32), test (50, 3, 32, 32)"],
    "hyperbf-transformer": ["train (5000, 3, 32, 32), validation (5000, 3, 32, 32), test (50, 3, 32, 32)"],
    "compositional-sparsity": ["CIFAR-10: train (10000, 3, 32, 32), test (50, 3, 32, 32)"],
    "system-identification": ["train (10000, 3072); stimulus sets: CIFAR-10 test (50, 3072), MNIST (50, 3072)"],
    "decision-trees-lm": ["4000 training stories, 1000 test stories",
                          "TinyStories: 40 training stories, 10 test stories, 15 words"],
}


@pytest.fixture
def synthetic_cache(tmp_path, monkeypatch):
    """Random images in the cache formats of CIFAR-10 and MNIST, as many as the full profiles use, and 50
    one-sentence stories in TinyStories' format."""
    rng = np.random.default_rng(0)
    for name, shape in [("cifar10", (32, 32, 3)), ("mnist", (28, 28))]:
        np.savez(tmp_path / f"{name}.npz",
                 x_train=rng.integers(0, 256, size=(10_000, *shape), dtype=np.uint8),
                 y_train=rng.integers(0, 10, size=10_000).astype(np.uint8),
                 x_test=rng.integers(0, 256, size=(50, *shape), dtype=np.uint8),
                 y_test=rng.integers(0, 10, size=50).astype(np.uint8))
    story = "Once upon a time, Tom saw a {} dog. He was happy.\n<|endoftext|>\n"
    text = "".join(story.format(["big", "red"][i % 2]) for i in range(50))
    (tmp_path / "tinystories-valid-head.txt").write_text(text)
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path))


@pytest.mark.parametrize("slug", chapters.available())
def test_full_profile_data_cells_run_on_cpu(slug, synthetic_cache, capsys):
    cells, namespace = start_chapter(slug, "full")
    for cell in cells:
        if "data" in cell.metadata.get("tags", []):
            exec(cell.source, namespace)
    out = capsys.readouterr().out
    assert "profile full" in out
    for shape in EXPECTED_SHAPES.get(slug, []):
        assert shape in out
