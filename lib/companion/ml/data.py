"""Datasets for the book, as numpy arrays (the caller moves them to a device).

Synthetic sets are generated offline: MNIST-1D (`load_mnist1d`) and sklearn's 8x8 digits (`load_digits`).
Real sets live in a cache folder, `data_dir()`, in this processed format:

    <cache>/mnist.npz     x_train (60000,28,28) uint8, y_train (60000,) uint8,
                          x_test (10000,28,28) uint8,  y_test (10000,) uint8
    <cache>/cifar10.npz   x_train (50000,32,32,3) uint8 (HWC, RGB), y_train,
                          x_test (10000,32,32,3) uint8, y_test
    <cache>/tinyshakespeare.txt
    <cache>/tinystories-valid-head.txt   (the first 319,085 characters of TinyStories-valid.txt)

A cached file is validated on every load (keys, dtypes, shapes; UTF-8 text) but not hashed; `verify_cache`
compares it with the reference copy. A missing file is downloaded from its canonical source, checked against
a published SHA-256, converted and written atomically. Where there is no network, the error says which
files to fetch and where the processed result goes.
"""

import gzip
import hashlib
import http.client
import os
import pickle
import random
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np


class DatasetError(RuntimeError):
    """A dataset is missing, corrupt or unverifiable; the message says how to fix it."""


MNIST_URLS = [
    f"https://ossci-datasets.s3.amazonaws.com/mnist/{name}-ubyte.gz"
    for name in ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")
]
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TINYSHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
TINYSTORIES_URL = "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStories-valid.txt"
TINYSTORIES_HEAD_CHARS = 319_085

# SHA-256 of each downloaded file. MNIST and CIFAR-10: tensorflow/datasets url_checksums (mnist.txt,
# cifar10.csv), the same bytes as PyTorch's ossci mirror. Tiny Shakespeare: computed from a byte-identical
# copy. TinyStories: the Hugging Face LFS digest (19,447,282 bytes). None means "unverified: refuse".
SOURCE_SHA256: dict[str, str | None] = {
    MNIST_URLS[0]: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    MNIST_URLS[1]: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    MNIST_URLS[2]: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    MNIST_URLS[3]: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    CIFAR10_URL: "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    TINYSHAKESPEARE_URL: "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    TINYSTORIES_URL: "94e431816c4cce81ff71e4408ff8d3bda9a42e8d2663986697c3954288cb38b4",
}

# SHA-256 of the reference processed files (the seeded cache). cifar10.npz depends on how it was decoded.
PROCESSED_SHA256: dict[str, str | None] = {
    "mnist": "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64",
    "cifar10": None,
    "tinyshakespeare": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    "tinystories": "b69474edd6bca278e9a88c7503ce434ccae079e50b40b3cfa4d1ffb0f8d7f6d4",
}

