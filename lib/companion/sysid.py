"""System identification with a known answer: a model zoo, recordings from a "brain", and the identification.

Han, Poggio and Cheung (2023) replace the brain by a network whose architecture is known, record from
some of its units, and ask whether the usual similarity scores pick, among candidate models, one of
the right architecture and, within it, the right layer. This module holds the pieces: small networks
for 8x8 digits with named layers, their activations at every layer, stimulus sets (digits, white
noise, smoothed noise), and the identification itself for any score.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from companion.similarity import LAMBDAS, ridge_encoding, sample_units, sparse_projection


class DigitNet(nn.Module):
    """A small network for 8x8 digits whose recorded layers are named: "conv1", "conv2", "fc" for the
    convolutional kinds ("cnn3" with 3x3 kernels, "cnn5" with 5x5), "fc1", "fc2", "fc3" for "mlp".
    Every recorded layer is the output of a ReLU."""

    def __init__(self, kind: str = "cnn3") -> None:
        super().__init__()
        self.kind = kind
        if kind in ("cnn3", "cnn5"):
            k = int(kind[-1])
            self.conv1 = nn.Conv2d(1, 16, k, padding=k // 2)
            self.conv2 = nn.Conv2d(16, 32, k, padding=k // 2)
            self.fc = nn.Linear(32 * 4 * 4, 64)
        elif kind == "mlp":
            self.fc1, self.fc2, self.fc3 = nn.Linear(64, 256), nn.Linear(256, 128), nn.Linear(128, 64)
        else:
            raise ValueError(f"unknown network kind {kind!r}; expected 'cnn3', 'cnn5' or 'mlp'")
        self.head = nn.Linear(64, 10)

    @property
    def layers(self) -> tuple[str, ...]:
        return ("conv1", "conv2", "fc") if self.kind != "mlp" else ("fc1", "fc2", "fc3")

    def recorded(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The activations (N, units) of every recorded layer for inputs x (N, 64)."""
        out = {}
        if self.kind == "mlp":
            h = x
            for name in self.layers:
                h = out[name] = F.relu(getattr(self, name)(h))
            return out
        h = out["conv1"] = F.relu(self.conv1(x.reshape(-1, 1, 8, 8)))
        h = out["conv2"] = F.relu(self.conv2(h))
        out["fc"] = F.relu(self.fc(F.max_pool2d(h, 2).flatten(1)))
        return {name: v.flatten(1) for name, v in out.items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.recorded(x)[self.layers[-1]])


@torch.no_grad()
def activations(model: DigitNet, stimuli: np.ndarray) -> dict[str, np.ndarray]:
    """Every recorded layer's responses to `stimuli` (N, 64), as float64 arrays (N, units)."""
    model.eval()
    return {k: v.double().numpy() for k, v in model.recorded(torch.as_tensor(stimuli).float()).items()}


def stimulus_sets(digits: np.ndarray, count: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Three stimulus sets of `count` 8x8 images (N, 64) in [0, 1]: held-out digits, white noise, and
    white noise smoothed by a 3x3 box filter and rescaled to [0, 1] (spatially correlated, like images)."""
    rng = np.random.default_rng(seed)
    white = rng.random((count, 8, 8))
    padded = np.pad(white, ((0, 0), (1, 1), (1, 1)), mode="edge")
    smooth = sum(padded[:, i:i + 8, j:j + 8] for i in range(3) for j in range(3)) / 9
    lo, hi = smooth.min(axis=(1, 2), keepdims=True), smooth.max(axis=(1, 2), keepdims=True)
    smooth = (smooth - lo) / np.where(hi > lo, hi - lo, 1.0)
    return {"digits": digits[:count], "white noise": white.reshape(count, 64),
            "smoothed noise": smooth.reshape(count, 64)}


def record(brain: DigitNet, stimuli: np.ndarray, units: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A recording: the responses of `units` distinct units drawn at random from each layer of `brain`."""
    out = {}
    for k, (name, values) in enumerate(activations(brain, stimuli).items()):
        out[name] = values[:, sample_units(values.shape[1], units, seed=seed + k)]
    return out


Score = Callable[[np.ndarray, np.ndarray], float]


def identify(recording: dict[str, np.ndarray], candidates: dict[str, dict[str, np.ndarray]],
             score: Score) -> dict[str, dict[str, dict[str, float]]]:
    """score(candidate layer's features, recorded layer's responses) for every recorded layer, candidate
    model and candidate layer: {recorded layer: {model: {layer: score}}}."""
    return {target: {model: {layer: score(features, responses) for layer, features in layers.items()}
                     for model, layers in candidates.items()}
            for target, responses in recording.items()}


def best_match(scores: dict[str, dict[str, float]]) -> tuple[str, str]:
    """The (model, layer) with the highest score for one recorded layer."""
    return max(((m, layer) for m, layers in scores.items() for layer in layers),
               key=lambda ml: scores[ml[0]][ml[1]])


def ridge_scores(recording: dict[str, np.ndarray], candidates: dict[str, dict[str, np.ndarray]],
                 dim: int = 300, lambdas: tuple[float, ...] = LAMBDAS, seed: int = 0,
                 ) -> dict[str, dict[str, dict[str, float]]]:
    """`identify` with the ridge encoding score (median held-out r; candidate features projected to
    at most `dim` columns), in one ridge fit per candidate layer: every unit is fitted on its own, so
    the recorded layers' units can share the candidate's SVDs. Same result as fitting layer by layer."""
    names = list(recording)
    bounds = np.cumsum([0] + [recording[k].shape[1] for k in names])
    responses = np.concatenate([recording[k] for k in names], axis=1)
    out: dict[str, dict[str, dict[str, float]]] = {k: {m: {} for m in candidates} for k in names}
    for model, layers in candidates.items():
        for layer, features in layers.items():
            _, r = ridge_encoding(sparse_projection(features, dim, seed), responses, lambdas, seed=seed)
            for k, name in enumerate(names):
                out[name][model][layer] = float(np.median(r[bounds[k]:bounds[k + 1]]))
    return out
