"""Linear least squares trained by SGD or GD: the null-space component of the weights.

For the loss 1/(2B) ||W X_b - Y_b||^2 + (lambda/2) ||W||_F^2, every data gradient is
(something) @ X_b^T, so it has no component in the null space of X. The part of W there,
W_perp = W P_perp, therefore shrinks by exactly (1 - lr * lambda) per update, whatever the batch.

Used in the chapters: sgd-vs-gd.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from companion.ml.metrics import numerical_ranks


def null_space_projector(X: torch.Tensor) -> torch.Tensor:
    """P_perp = I - X X^+ (d x d): projects onto the orthogonal complement of the columns of X (d x n)."""
    d = X.shape[0]
    return torch.eye(d, dtype=X.dtype, device=X.device) - X @ torch.linalg.pinv(X)


def gradient_step(W: torch.Tensor, Xb: torch.Tensor, Yb: torch.Tensor, lr: float,
                  weight_decay: float) -> torch.Tensor:
    """One (S)GD update of W (k x d) on the batch Xb (d x B), Yb (k x B), with coupled weight decay."""
    grad = (W @ Xb - Yb) @ Xb.T / Xb.shape[1]
    return W - lr * (grad + weight_decay * W)


def predicted_ratio(lr: float, weight_decay: float, updates_per_epoch: int, epochs: np.ndarray) -> np.ndarray:
    """Predicted ||W_perp^SGD|| / ||W_perp^GD|| after `epochs` when SGD makes `updates_per_epoch` = n/B
    updates per epoch and GD one: (1 - lr*lambda)^((n/B - 1) * epochs)."""
    return (1.0 - lr * weight_decay) ** ((updates_per_epoch - 1) * np.asarray(epochs, dtype=float))


def linear_problem(d: int, n: int, k: int, seed: int, device: torch.device | str = "cpu"):
    """A random regression problem: X (d x n) ~ N(0, 1/d), targets Y (k x n) ~ N(0, 1), W0 (k x d) ~ N(0, 1/d)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(d, n, generator=g, dtype=torch.float64) / math.sqrt(d)
    Y = torch.randn(k, n, generator=g, dtype=torch.float64)
    W0 = torch.randn(k, d, generator=g, dtype=torch.float64) / math.sqrt(d)
    return X.to(device), Y.to(device), W0.to(device)


def train_linear(X: torch.Tensor, Y: torch.Tensor, W0: torch.Tensor, *, lr: float, weight_decay: float,
                 batch_size: int, epochs: int, seed: int = 0, shuffle: bool = True, input_noise: float = 0.0,
                 tols: tuple[float, ...] = (1e-3, 1e-6), rank_every: int = 1) -> dict[str, np.ndarray]:
    """Train W from W0 with minibatch SGD (batch_size < n) or GD (batch_size = n).

    `shuffle=False` visits the batches in the same order every epoch; `input_noise` adds
    N(0, input_noise^2 / d) to each batch's inputs (data augmentation), which moves gradients out of
    span(X) and breaks the null-space identity. Returns arrays over epochs 0..E (length E+1):
    `w_perp` (||W P_perp||_F) and `loss`; over epochs 1..E (length E): `step` (||dW||_F of the
    epoch's last update) and `mean_step`; and, at the epochs `rank_epochs` (every `rank_every`-th
    and the last), `rank_<tol>`: the numerical rank of W at each tolerance.
    """
    d, n = X.shape
    if n % batch_size:
        raise ValueError(f"batch_size {batch_size} must divide n = {n} so every epoch has n/B updates")
    P_perp = null_space_projector(X)
    g = torch.Generator().manual_seed(seed)
    W = W0.clone()
    log: dict[str, list] = {"w_perp": [], "step": [], "mean_step": [], "loss": [], "rank_epochs": []}
    log.update({f"rank_{tol:g}": [] for tol in tols})

    def record(epoch: int) -> None:
        log["w_perp"].append(torch.linalg.norm(W @ P_perp).item())
        log["loss"].append(0.5 * torch.linalg.norm(W @ X - Y).item() ** 2 / n)
        if epoch % rank_every == 0 or epoch == epochs:
            log["rank_epochs"].append(epoch)
            for tol, rank in zip(tols, numerical_ranks(W, tols), strict=True):
                log[f"rank_{tol:g}"].append(rank)

    record(0)
    for epoch in range(1, epochs + 1):
        order = (torch.randperm(n, generator=g) if shuffle else torch.arange(n)).to(X.device)
        steps = []
        for idx in order.split(batch_size):
            Xb, Yb = X[:, idx], Y[:, idx]
            if input_noise:
                noise = torch.randn(Xb.shape, generator=g, dtype=X.dtype) * input_noise / math.sqrt(d)
                Xb = Xb + noise.to(X.device)
            W_next = gradient_step(W, Xb, Yb, lr, weight_decay)
            steps.append(torch.linalg.norm(W_next - W))
            W = W_next
        log["step"].append(steps[-1].item())
        log["mean_step"].append(torch.stack(steps).mean().item())
        record(epoch)
    out = {key: np.asarray(val) for key, val in log.items()}
    out["updates_per_epoch"] = np.asarray(n // batch_size)
    return out


def image_autoencoder_problem(images: np.ndarray, n: int, seed: int, device: torch.device | str = "cpu"):
    """Linear autoencoding of n images: X = Y (d x n) are centred, unit-norm pixel vectors, W0 (d x d) ~ N(0, 1/d).

    With d much larger than n the data span at most n - 1 of the d input directions (centring removes
    one), so W's null-space component has dimension at least d - n + 1 and the limit rank is below n.
    """
    if n > len(images):
        raise ValueError(f"asked for {n} images but only {len(images)} are available")
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(images), generator=g)[:n].numpy()
    X = torch.as_tensor(images[pick].reshape(n, -1).T, dtype=torch.float64) / 255.0
    X = X - X.mean(dim=1, keepdim=True)
    X = X / torch.linalg.norm(X, dim=0, keepdim=True)
    d = X.shape[0]
    W0 = torch.randn(d, d, generator=g, dtype=torch.float64) / math.sqrt(d)
    return X.to(device), X.clone().to(device), W0.to(device)


def ratio_error(sgd: dict, gd: dict, *, lr: float, weight_decay: float, floor: float = 1e-8) -> float:
    """Largest relative error between the measured ||W_perp^SGD|| / ||W_perp^GD|| and its prediction.

    `gd` must be full-batch GD (one update per epoch); the prediction is `predicted_ratio`. Only epochs
    in which SGD's ||W_perp|| is above `floor` times its start count: below that, float64 rounding of the
    rest of W leaks into the null space and the ratio measures rounding, not SGD.
    """
    sgd_w, gd_w = np.asarray(sgd["w_perp"]), np.asarray(gd["w_perp"])
    if len(sgd_w) != len(gd_w):
        raise ValueError(f"the runs logged {len(sgd_w)} and {len(gd_w)} epochs: compare equal lengths")
    if int(gd["updates_per_epoch"]) != 1:
        raise ValueError(f"gd must be full-batch GD (1 update per epoch), got {int(gd['updates_per_epoch'])}")
    predicted = predicted_ratio(lr, weight_decay, int(sgd["updates_per_epoch"]), np.arange(len(sgd_w)))
    resolved = sgd_w > floor * sgd_w[0]
    return float(np.max(np.abs((sgd_w / gd_w) / predicted - 1)[resolved]))


def relative_change(values: np.ndarray) -> float:
    """Largest relative deviation of a logged quantity from its first value."""
    values = np.asarray(values, dtype=float)
    return float(np.max(np.abs(values / values[0] - 1)))
