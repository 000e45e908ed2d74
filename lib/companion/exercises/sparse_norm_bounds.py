"""The self-checks of the exercises of `sparse-norm-bounds`, each answer computed from the exercise's formula."""

from __future__ import annotations

import torch
from torch import nn

from companion.exercises.judge import Target, exact, exercise, near
from companion.science.bounds import leading_ratio
from companion.science.convnets import conv_net, layers_with_weights, output_positions


@exercise("ex-snb-stride", "||T||_F^2 / ||w||_F^2, the number of output positions P")
def snb_stride(*, n1: int, k: int, stride: int, n2: int | None = None) -> Target:
    """ex-snb-stride: ||T||_F^2 / ||w||_F^2 = P, the number of output positions of a k x k filter with
    `stride` and no padding on an n1 x n2 image (n2 = n1 unless given)."""
    n2 = n1 if n2 is None else n2
    return exact(((n1 - k) // stride + 1) * ((n2 - k) // stride + 1))


@exercise("ex-snb-resolution", "factor by which eq:snb-ratio grows from the small to the large side")
def snb_resolution(*, small: int = 8, large: int = 16, depth: int = 3, width: int = 32) -> Target:
    """ex-snb-resolution: growth of eq:snb-ratio (the library's `leading_ratio`) from `small` to `large`
    sides for CONV-depth-width; zero padding leaves the data terms as they were. Defaults: the quick run."""
    def ratio(side: int) -> float:
        with torch.random.fork_rng(devices=[]):  # building it must not move the student's random state
            net = conv_net(depth, width, side)
        areas = [m.kernel_size[0] * m.kernel_size[1] for m in net.modules() if isinstance(m, nn.Conv2d)]
        layers = len(layers_with_weights(net))
        return leading_ratio(output_positions(net, side), areas, layers, 10, 1.0, 1.0)  # data terms cancel

    return near(ratio(large) / ratio(small), rel_tol=0.01)  # the solution quotes a whole number
