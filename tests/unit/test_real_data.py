"""The real datasets, when a seeded cache is present (CI seeds one from the shared datasets)."""

import numpy as np
import pytest

from companion.ml.data import data_dir, load_cifar10, load_mnist, standardize_images


def test_standardize_images_uses_training_statistics_for_the_test_set():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(50, 4, 4, 3), dtype=np.uint8)
    rows, mean, std = standardize_images(train)
    assert rows.shape == (50, 48) and rows.dtype == np.float32
    assert np.allclose(rows.mean(0), 0, atol=1e-5) and np.allclose(rows.std(0), 1, atol=1e-3)
    test_rows, _, _ = standardize_images(train[:5], mean, std)
    assert np.allclose(test_rows, rows[:5])


@pytest.mark.skipif(not (data_dir() / "mnist.npz").exists(), reason="no seeded MNIST in the cache")
def test_seeded_mnist_has_the_canonical_shapes():
    d = load_mnist()
    assert d["x_train"].shape == (60000, 28, 28) and d["x_test"].shape == (10000, 28, 28)
    assert set(np.unique(d["y_train"])) == set(range(10))


@pytest.mark.skipif(not (data_dir() / "cifar10.npz").exists(), reason="no seeded CIFAR-10 in the cache")
def test_seeded_cifar10_has_the_canonical_shapes():
    d = load_cifar10()
    assert d["x_train"].shape == (50000, 32, 32, 3) and d["x_test"].shape == (10000, 32, 32, 3)
    assert np.bincount(d["y_train"]).tolist() == [5000] * 10


def test_first_refuses_to_return_fewer_examples_than_asked(tmp_path, monkeypatch):
    from companion.ml.data import DatasetError, fingerprint, first

    data = {"x_train": np.zeros((5, 2)), "y_train": np.arange(5)}
    x, y = first(data, 3)
    assert x.shape == (3, 2) and y.tolist() == [0, 1, 2]
    with pytest.raises(DatasetError, match="only 5"):
        first(data, 6)
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path))
    (tmp_path / "tinyshakespeare.txt").write_text("hello")
    record = fingerprint("tinyshakespeare")
    assert record["sha256"] == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