FILENAMES = {
    "mnist": "mnist.npz",
    "cifar10": "cifar10.npz",
    "tinyshakespeare": "tinyshakespeare.txt",
    "tinystories": "tinystories-valid-head.txt",
}
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def data_dir() -> Path:
    """The cache folder: `$COMPANION_DATA_DIR` if set, else `~/.cache/companion`."""
    env = os.environ.get("COMPANION_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "companion"


# ---------------------------------------------------------------- synthetic, generated offline


def load_mnist1d(seed: int = 42, num_samples: int = 5000) -> dict[str, np.ndarray]:
    """MNIST-1D (Greydanus 2020) generated in memory: x (N,40) float32, y int64, an 80/20 split.

    Uses `make_dataset` directly, never mnist1d's `get_dataset` (which downloads and writes a pickle).
    The global `random`/`np.random` states that mnist1d reseeds are restored afterwards.
    """
    if num_samples < 10:
        raise ValueError(f"num_samples must be at least 10 (one per class), got {num_samples}")
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed, args.num_samples = seed, num_samples
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        d = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return {
        "x_train": np.asarray(d["x"], dtype=np.float32),
        "y_train": np.asarray(d["y"], dtype=np.int64),
        "x_test": np.asarray(d["x_test"], dtype=np.float32),
        "y_test": np.asarray(d["y_test"], dtype=np.int64),
    }


def load_digits() -> dict[str, np.ndarray]:
    """sklearn's 1,797 8x8 digits: x (N,64) float32 in [0,1], y int64, a fixed shuffled 80/20 split."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    n_train = int(0.8 * len(y))
    train, test = order[:n_train], order[n_train:]
    return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}


# ---------------------------------------------------------------- cached real datasets


def load_mnist() -> dict[str, np.ndarray]:
    """MNIST as stored in the cache: x (N,28,28) uint8, y (N,) uint8; downloaded once if absent."""
    path = data_dir() / FILENAMES["mnist"]
    if not path.exists():
        _build("MNIST", MNIST_URLS, path, _convert_mnist)
    return _load_npz(path, (28, 28))


def load_cifar10() -> dict[str, np.ndarray]:
    """CIFAR-10 as stored in the cache: x (N,32,32,3) uint8 HWC RGB, y (N,); downloaded once if absent."""
    path = data_dir() / FILENAMES["cifar10"]
    if not path.exists():
        _build("CIFAR-10", [CIFAR10_URL], path, _convert_cifar10)
    return _load_npz(path, (32, 32, 3))


def standardize_images(images: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None,
                       per_pixel: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten uint8 images (N, ...) to float32 rows scaled to [0, 1] and standardise them (see `standardize`).

    Pass the training set's `mean` and `std` to standardise a test set the same way.
    Returns (rows, mean, std).
    """
    return standardize(images.reshape(len(images), -1).astype(np.float32) / 255.0, mean, std, per_pixel)


def standardize(x: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None,
                per_pixel: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Subtract `mean` and divide by `std` (+1e-6 when computed here) the rows of x (N, d).

    Without `mean` and `std` they are x's own: per column (`per_pixel`), or one number for the whole
    array, which suits images with pixels that are constant in the training set (per-pixel
    statistics would blow up a test image that differs there). Pass a training set's statistics
    to treat a test set alike. Returns (standardised x, mean, std).
    """
    axis = 0 if per_pixel else None
    mean = x.mean(axis=axis) if mean is None else mean
    std = x.std(axis=axis) + 1e-6 if std is None else std
    return ((x - mean) / std).astype(np.float32), mean, std


def load_flat(name: str, n: int | None = None, n_val: int = 0) -> dict[str, np.ndarray]:
    """"digits" or "mnist" as flat float32 rows, standardised with one mean and standard deviation.

    The first `n_val` training images are held out as a validation split (`x_val`, `y_val`; empty
    by default); the next `n` (all the rest when n is None) are the training set returned, and the
    statistics come from them alone. Labels are int64. Also returns the scalars `mean` and `std`, so
    that `x * std + mean` recovers the pixels in [0, 1]. One overall scale, not one per pixel: pixels
    that are constant in the training set would otherwise blow up in the test set.
    """
    if name not in ("digits", "mnist"):
        raise ValueError(f"load_flat knows 'digits' and 'mnist', got {name!r}")
    data = load_digits() if name == "digits" else load_mnist()
    if not 0 <= n_val < len(data["y_train"]):
        raise ValueError(f"n_val must leave training images: 0 <= n_val < {len(data['y_train'])}, got {n_val}")
    prepare = standardize if name == "digits" else standardize_images
    train = slice(n_val, None if n is None else n_val + n)
    x, mean, std = prepare(data["x_train"][train], per_pixel=False)
    x_test = prepare(data["x_test"], mean, std)[0]
    x_val = prepare(data["x_train"][:n_val], mean, std)[0] if n_val else x[:0]
    return {"x_train": x, "y_train": data["y_train"][train].astype(np.int64),
            "x_val": x_val, "y_val": data["y_train"][:n_val].astype(np.int64),
            "x_test": x_test, "y_test": data["y_test"].astype(np.int64), "mean": mean, "std": std}


def load_text(name: str) -> str:
    """A cached text corpus, "tinyshakespeare" or "tinystories" (the valid-set head); downloaded if absent."""
    sources = {
        "tinyshakespeare": (TINYSHAKESPEARE_URL, None),
        "tinystories": (TINYSTORIES_URL, TINYSTORIES_HEAD_CHARS),
    }
    if name not in sources:
        raise ValueError(f"unknown text dataset {name!r}; expected one of {sorted(sources)}")
    url, head = sources[name]
    path = data_dir() / FILENAMES[name]
    if not path.exists():
        _build(name, [url], path, lambda files, out: _convert_text(files[0], out, head))
    return _load_text_file(path)


def first(data: dict[str, np.ndarray], n: int, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The first `n` examples (x, y) of a split; asking for more than there are is a DatasetError."""
    x, y = data[f"x_{split}"], data[f"y_{split}"]
    if len(x) < n:
        raise DatasetError(f"asked for {n} {split} examples but the dataset has only {len(x)}")
    return x[:n], y[:n]


def fingerprint(name: str) -> dict[str, str]:
    """Which cached file a run used: its path and SHA-256, for the run's provenance."""
    if name not in FILENAMES:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(FILENAMES)}")
    path = data_dir() / FILENAMES[name]
    if not path.exists():
        raise DatasetError(f"{path} does not exist; load {name} first")
    return {"dataset": name, "file": str(path), "sha256": _sha256(path)}


def verify_cache(name: str) -> bool:
    """True if the cached file of `name` is byte-identical to the reference copy (PROCESSED_SHA256).

    Hashes the whole file, so call it on demand rather than on every load.
    """
    if name not in FILENAMES:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(FILENAMES)}")
    expected = PROCESSED_SHA256.get(name)
    if expected is None:
        raise DatasetError(f"no reference SHA-256 for the processed {name} file (it depends on its decoder)")
    path = data_dir() / FILENAMES[name]
    if not path.exists():
        raise DatasetError(f"{path} does not exist; load {name} first (or seed the cache) to verify it")
    return _sha256(path) == expected


