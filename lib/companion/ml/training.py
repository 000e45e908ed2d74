"""A plain training loop for classifiers that logs what the low-rank chapters need.

SGD and full-batch GD are the same loop with a different batch size, so comparisons between
them differ in nothing else. Data stay where they are (pass tensors already on the device).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from companion.ml.metrics import numerical_rank
from companion.ml.models import evaluating, weight_matrices


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 2048) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of `model` on (x, y), in eval mode, in chunks of `chunk` samples."""
    with evaluating(model):
        if len(x) <= chunk:
            logits = model(x)
            return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()
        loss = correct = 0.0
        for xs, ys in zip(x.split(chunk), y.split(chunk), strict=True):
            logits = model(xs)
            loss += F.cross_entropy(logits, ys, reduction="sum").item()
            correct += (logits.argmax(1) == ys).sum().item()
        return loss / len(x), correct / len(x)


def make_optimizer(model: nn.Module, *, lr: float, weight_decay: float, momentum: float = 0.0,
                   optimizer: str = "sgd", decay: str = "all") -> torch.optim.Optimizer:
    """SGD (coupled weight decay, heavy-ball `momentum`) or AdamW (decoupled decay, betas (0.9, 0.999)) over
    the model's trainable parameters, in one group per weight-decay rate: every parameter with
    `decay="all"`, only the weights of linear and convolutional layers with `decay="matrices"`."""
    params = [p for p in model.parameters() if p.requires_grad]
    if decay not in ("all", "matrices"):
        raise ValueError(f"decay must be 'all' or 'matrices', got {decay!r}")
    matrices = {id(m.weight) for m in model.modules() if isinstance(m, nn.Linear | nn.modules.conv._ConvNd)}
    rates = [weight_decay if decay == "all" or id(p) in matrices else 0.0 for p in params]
    groups = [{"params": [p for p, r in zip(params, rates, strict=True) if r == rate], "weight_decay": rate}
              for rate in sorted(set(rates))]
    if optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum)
    if optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {optimizer!r}")


def update_norm(groups: list[dict]) -> torch.Tensor:
    """The norm of the regularised gradient, sqrt(sum over parameters of |grad + wd * p|^2), over optimiser
    parameter groups (each with its `weight_decay`): plain SGD moves by lr times this vector.

    Computed with fused multi-tensor kernels, a handful per step whatever the number of parameters; one
    kernel per parameter made this a large share of a small model's step, and of its launches on a GPU.
    """
    with torch.no_grad():
        norms = []
        for group in groups:
            ps = [p for p in group["params"] if p.grad is not None]
            grads = [p.grad for p in ps]
            if group["weight_decay"]:
                grads = torch._foreach_add(grads, ps, alpha=group["weight_decay"])
            norms.extend(torch._foreach_norm(grads))
        return torch.linalg.vector_norm(torch.stack(norms))


