"""ResNet-18 for 32x32 images, with a two-layer fully connected head.

The CIFAR variant of He et al.'s ResNet-18 (a 3x3 stem, no max-pool), as in most CIFAR-10
papers. The head, Linear(512, width)-ReLU-Linear(width, classes), gives a fully connected layer
between learned features whose alignment can be measured (the Canonical Representation chapter).
Its input pipeline (`image_tensor`, `crop_and_flip`) is in `companion.ml.images`.
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a shortcut (a 1x1 convolution when the shape changes)."""

    def __init__(self, fan_in: int, fan_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(fan_in, fan_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(fan_out)
        self.conv2 = nn.Conv2d(fan_out, fan_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(fan_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or fan_in != fan_out:
            self.shortcut = nn.Sequential(nn.Conv2d(fan_in, fan_out, 1, stride, bias=False), nn.BatchNorm2d(fan_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet18(classes: int = 10, head_width: int = 512, base: int = 64) -> nn.Sequential:
    """ResNet-18 (CIFAR stem) -> global average pool -> Linear(8*base, head_width) -> ReLU -> Linear(., classes).

    `base` is the width of the first stage (64 in the standard network; tests use a tiny one).
    The head is the model's last module: `model[-1][0]` is the first fully connected layer.
    """
    widths = [base, 2 * base, 4 * base, 8 * base]
    layers: list[nn.Module] = [nn.Conv2d(3, base, 3, 1, 1, bias=False), nn.BatchNorm2d(base), nn.ReLU()]
    fan_in = base
    for i, width in enumerate(widths):
        for j in range(2):
            layers.append(BasicBlock(fan_in, width, stride=2 if i > 0 and j == 0 else 1))
            fan_in = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    head = nn.Sequential(nn.Linear(fan_in, head_width), nn.ReLU(), nn.Linear(head_width, classes))
    return nn.Sequential(*layers, head)




@torch.no_grad()
def calibrate_batch_norm(model: nn.Module, x: torch.Tensor, batch_size: int = 500, batches: int = 10) -> None:
    """Set every batch-norm layer's running statistics to their average over `batches` batches of x.

    A freshly built network has running means 0 and variances 1, so in eval mode its batch norms
    are identities, unlike in training; calibrating first makes eval-mode measurements of an
    untrained network describe the network that training starts from. Parameters do not change.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    was_training, momenta = model.training, [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the calibration batches
    model.train()
    try:
        for xs in x[: batch_size * batches].split(batch_size):
            model(xs)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.train(was_training)