# ---------------------------------------------------------------- validation


def _fix_hint(path: Path) -> str:
    return (f"delete {path} to download it again, or replace it with a good copy in the processed format "
            f"described in companion.ml.data")


def _load_npz(path: Path, item_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Read a processed .npz and check keys, dtypes, per-item shapes and lengths (any sample count)."""
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{path} is not a zip archive (corrupt or truncated .npz); {_fix_hint(path)}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in _KEYS if k not in npz.files]
            if missing:
                raise DatasetError(f"{path} lacks key(s) {missing} (has {npz.files}); {_fix_hint(path)}")
            arrays = {k: npz[k] for k in _KEYS}
    except DatasetError:
        raise
    except (OSError, ValueError, TypeError, EOFError, AttributeError,
            zipfile.BadZipFile, zlib.error, pickle.UnpicklingError) as e:
        raise DatasetError(f"{path} is not a readable .npz file ({e}); {_fix_hint(path)}") from e
    not_arrays = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]
    if not_arrays:  # np.load hands back raw bytes for a member that is not in .npy format
        raise DatasetError(f"{path} is not a readable .npz file ({not_arrays} are not .npy arrays); "
                           f"{_fix_hint(path)}")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        problem = None
        if x.dtype != np.uint8 or x.shape[1:] != item_shape or x.ndim != 1 + len(item_shape):
            problem = f"x_{split} should be uint8 of shape (N, *{item_shape}), got {x.dtype} {x.shape}"
        elif not np.issubdtype(y.dtype, np.integer) or y.ndim != 1 or len(y) != len(x) or len(x) == 0:
            problem = f"y_{split} should be N={len(x)} > 0 integer labels, got {y.dtype} {y.shape}"
        elif y.min() < 0 or y.max() > 9:
            problem = f"y_{split} should hold labels 0..9, got {y.min()}..{y.max()}"
        if problem:
            raise DatasetError(f"{path}: {problem}; {_fix_hint(path)}")
    return arrays


def _load_text_file(path: Path) -> str:
    """Read a cached text file, which must be non-empty UTF-8."""
    raw = path.read_bytes()
    if not raw:
        raise DatasetError(f"{path} is empty; {_fix_hint(path)}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path} is not valid UTF-8 ({e}); {_fix_hint(path)}") from e


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- download, verify, convert


def _download(url: str, dest: Path) -> None:
    """Fetch `url` into `dest`: the module's only network access (tests replace it)."""
    request = urllib.request.Request(url, headers={"User-Agent": "companion-data"})
    with urllib.request.urlopen(request, timeout=60) as response, open(dest, "wb") as f:
        shutil.copyfileobj(response, f, 1 << 20)


def _build(what: str, urls: list[str], out: Path, convert: Callable[[list[Path], Path], None]) -> None:
    """Download `urls`, check each against SOURCE_SHA256, and `convert` them into the processed `out`."""
    unverified = [u for u in urls if SOURCE_SHA256.get(u) is None]
    if unverified:
        raise DatasetError(
            f"no verified checksum for {what} ({', '.join(unverified)}), so it is not downloaded; "
            f"place the processed file at {out} (the folder is set by COMPANION_DATA_DIR)"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp_dir = tempfile.TemporaryDirectory(dir=out.parent, prefix=".download-")
    except OSError as e:
        raise DatasetError(f"cannot write to the data folder {out.parent} ({e}); "
                           f"choose a writable one with COMPANION_DATA_DIR") from e
    with tmp_dir as tmp:
        files = []
        for url in urls:
            dest = Path(tmp) / url.rsplit("/", 1)[-1]
            try:
                _download(url, dest)
            except (OSError, http.client.HTTPException) as e:
                raise DatasetError(
                    f"could not download {what} from {url} ({e}). Download {' and '.join(urls)} "
                    f"by other means, convert to the processed format documented in companion.ml.data "
                    f"and put the result at {out}; "
                    f"the folder is {out.parent}, chosen by COMPANION_DATA_DIR (default ~/.cache/companion)"
                ) from e
            expected, got = SOURCE_SHA256[url], _sha256(dest)
            if got != expected:
                dest.unlink()
                raise DatasetError(
                    f"{url} downloaded with SHA-256 {got}, expected {expected}; the download was deleted. "
                    f"Retry later, or place a processed file at {out}"
                )
            files.append(dest)
        try:
            convert(files, out)
        except (OSError, ValueError, KeyError, EOFError, tarfile.TarError, pickle.UnpicklingError) as e:
            raise DatasetError(f"could not convert the verified {what} download into {out}: {e}") from e


def _write_atomic(out: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through a temporary file in the same folder, then rename, so `out` is never half-written."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_idx(path: Path) -> np.ndarray:
    """Parse a gzipped IDX file of unsigned bytes (LeCun's MNIST format)."""
    raw = gzip.decompress(path.read_bytes())
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path.name} is not a uint8 IDX file (header {raw[:4]!r})")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path.name} holds {data.size} bytes of data, its header says {shape}")
    return data.reshape(shape)


def _convert_mnist(files: list[Path], out: Path) -> None:
    """Four IDX files -> mnist.npz, compressed like the reference copy (same arrays give the same bytes)."""
    arrays = dict(zip(_KEYS, (_read_idx(f) for f in files), strict=True))
    _write_atomic(out, lambda f: np.savez_compressed(f, **arrays))


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batches, refusing every global except numpy's array reconstruction."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a CIFAR batch")
        return super().find_class(module, name)


def _convert_cifar10(files: list[Path], out: Path) -> None:
    """cifar-10-python.tar.gz -> cifar10.npz: CHW rows become (N,32,32,3) uint8, labels uint8."""
    def batches(tar: tarfile.TarFile, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for name in names:
            member = next((m for m in tar.getmembers() if m.name.endswith("/" + name)), None)
            handle = tar.extractfile(member) if member else None
            if handle is None:
                raise KeyError(f"the archive has no {name}")
            batch = _BatchUnpickler(handle, encoding="bytes").load()
            xs.append(np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            ys.append(np.asarray(batch[b"labels"], np.uint8))
        return np.ascontiguousarray(np.concatenate(xs)), np.concatenate(ys)

    with tarfile.open(files[0], "r:gz") as tar:
        x_train, y_train = batches(tar, [f"data_batch_{i}" for i in range(1, 6)])
        x_test, y_test = batches(tar, ["test_batch"])
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    _write_atomic(out, lambda f: np.savez(f, **arrays))


def _convert_text(source: Path, out: Path, head_chars: int | None) -> None:
    """A verified UTF-8 download -> the cached text, cut to its first `head_chars` characters if given."""
    text = source.read_bytes().decode("utf-8")
    if head_chars is not None:
        text = text[:head_chars]
    _write_atomic(out, lambda f: f.write(text.encode("utf-8")))
