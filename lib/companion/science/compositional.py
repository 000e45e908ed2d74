"""Compositionally sparse functions and the networks that match them (Poggio and Fraser 2024).

A function of d inputs is compositionally sparse when it is a composition of constituent functions
each of which reads only a few inputs. The simplest case, used here, is a binary tree: d = 2^levels
inputs, paired off, each pair combined by a two-input constituent h, and so on up to the root. A
network with the same tree (each node a small two-input MLP) has to learn d - 1 functions of two
variables; a shallow or a dense deep network has to learn one function of d variables.

Used in the chapters: compositional-sparsity.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from companion.ml.models import mlp
from companion.ml.training import train_regressor


def constituent(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The two-input constituent h(a, b) = (ab + sin(pi (a + b) / 2)) / 2, which maps [-1, 1]^2 into
    [-1, 1], so it can be composed with itself."""
    return 0.5 * (a * b + torch.sin(math.pi * (a + b) / 2))


def levels_of(d: int) -> int:
    """log2(d) for d a power of two of at least 2 (the depth of the binary tree)."""
    if d < 2 or d & (d - 1):
        raise ValueError(f"a binary tree needs d = 2, 4, 8, ... inputs, got {d}")
    return d.bit_length() - 1


def tree_target(x: torch.Tensor, order: np.ndarray | None = None) -> torch.Tensor:
    """The binary-tree function of x (N, d): pair neighbours (after reordering the inputs
    by `order`), apply `constituent` to each pair, and repeat until one value is left.
    Returns (N,)."""
    levels_of(x.shape[1])
    values = x if order is None else x[:, torch.as_tensor(order)]
    while values.shape[1] > 1:
        values = constituent(values[:, 0::2], values[:, 1::2])
    return values[:, 0]


class TreeNet(nn.Module):
    """A network with the binary-tree graph: every node is its own 2-`width`-1 ReLU MLP,
    and the nodes of one level run together as a batched matrix product. `order` reorders
    the inputs before pairing (the identity matches `tree_target`; another order pairs the
    wrong inputs)."""

    def __init__(self, d: int, width: int = 16, order: np.ndarray | None = None) -> None:
        super().__init__()
        levels = levels_of(d)
        order = np.arange(d) if order is None else order
        self.register_buffer("order", torch.as_tensor(order))
        lists = (nn.ParameterList() for _ in range(4))
        self.hidden, self.hidden_bias, self.out, self.out_bias = lists
        for level in range(levels):
            nodes = d >> (level + 1)
            # nn.Linear's default: uniform in +-1/sqrt(fan_in), node by node
            self.hidden.append(nn.Parameter(_uniform((nodes, 2, width), 2)))
            self.hidden_bias.append(nn.Parameter(_uniform((nodes, width), 2)))
            self.out.append(nn.Parameter(_uniform((nodes, width), width)))
            self.out_bias.append(nn.Parameter(_uniform((nodes,), width)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = x[:, self.order]
        layers = zip(self.hidden, self.hidden_bias, self.out, self.out_bias, strict=True)
        for w, b, v, c in layers:
            pairs = values.reshape(len(x), -1, 2)  # (N, nodes, 2)
            hidden = torch.relu(torch.einsum("nki,kiw->nkw", pairs, w) + b)
            values = (hidden * v).sum(-1) + c  # (N, nodes)
        return values[:, 0]


def _uniform(shape: tuple[int, ...], fan_in: int) -> torch.Tensor:
    bound = 1 / math.sqrt(fan_in)
    return torch.empty(shape).uniform_(-bound, bound)


class Flat(nn.Sequential):
    """An MLP with scalar output: `forward` returns shape (N,)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x)[:, 0]


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def shallow(d: int, budget: int) -> Flat:
    """One hidden ReLU layer, as wide as `budget` parameters allow: (d + 2) w + 1 <= budget."""
    width = max(1, (budget - 1) // (d + 2))
    return Flat(*mlp([d, width, 1], bias=True))


def dense_deep(d: int, budget: int, depth: int = 3) -> Flat:
    """`depth` hidden ReLU layers of equal width w, dense between layers, with at most `budget` parameters:
    (d + 1) w + (depth - 1)(w + 1) w + w + 1 <= budget."""
    width = 1
    while _dense_count(d, width + 1, depth) <= budget:
        width += 1
    return Flat(*mlp([d, *[width] * depth, 1], bias=True))


def _dense_count(d: int, width: int, depth: int) -> int:
    return (d + 1) * width + (depth - 1) * (width + 1) * width + width + 1


def normalised_mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Test MSE divided by the variance of the targets: 1 is what predicting the mean scores."""
    with torch.no_grad():
        return float(((model(x) - y) ** 2).mean() / y.var())


def tree_data(d: int, count: int, seed: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """`count` inputs uniform on [-1, 1]^d from a seeded generator, and the tree target at them."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(count, d, generator=g) * 2 - 1
    return x.to(device), tree_target(x).to(device)


def fit_tree_target(model: nn.Module, d: int, *, train: int, test: int, seed: int,
                    device: torch.device | str = "cpu", **recipe) -> float:
    """Train `model` on `train` points of the tree target in d dimensions (data seed `seed`, test data
    seed `seed` + 1) with `train_regressor(**recipe)`; return its normalised test MSE."""
    x, y = tree_data(d, train, seed, device)
    x_test, y_test = tree_data(d, test, seed + 1, device)
    model = model.to(device)
    train_regressor(model, x, y, seed=seed, **recipe)
    return normalised_mse(model, x_test, y_test)


# --- the computability argument in miniature: Boolean gates as ReLU networks -----------------------

def gate_and(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """AND on {0, 1}: relu(a + b - 1)."""
    return torch.relu(a + b - 1)


def gate_or(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """OR on {0, 1}: a + b - relu(a + b - 1)."""
    return a + b - torch.relu(a + b - 1)


def gate_xor(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """XOR on {0, 1}: relu(a - b) + relu(b - a)."""
    return torch.relu(a - b) + torch.relu(b - a)


GATES = {"and": gate_and, "or": gate_or, "xor": gate_xor}
RELUS_PER_GATE = {"and": 1, "or": 1, "xor": 2}


def ripple_adder(a: torch.Tensor, b: torch.Tensor,
                 gates: dict = GATES) -> tuple[torch.Tensor, dict[str, int]]:
    """Add two n-bit numbers given as bits (N, n), least significant first, with a
    ripple-carry circuit of two-input gates, each gate a tiny ReLU network. Returns the
    n + 1 sum bits (N, n + 1) and how many gates of each kind were used. Every gate reads
    two values: the circuit is compositionally sparse."""
    used = {name: 0 for name in gates}

    def gate(name: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        used[name] += 1
        return gates[name](x, y)

    carry = torch.zeros_like(a[:, 0])
    bits = []
    for i in range(a.shape[1]):
        partial = gate("xor", a[:, i], b[:, i])
        bits.append(gate("xor", partial, carry))
        carry = gate("or", gate("and", a[:, i], b[:, i]), gate("and", partial, carry))
    return torch.stack([*bits, carry], dim=1), used


def all_bit_pairs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every pair of n-bit numbers as bits (4^n, n) each, least significant bit first."""
    values = torch.arange(2**n)
    bits = ((values[:, None] >> torch.arange(n)) & 1).float()
    a = bits.repeat_interleave(2**n, dim=0)
    b = bits.repeat(2**n, 1)
    return a, b


def to_int(bits: torch.Tensor) -> torch.Tensor:
    """Bits (N, k), least significant first, as integers (N,)."""
    return (bits.round().long() << torch.arange(bits.shape[1])).sum(1)
