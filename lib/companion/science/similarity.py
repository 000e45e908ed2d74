"""Scores that compare a model's representation with recorded responses: ridge encoding and linear CKA.

These are the two scores that system identification uses to decide which model is most like a brain
(Han, Poggio and Cheung 2023). Ridge encoding predicts every recorded unit from the model's features
with cross-validated ridge regression and reports the median correlation of its predictions on
held-out stimuli; linear centred kernel alignment (CKA) compares the two stimulus-by-stimulus
similarity structures directly, without fitting anything.

Used in the chapters: system-identification.
"""

from __future__ import annotations

import functools

import numpy as np

LAMBDAS = (0.01, 0.1, 1.0, 10.0, 100.0)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA between two representations of the same stimuli, x (n, p) and y (n, q):
    ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F) with columns centred. 1 for representations equal up
    to rotation and scale; invariant to orthogonal maps and isotropic scaling of either side."""
    x = x - x.mean(0)
    y = y - y.mean(0)
    cross = np.linalg.norm(y.T @ x) ** 2
    return float(cross / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def sparse_projection(features: np.ndarray, dim: int, seed: int = 0) -> np.ndarray:
    """A very sparse random projection (Li, Hastie and Church 2006, after Achlioptas 2003; entries
    +-sqrt(s/dim) with probability 1/(2s) each, s = sqrt(p)) of features (n, p) to `dim` columns;
    features with at most `dim` columns are returned as they are. Distances between stimuli are kept
    up to a small distortion (Johnson-Lindenstrauss)."""
    n, p = features.shape
    if p <= dim:
        return features
    return features @ _projection(p, dim, seed)


@functools.lru_cache(maxsize=4)
def _projection(p: int, dim: int, seed: int) -> np.ndarray:
    """The projection matrix of `sparse_projection`, drawn once per shape and seed (layers of one width
    share it; drawing 32768 x 600 signs anew for every layer and stimulus set cost more than using it)."""
    rng = np.random.default_rng(seed)
    s = np.sqrt(p)
    signs = rng.choice([-1.0, 0.0, 1.0], size=(p, dim), p=[1 / (2 * s), 1 - 1 / s, 1 / (2 * s)])
    matrix = signs * np.sqrt(s / dim)
    matrix.setflags(write=False)
    return matrix


def sample_units(total: int, count: int, seed: int = 0) -> np.ndarray:
    """`count` distinct unit indices out of `total`, sorted (all of them when count >= total)."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=min(count, total), replace=False))


def _zscore(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def _ridge_predictions(x: np.ndarray, y: np.ndarray, x_new: np.ndarray,
                       lambdas: tuple[float, ...]) -> np.ndarray:
    """Ridge predictions at x_new for every unit of y and every lambda, (len(lambdas), m, units), from
    one decomposition of the (z-scored) training features; y is centred, so there is no intercept to
    fit. The penalty is scaled as in the authors' code, (x^T x / n + lambda I) w = x^T y / n, that is
    n * lambda in the plain form. With more features than stimuli the kernel form (an
    eigendecomposition of the n x n Gram matrix) gives the same predictions faster than an SVD."""
    n = len(x)
    if x.shape[1] > n:
        e, u = np.linalg.eigh(x @ x.T)
        scale = [1 / (np.clip(e, 0, None) + n * lam) for lam in lambdas]
        projected = (x_new @ x.T) @ u  # (m, n)
    else:
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        scale = [s / (s**2 + n * lam) for lam in lambdas]
        projected = x_new @ vt.T  # (m, r)
    uty = u.T @ y  # (r, units)
    return np.stack([projected @ (c[:, None] * uty) for c in scale])


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching columns of a and b (m, units); 0 where either is constant."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    denominator = np.sqrt((a**2).sum(0) * (b**2).sum(0))
    return np.where(denominator > 0, (a * b).sum(0) / np.where(denominator > 0, denominator, 1.0), 0.0)


def _folds(n: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    return np.array_split(rng.permutation(n), k)


def ridge_encoding(features: np.ndarray, responses: np.ndarray, lambdas: tuple[float, ...] = LAMBDAS,
                   outer: int = 5, inner: int = 4, seed: int = 0) -> tuple[float, np.ndarray]:
    """Cross-validated ridge encoding score of a model's `features` (n, p) for recorded `responses`
    (n, units) to the same n stimuli, as in the authors' code: for each of `outer` folds, z-score on
    the other folds, choose each unit's lambda by `inner`-fold cross-validation on them (the highest
    correlation of the inner held-out predictions), fit (the intercept is the training mean), and
    predict the held-out fold; then the Pearson r of each unit's held-out predictions, pooled over the
    folds, with its responses. Returns (median r over units, r per unit). Pooling the folds costs a
    feature set that carries no information a small negative r (each fold predicts its own
    training mean), the same for every such feature set."""
    n = len(features)
    if len(responses) != n:
        raise ValueError(f"features and responses must describe the same stimuli: {n} != {len(responses)}")
    rng = np.random.default_rng(seed)
    predicted = np.empty(responses.shape)
    for held in _folds(n, outer, rng):
        train = np.setdiff1d(np.arange(n), held)
        x, x_held = _zscore(features[train], features[held])
        y = responses[train] - responses[train].mean(0)
        inner_predicted = np.empty((len(lambdas), *y.shape))
        for inner_held in _folds(len(train), inner, rng):
            inner_train = np.setdiff1d(np.arange(len(train)), inner_held)
            xi, xi_held = _zscore(x[inner_train], x[inner_held])
            yi = y[inner_train] - y[inner_train].mean(0)
            inner_predicted[:, inner_held] = (_ridge_predictions(xi, yi, xi_held, lambdas)
                                              + y[inner_train].mean(0))
        best = np.stack([_pearson(p, y) for p in inner_predicted]).argmax(0)  # each unit's lambda
        guesses = _ridge_predictions(x, y, x_held, lambdas)  # (lambdas, held, units)
        # add the intercept back, so that every fold's predictions are on the responses' scale
        predicted[held] = guesses[best, :, np.arange(responses.shape[1])].T + responses[train].mean(0)
    r = _pearson(predicted, responses)
    return float(np.median(r)), r
