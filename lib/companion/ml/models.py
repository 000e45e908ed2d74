"""Small network builders shared by chapters, and a context for measuring a model in eval mode."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from torch import nn


def mlp(widths: Sequence[int], bias: bool = False, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """A fully connected network with layer widths `widths` (input first, output last).

    Without biases (the default) every layer is a plain matrix, so its rank is the rank of
    one weight matrix.
    """
    if len(widths) < 2:
        raise ValueError(f"an MLP needs at least an input and an output width, got {list(widths)}")
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out, bias=bias))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def weight_matrices(model: nn.Module) -> list:
    """The 2-D weight matrices of a model's linear layers, in order."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` in eval mode for a measurement (no batch statistics, no dropout), then restore its mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
