"""Tests of companion.ml.data: offline generators, cache validation, and the download path without network."""

import gzip
import hashlib
import io
import pickle
import random
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from companion.ml import data
from companion.ml.data import DatasetError


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own cache folder, and any unexpected download fails the test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("COMPANION_DATA_DIR", str(folder))

    def no_network(url: str, dest: Path) -> None:
        raise AssertionError(f"unexpected download of {url}")

    monkeypatch.setattr(data, "_download", no_network)
    return folder


def _arrays(item_shape: tuple[int, ...], n_train: int = 7, n_test: int = 3, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, *item_shape), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, *item_shape), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def _write_npz(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _idx_gz(array: np.ndarray) -> bytes:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _cifar_tar_gz(batches: dict[str, tuple[np.ndarray, list[int]]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, (rows, labels) in batches.items():
            payload = pickle.dumps({b"batch_label": name.encode(), b"labels": labels, b"data": rows})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def _serve(monkeypatch: pytest.MonkeyPatch, payloads: dict[str, bytes], verified: bool = True) -> list[Path]:
    """Replace `_download` by one that writes `payloads[url]`; record the destinations."""
    destinations: list[Path] = []

    def fake_download(url: str, dest: Path) -> None:
        destinations.append(dest)
        dest.write_bytes(payloads[url])

    monkeypatch.setattr(data, "_download", fake_download)
    if verified:
        for url, payload in payloads.items():
            monkeypatch.setitem(data.SOURCE_SHA256, url, _sha(payload))
    return destinations


# ---------------------------------------------------------------- offline generators


def test_data_dir_follows_companion_data_dir(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert data.data_dir() == cache
    monkeypatch.delenv("COMPANION_DATA_DIR")
    assert data.data_dir() == Path.home() / ".cache" / "companion"


def test_importing_the_module_loads_neither_torch_nor_the_dataset_libraries() -> None:
    code = "import sys, companion.ml.data; print(sorted({'torch', 'sklearn', 'mnist1d'} & set(sys.modules)))"
    lib = str(Path(data.__file__).parents[2])  # lib/
    out = subprocess.run([sys.executable, "-c", code], cwd=lib, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_mnist1d_is_deterministic_for_a_seed_with_documented_shapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = data.load_mnist1d(seed=3, num_samples=200)
    again, other = data.load_mnist1d(3, 200), data.load_mnist1d(4, 200)
    assert first["x_train"].shape == (160, 40) and first["x_test"].shape == (40, 40)
    assert first["x_train"].dtype == np.float32 and first["y_train"].dtype == np.int64
    assert first["y_test"].shape == (40,) and set(np.unique(first["y_train"])) <= set(range(10))
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["x_train"], other["x_train"])
    assert list(tmp_path.iterdir()) == []  # nothing written: no pickle, no cache


def test_mnist1d_leaves_the_global_random_state_alone() -> None:
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    data.load_mnist1d(seed=0, num_samples=50)
    assert np.random.rand() == expected_np and random.random() == expected_py


def test_mnist1d_rejects_fewer_samples_than_classes() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        data.load_mnist1d(num_samples=5)


def test_digits_split_is_fixed_80_20_and_scaled_to_unit_interval() -> None:
    first, again = data.load_digits(), data.load_digits()
    assert first["x_train"].shape == (1437, 64) and first["x_test"].shape == (360, 64)
    assert first["x_train"].dtype == np.float32 and first["y_test"].dtype == np.int64
    assert first["x_train"].min() == 0.0 and first["x_train"].max() == 1.0
    assert len(np.unique(first["y_test"])) == 10
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])


# ---------------------------------------------------------------- reading the cache


@pytest.mark.parametrize(("loader", "filename", "item_shape"), [
    (data.load_mnist, "mnist.npz", (28, 28)),
    (data.load_cifar10, "cifar10.npz", (32, 32, 3)),
])
def test_cached_npz_with_few_samples_is_returned_as_stored(cache: Path, loader, filename, item_shape) -> None:
    arrays = _arrays(item_shape)
    _write_npz(cache / filename, arrays)
    loaded = loader()
    assert set(loaded) == set(arrays)
    for key, value in arrays.items():
        assert loaded[key].dtype == np.uint8
        np.testing.assert_array_equal(loaded[key], value)


@pytest.mark.parametrize(("name", "filename"), [
    ("tinyshakespeare", "tinyshakespeare.txt"), ("tinystories", "tinystories-valid-head.txt"),
])
def test_cached_text_is_returned_decoded(cache: Path, name: str, filename: str) -> None:
    cache.mkdir()
    (cache / filename).write_bytes("First Citizen:\nBefore we proceed — any further.\n".encode())
    assert data.load_text(name) == "First Citizen:\nBefore we proceed — any further.\n"


def test_unknown_text_name_raises_value_error_listing_the_choices() -> None:
    with pytest.raises(ValueError, match="tinyshakespeare"):
        data.load_text("wikitext")


def _truncated(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


def _zip_of_members(path: Path, payload: bytes) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for key in data._KEYS:
            archive.writestr(f"{key}.npy", payload)


def _cut_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 28, 28), np.uint8))
    return buffer.getvalue()[:-100]


