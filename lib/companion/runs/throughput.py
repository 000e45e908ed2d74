"""Images per second of the book's training loop against a plain DataLoader loop of the same model.

The book keeps small datasets on the device and indexes batches out of them (`train_classifier`);
the usual PyTorch loop keeps them in host memory and copies each batch over through a DataLoader.
`compare` trains the same model from the same start both ways for the same number of epochs on the
same device, and reports images per second of each, their ratio, the FLOPs per image (forward and
backward, counted by torch) and, on a GPU with a known peak, the fraction of that peak reached.

`python -m companion throughput --workload sgd-mlp|hyperbf-transformer --device cuda` measures the
two heaviest full-profile trainings of the book: the CIFAR-10 MLP of the SGD chapter and the HyperBF
transformer. The workloads read those chapters' full settings from the chapters, and train on random
images of CIFAR-10's shape (the loops' speed does not depend on the pixels).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from companion.core import chapters
from companion.ml.device import device_name, resolve_device
from companion.ml.training import make_optimizer, train_classifier

# Dense peak FLOP/s by GPU (vendor data sheets): plain float32, TF32 tensor cores, bfloat16. The first name
# contained in the device's name wins, so the PCIe part comes before the SXM one.
PEAKS = {
    "H100 PCIe": {"float32": 51e12, "tf32": 378e12, "bfloat16": 756e12},
    "H100": {"float32": 67e12, "tf32": 494.7e12, "bfloat16": 989.4e12},
    "H200": {"float32": 67e12, "tf32": 494.7e12, "bfloat16": 989.4e12},
    "A100": {"float32": 19.5e12, "tf32": 156e12, "bfloat16": 312e12},
}


def peak_flops(device: torch.device, precision: torch.dtype | None) -> float | None:
    """The data-sheet peak of `device` for the arithmetic a run uses, or None when it is not known."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    mode = "bfloat16" if precision == torch.bfloat16 else (
        "tf32" if torch.backends.cuda.matmul.allow_tf32 else "float32")
    return next((peaks[mode] for key, peaks in PEAKS.items() if key in name), None)


def flops_per_image(model: nn.Module, x: torch.Tensor, y: torch.Tensor, precision: torch.dtype | None) -> float:
    """FLOPs of one training step (forward and backward) on the batch (x, y), per image."""
    with FlopCounterMode(display=False) as counter:
        with torch.autocast(x.device.type, dtype=precision or torch.float32, enabled=precision is not None):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(x)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def book_loop(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, **recipe: Any) -> float:
    """Images per second of `train_classifier` on data already on the device, timed over its epochs
    2..E-1 (epoch 1 warms up; the loss and rank logs at the ends are left out)."""
    stamps: dict[int, float] = {}

    def stamp(epoch: int) -> None:
        _sync(x.device)
        stamps[epoch] = time.perf_counter()

    batch_size = recipe["batch_size"]
    train_classifier(model, x, y, epochs=epochs, log_every=epochs + 1, on_epoch=stamp, **recipe)
    timed = epochs - 2
    return timed * (len(x) - len(x) % batch_size) / (stamps[epochs - 1] - stamps[1])


def dataloader_loop(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device, *, epochs: int,
                    batch_size: int, precision: torch.dtype | None = None, cosine: bool = False,
                    **optimiser: Any) -> float:
    """Images per second of the usual loop: data in host memory, a shuffling DataLoader (no workers: the
    arrays are in memory), each batch copied to the device, the same optimiser (and cosine schedule) as
    `train_classifier` builds; timed over epochs 2..E-1 like `book_loop`."""
    loader = DataLoader(TensorDataset(x.cpu(), y.cpu()), batch_size=batch_size, shuffle=True, drop_last=True,
                        pin_memory=device.type == "cuda", generator=torch.Generator().manual_seed(0))
    opt = make_optimizer(model, **optimiser)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * len(loader)) if cosine else None
    start = None
    for epoch in range(1, epochs):
        if epoch == 2:
            _sync(device)
            start = time.perf_counter()
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=precision or torch.float32, enabled=precision is not None):
                loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
    _sync(device)
    return (epochs - 2) * len(loader) * batch_size / (time.perf_counter() - start)


def compare(make_model: Callable[[], nn.Module], x: torch.Tensor, y: torch.Tensor, device: torch.device, *,
            epochs: int, batch_size: int, precision: torch.dtype | None = None, **recipe: Any) -> dict[str, Any]:
    """Both loops on the same model, data, recipe (`train_classifier`'s keywords: lr, weight_decay, optimizer,
    decay, cosine, momentum) and device; images per second, ratio, FLOPs and share of peak."""
    if epochs < 3:
        raise ValueError("epochs must be at least 3: the first warms up and the last is not timed")
    recipe = dict(batch_size=batch_size, precision=precision, **recipe)
    xd, yd = x.to(device), y.to(device)
    torch.manual_seed(0)
    flops = flops_per_image(make_model().to(device), xd[:batch_size], yd[:batch_size], precision)
    torch.manual_seed(0)
    book = book_loop(make_model().to(device), xd, yd, epochs=epochs, **recipe)
    torch.manual_seed(0)
    plain = dataloader_loop(make_model().to(device), x, y, device, epochs=epochs, **recipe)
    peak = peak_flops(device, precision)
    return {"device": device_name(device), "images": len(x), "epochs_timed": epochs - 2, "batch_size": batch_size,
            "precision": str(precision or torch.float32).removeprefix("torch."),
            "book_images_per_s": book, "dataloader_images_per_s": plain, "ratio": book / plain,
            "flops_per_image": flops, "book_tflops": book * flops / 1e12,
            "peak_tflops": peak / 1e12 if peak else None, "fraction_of_peak": book * flops / peak if peak else None}


def workload(name: str) -> tuple[Callable[[], nn.Module], dict[str, Any]]:
    """The model factory and recipe of one of the book's two heaviest full-profile trainings, read from the
    chapter's own settings (the SGD chapter's `DEEP["full"]` main run, the HyperBF transformer's
    `SETTINGS["full"]` and its "HyperBF" model)."""
    if name == "sgd-mlp":
        from companion.ml.models import mlp

        D = chapters.settings("sgd-vs-gd", "DEEP")["full"]
        return (lambda: mlp(D["widths"])), dict(batch_size=D["main_batch"], lr=D["lr"], weight_decay=D["main_wd"])
    if name == "hyperbf-transformer":
        from companion.science.hyperbf_transformer import ViT

        S = chapters.settings("hyperbf-transformer", "SETTINGS")["full"]
        kind = chapters.settings("hyperbf-transformer", "MODELS", d=S["dim"])["HyperBF"]

        def make() -> nn.Module:
            return ViT(S["image"], S["patch"], S["channels"], S["dim"], S["depth"], S["heads"], classes=10,
                       hidden=S["hidden"], centres=S["centres"], **kind)

        recipe = {k: v for k, v in S["recipe"].items() if k != "epochs"}
        return make, dict(recipe, precision=getattr(torch, S["precision"]) if S["precision"] else None)
    raise ValueError(f"unknown workload {name!r}: expected sgd-mlp or hyperbf-transformer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["sgd-mlp", "hyperbf-transformer"], required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)
    make, recipe = workload(args.workload)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.images, 3, 32, 32, generator=g)
    if args.workload == "sgd-mlp":
        x = x.flatten(1)
    y = torch.randint(0, 10, (args.images,), generator=g)
    result = {"workload": args.workload, **compare(make, x, y, device, epochs=args.epochs, **recipe)}
    print(json.dumps(result, indent=1))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0