def train_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, lr: float, weight_decay: float,
                     batch_size: int, epochs: int, seed: int = 0, shuffle: bool = True, log_every: int = 1,
                     tol: float = 1e-3, momentum: float = 0.0, cosine: bool = False,
                     augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                     on_epoch: Callable[[int], None] | None = None,
                     max_updates: int | None = None, milestones: Sequence[int] = (),
                     loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
                     optimizer: str = "sgd", precision: torch.dtype | None = None, decay: str = "all",
                     ) -> dict[str, np.ndarray]:
    """Train with SGD (coupled weight decay, no momentum by default) on cross-entropy; batch_size = len(x) is GD.

    Each epoch takes len(x) // batch_size updates (the last partial batch is dropped). Every
    `log_every` epochs (and at epochs 0 and E) it logs the training loss and accuracy and the
    numerical rank of every weight matrix, at the epochs `log_epochs`; every epoch (1..E) it logs
    `fluctuation`, the norm of the regularised minibatch gradient, averaged over the epoch (without
    momentum it is the size of an update over the learning rate): the SGD noise.

    Options for larger runs: heavy-ball `momentum`, a `cosine` learning-rate decay to zero over the
    run, `augment(batch, generator)` applied to each minibatch, `on_epoch(epoch)` called after
    epochs 0..E (for measurements during training; the model is in train mode when it is called),
    `max_updates`, which ends the run after that many updates (inside the last epoch), so that
    runs with different batch sizes can make exactly the same number of updates, `milestones`,
    epochs after which the learning rate is multiplied by 0.1, and `loss_fn(logits, labels)` in
    place of the cross-entropy (for example `mse_one_hot`), `optimizer="adamw"` (decoupled weight
    decay, betas (0.9, 0.999); `momentum` is then unused), and `precision`, a dtype such as
    torch.bfloat16 under which the forward pass and loss run in autocast. `decay="matrices"` applies the
    weight decay to the weights of linear and convolutional layers only (not to biases, norms,
    embeddings or the parameters of HyperBF units, such as centres and widths).
    """
    n = len(x)
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be between 1 and the {n} training points, got {batch_size}")
    opt = make_optimizer(model, lr=lr, weight_decay=weight_decay, momentum=momentum, optimizer=optimizer,
                         decay=decay)
    groups = opt.param_groups
    updates = epochs * (n // batch_size) if max_updates is None else min(max_updates, epochs * (n // batch_size))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(updates, 1)) if cosine else None
    steps = torch.optim.lr_scheduler.MultiStepLR(opt, list(milestones), 0.1) if milestones else None
    g = torch.Generator().manual_seed(seed)
    usable = n - n % batch_size
    log: dict[str, list] = {"log_epochs": [], "loss": [], "accuracy": [], "ranks": [], "fluctuation": []}

    def record(epoch: int) -> None:
        loss, acc = evaluate(model, x, y)
        log["log_epochs"].append(epoch)
        log["loss"].append(loss)
        log["accuracy"].append(acc)
        weights = weight_matrices(model)
        if not all(torch.isfinite(W).all() for W in weights):
            raise FloatingPointError(f"training diverged: the weights are not finite after epoch {epoch} (lr {lr}, "
                                     f"weight decay {weight_decay}, momentum {momentum}); try a lower learning rate")
        log["ranks"].append([numerical_rank(W, tol) for W in weights])

    record(0)
    if on_epoch is not None:
        on_epoch(0)
    done = 0
    for epoch in range(1, epochs + 1):
        order = (torch.randperm(n, generator=g) if shuffle else torch.arange(n))[:usable].to(x.device)
        sizes = []
        for idx in order.split(batch_size):
            if done == updates:
                break
            done += 1
            xb = x[idx] if augment is None else augment(x[idx], g)
            with torch.autocast(x.device.type, dtype=precision or torch.float32, enabled=precision is not None):
                loss = loss_fn(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            sizes.append(update_norm(groups))
            opt.step()
            if schedule is not None:
                schedule.step()
        log["fluctuation"].append(torch.stack(sizes).mean().item())
        if steps is not None:
            steps.step()
        last = epoch == epochs or done == updates
        if epoch % log_every == 0 or last:
            record(epoch)
        if on_epoch is not None:
            on_epoch(epoch)
        if last:
            break
    out = {key: np.asarray(val) for key, val in log.items()}
    out["steps"] = np.asarray(done)
    return out


@dataclass
class Selection:
    """Accuracy after each epoch (0 = at the start) on the validation split and, for the record only, on
    the test split; the epoch with the best validation accuracy (the earliest on ties) and its weights."""

    val: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    best_epoch: int = -1
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)

    def test_at_best(self) -> float:
        """Test accuracy of the checkpoint chosen on the validation split."""
        return self.test[self.best_epoch]


def select_on_validation(model: nn.Module, x_val: torch.Tensor, y_val: torch.Tensor, x_test: torch.Tensor,
                         y_test: torch.Tensor) -> tuple[Callable[[int], None], Selection]:
    """An `on_epoch` callback for `train_classifier` that keeps the checkpoint best on the validation split.

    The test split is evaluated at every epoch only to show what selecting on it would report;
    it never decides anything. Load `selection.best_state` into the model after training.
    """
    selection = Selection()

    def on_epoch(epoch: int) -> None:
        selection.val.append(evaluate(model, x_val, y_val)[1])
        selection.test.append(evaluate(model, x_test, y_test)[1])
        if selection.val[-1] > max(selection.val[:-1], default=-1.0):
            selection.best_epoch = epoch
            selection.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    return on_epoch, selection


def mse_one_hot(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the outputs and one-hot targets (the loss of Galanti et al. 2023)."""
    return F.mse_loss(logits, F.one_hot(y, logits.shape[1]).to(logits.dtype))


def hidden_rank_history(history: dict) -> np.ndarray:
    """Ranks of the hidden-to-hidden weight matrices (all but the first and last layer) at each logged epoch."""
    return np.asarray(history["ranks"])[:, 1:-1]


def hidden_ranks(history: dict) -> list[int]:
    """Final numerical ranks of the hidden-to-hidden weight matrices."""
    return [int(r) for r in hidden_rank_history(history)[-1]]


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """The labels `model` predicts for x (the argmax of its outputs), in eval mode, in chunks."""
    with evaluating(model):
        return torch.cat([model(xs).argmax(1) for xs in x.split(chunk)])


def train_regressor(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float,
                    batch_size: int, seed: int = 0) -> np.ndarray:
    """Adam on the mean squared error of `model(x)` (N,) against y (N,), `steps` minibatch updates with
    the learning rate decayed to zero on a cosine; returns the minibatch losses."""
    if not 1 <= batch_size <= len(x):
        raise ValueError(f"batch_size must be between 1 and the {len(x)} training points, got {batch_size}")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses = []
    # The batches' indices are drawn (and copied to the device) 1024 steps at a time, and the losses stay
    # on the device until the end, so a GPU never waits for the host; the draws are the ones a per-step
    # draw would give.
    for start in range(0, steps, 1024):
        block = torch.randint(0, len(x), (min(1024, steps - start), batch_size), generator=g).to(x.device)
        for idx in block:
            loss = F.mse_loss(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            losses.append(loss.detach())
    return torch.stack(losses).cpu().numpy().astype(np.float64)