def _mnist_with(**changes) -> dict:
    arrays = {**_arrays((28, 28)), **changes}
    return {k: v for k, v in arrays.items() if v is not None}


CORRUPTIONS = {
    "garbage": (lambda p: p.write_bytes(b"\x8b\x00 this is not a zip file at all"), "not a zip archive"),
    "truncated": (lambda p: p.write_bytes(_truncated(_arrays((28, 28)))), "not a zip archive"),
    "bad-member": (lambda p: _zip_of_members(p, b"not an array"), "not a readable .npz"),
    "cut-member": (lambda p: _zip_of_members(p, _cut_npy()), "not a readable .npz"),
    "missing-key": (lambda p: _write_npz(p, _mnist_with(y_test=None)), "lacks key.*y_test"),
    "wrong-item-shape": (lambda p: _write_npz(p, _arrays((32, 32))), r"x_train.*got uint8 \(7, 32, 32\)"),
    "wrong-dtype": (lambda p: _write_npz(p, _mnist_with(x_test=np.zeros((3, 28, 28), np.float32))), "x_test"),
    "length-mismatch": (lambda p: _write_npz(p, _mnist_with(y_train=np.zeros(6, np.uint8))), "y_train"),
    "bad-label": (lambda p: _write_npz(p, _mnist_with(y_test=np.full(3, 10, np.uint8))), "labels 0..9"),
}


@pytest.mark.parametrize(("corruption", "expected"), CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupt_cache_file_raises_dataset_error_naming_the_file(
    cache: Path, corruption, expected: str
) -> None:
    cache.mkdir()
    corruption(cache / "mnist.npz")
    with pytest.raises(DatasetError, match=expected) as info:
        data.load_mnist()
    assert str(cache / "mnist.npz") in str(info.value) and "delete" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"caf\xe9 au lait"], ids=["empty", "not-utf8"])
def test_corrupt_text_file_raises_dataset_error_naming_the_file(cache: Path, content: bytes) -> None:
    cache.mkdir()
    (cache / "tinyshakespeare.txt").write_bytes(content)
    with pytest.raises(DatasetError, match="tinyshakespeare.txt"):
        data.load_text("tinyshakespeare")


# ---------------------------------------------------------------- the download path


@pytest.mark.parametrize(("load", "url", "filename"), [
    (data.load_mnist, data.MNIST_URLS[0], "mnist.npz"),
    (data.load_cifar10, data.CIFAR10_URL, "cifar10.npz"),
    (lambda: data.load_text("tinyshakespeare"), data.TINYSHAKESPEARE_URL, "tinyshakespeare.txt"),
    (lambda: data.load_text("tinystories"), data.TINYSTORIES_URL, "tinystories-valid-head.txt"),
])
def test_absent_file_without_network_raises_dataset_error_with_url_and_cache_path(
    cache: Path, monkeypatch: pytest.MonkeyPatch, load, url: str, filename: str
) -> None:
    def offline(url: str, dest: Path) -> None:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(data, "_download", offline)
    with pytest.raises(DatasetError) as info:
        load()
    message = str(info.value)
    assert url in message and str(cache / filename) in message and "COMPANION_DATA_DIR" in message
    assert [p.name for p in cache.iterdir()] == []


def test_sha_mismatch_raises_dataset_error_and_deletes_the_download(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destinations = _serve(monkeypatch, {data.TINYSHAKESPEARE_URL: b"tampered text\n"}, verified=False)
    with pytest.raises(DatasetError, match="expected 86c4e6aa") as info:
        data.load_text("tinyshakespeare")
    assert "deleted" in str(info.value)
    assert destinations and not destinations[0].exists()
    assert [p.name for p in cache.iterdir()] == []


def test_source_without_verified_checksum_is_refused_before_downloading(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(data.SOURCE_SHA256, data.CIFAR10_URL, None)
    with pytest.raises(DatasetError, match="no verified checksum for CIFAR-10") as info:
        data.load_cifar10()  # the autouse no-network _download would fail the test if called
    assert str(cache / "cifar10.npz") in str(info.value)


def test_mnist_download_of_idx_files_converts_to_the_processed_format(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = _arrays((28, 28), n_train=5, n_test=2, seed=1)
    payloads = dict(zip(data.MNIST_URLS, (_idx_gz(arrays[k]) for k in data._KEYS), strict=True))
    _serve(monkeypatch, payloads)
    loaded = data.load_mnist()
    for key, value in arrays.items():
        assert loaded[key].dtype == np.uint8
        np.testing.assert_array_equal(loaded[key], value)
    assert [p.name for p in cache.iterdir()] == ["mnist.npz"]
    _serve(monkeypatch, {})  # a second load reads the cache and downloads nothing
    np.testing.assert_array_equal(data.load_mnist()["x_train"], arrays["x_train"])


def test_cifar10_download_converts_chw_rows_to_hwc_images(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(2)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {
        name: (rng.integers(0, 256, (2, 3072), dtype=np.uint8), [i, (i + 3) % 10])
        for i, name in enumerate(names)
    }
    _serve(monkeypatch, {data.CIFAR10_URL: _cifar_tar_gz(batches)})
    loaded = data.load_cifar10()
    assert loaded["x_train"].shape == (10, 32, 32, 3) and loaded["x_test"].shape == (2, 32, 32, 3)
    rows = batches["data_batch_2"][0]
    c, h, w = 2, 5, 17  # blue channel of pixel (5, 17) of the third training image
    assert loaded["x_train"][2, h, w, c] == rows[0, c * 1024 + h * 32 + w]
    np.testing.assert_array_equal(loaded["x_test"][1].transpose(2, 0, 1).ravel(), batches["test_batch"][0][1])
    np.testing.assert_array_equal(loaded["y_train"], [0, 3, 1, 4, 2, 5, 3, 6, 4, 7])
    assert [p.name for p in cache.iterdir()] == ["cifar10.npz"]


def test_verified_but_unreadable_archive_raises_dataset_error(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(monkeypatch, {data.CIFAR10_URL: b"not a tarball"})
    with pytest.raises(DatasetError, match="could not convert"):
        data.load_cifar10()
    assert [p.name for p in cache.iterdir()] == []


def test_tinystories_download_keeps_the_first_characters_not_bytes(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "TINYSTORIES_HEAD_CHARS", 6)
    _serve(monkeypatch, {data.TINYSTORIES_URL: "Él vió un gato.\n".encode()})
    assert data.load_text("tinystories") == "Él vió"
    assert (cache / "tinystories-valid-head.txt").read_bytes() == "Él vió".encode()


# ---------------------------------------------------------------- verify_cache


def test_verify_cache_compares_the_file_with_the_reference_hash(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.mkdir()
    (cache / "tinyshakespeare.txt").write_bytes(b"reference\n")
    monkeypatch.setitem(data.PROCESSED_SHA256, "tinyshakespeare", _sha(b"reference\n"))
    assert data.verify_cache("tinyshakespeare") is True
    (cache / "tinyshakespeare.txt").write_bytes(b"edited\n")
    assert data.verify_cache("tinyshakespeare") is False


def test_verify_cache_raises_without_a_file_or_a_reference_hash(cache: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        data.verify_cache("mnist")
    with pytest.raises(DatasetError, match="no reference SHA-256"):
        data.verify_cache("cifar10")


def test_load_flat_standardises_with_one_scale_from_the_first_n_training_images() -> None:
    flat = data.load_flat("digits", n=500)
    assert flat["x_train"].shape == (500, 64) and flat["x_test"].shape[1] == 64
    assert flat["x_train"].dtype == np.float32 and flat["y_train"].dtype == np.int64
    assert abs(flat["x_train"].mean()) < 1e-5 and abs(flat["x_train"].std() - 1) < 1e-4
    raw = flat["x_train"] * flat["std"] + flat["mean"]
    assert np.allclose(raw, data.load_digits()["x_train"][:500], atol=1e-6)  # one scale, pixels in [0, 1]
    with pytest.raises(ValueError, match="digits"):
        data.load_flat("cifar10")


def test_load_flat_holds_out_a_validation_split_before_the_training_images() -> None:
    flat = data.load_flat("digits", n=500, n_val=100)
    raw = data.load_digits()["x_train"]
    assert flat["x_val"].shape == (100, 64) and flat["x_train"].shape == (500, 64)
    assert np.allclose(flat["x_val"] * flat["std"] + flat["mean"], raw[:100], atol=1e-6)
    assert np.allclose(flat["x_train"] * flat["std"] + flat["mean"], raw[100:600], atol=1e-6)
    assert abs(flat["x_train"].mean()) < 1e-5  # statistics from the training part only
    assert len(data.load_flat("digits")["x_val"]) == 0
    with pytest.raises(ValueError, match="n_val"):
        data.load_flat("digits", n_val=len(raw))
