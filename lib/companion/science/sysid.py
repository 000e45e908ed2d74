"""System identification with a known answer: a model zoo, recordings from a "brain", and the identification.

Han, Poggio and Cheung (2023) replace the brain by a network whose architecture is known, record from
some of its units, and ask whether the usual similarity scores pick, among candidate models, one of
the right architecture and, within it, the right layer. This module holds the pieces: small networks
of four kinds (two convolutional, a dense one, a transformer) with named layers, their activations,
stimulus sets (images, white noise, smoothed noise), recordings, the scores of a whole zoo, and the
identification cases with their summaries.

Used in the chapters: system-identification.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from companion.science.similarity import LAMBDAS, ridge_encoding, sample_units, sparse_projection

KINDS = ("cnn3", "cnn5", "mlp", "vit")
MOTIFS = {"cnn3": "convolution", "cnn5": "convolution", "mlp": "dense", "vit": "attention"}


class ZooNet(nn.Module):
    """A small image classifier of one of four kinds, with three named recorded layers:
    "conv1", "conv2", "fc" for the convolutional kinds ("cnn3" with 3x3 kernels, "cnn5" with 5x5),
    "fc1", "fc2", "fc3" for "mlp", "block1", "block2", "fc" for "vit" (a two-block transformer on
    16 patches). Inputs are (N, channels * size * size) with size a multiple of 8 (digits: 1, 8;
    CIFAR-10: 3, 32); convolutions pool larger images down to 8x8 after their first layer."""

    def __init__(self, kind: str = "cnn3", channels: int = 1, size: int = 8, width: int = 16) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown network kind {kind!r}; expected one of {KINDS}")
        if size % 8:
            raise ValueError(f"image size {size} is not a multiple of 8")
        self.kind, self.channels, self.size = kind, channels, size
        d = channels * size * size
        if kind in ("cnn3", "cnn5"):
            k = int(kind[-1])
            self.conv1 = nn.Conv2d(channels, width, k, padding=k // 2)
            self.conv2 = nn.Conv2d(width, 2 * width, k, padding=k // 2)
            self.fc = nn.Linear(2 * width * 16, 64)
        elif kind == "mlp":
            self.fc1, self.fc2, self.fc3 = nn.Linear(d, 256), nn.Linear(256, 128), nn.Linear(128, 64)
        else:
            patch = size // 4
            self.embed = nn.Conv2d(channels, 2 * width, patch, stride=patch)
            self.position = nn.Parameter(0.02 * torch.randn(16, 2 * width))
            self.block1, self.block2 = (
                nn.TransformerEncoderLayer(2 * width, 4, 4 * width, dropout=0.0,
                                           batch_first=True, norm_first=True)
                for _ in range(2))
            self.fc = nn.Linear(2 * width, 64)
        self.head = nn.Linear(64, 10)
        self.trained = False

    @property
    def layers(self) -> tuple[str, ...]:
        return {"mlp": ("fc1", "fc2", "fc3"), "vit": ("block1", "block2", "fc")}.get(
            self.kind, ("conv1", "conv2", "fc"))

    def recorded(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The activations (N, units) of every recorded layer for inputs x (N, pixels)."""
        out = {}
        if self.kind == "mlp":
            h = x
            for name in self.layers:
                h = out[name] = F.relu(getattr(self, name)(h))
            return out
        image = x.reshape(-1, self.channels, self.size, self.size)
        if self.kind == "vit":
            h = self.embed(image).flatten(2).transpose(1, 2) + self.position
            h = out["block1"] = self.block1(h)
            h = out["block2"] = self.block2(h)
            out["fc"] = F.relu(self.fc(h.mean(1)))
        else:
            h = out["conv1"] = F.relu(self.conv1(image))
            h = out["conv2"] = F.relu(self.conv2(F.max_pool2d(h, self.size // 8)))
            out["fc"] = F.relu(self.fc(F.max_pool2d(h, 2).flatten(1)))
        return {name: v.flatten(1) for name, v in out.items()}

    def widths(self) -> dict[str, int]:
        """The number of units of every recorded layer."""
        with torch.no_grad():
            probe = torch.zeros(1, self.channels * self.size**2, device=self.head.weight.device)
            return {name: v.shape[1] for name, v in self.recorded(probe).items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.recorded(x)[self.layers[-1]])


@torch.no_grad()
def activations(model: ZooNet, stimuli: np.ndarray, chunk: int = 1000) -> dict[str, np.ndarray]:
    """Every recorded layer's responses to `stimuli` (N, pixels), as float64 arrays (N, units), computed
    on the model's device in chunks."""
    model.eval()
    device = next(model.parameters()).device
    parts = [model.recorded(torch.as_tensor(stimuli[i:i + chunk], device=device).float())
             for i in range(0, len(stimuli), chunk)]
    return {k: torch.cat([p[k] for p in parts]).double().cpu().numpy() for k in parts[0]}


def pixels(images: np.ndarray, size: int = 32) -> np.ndarray:
    """uint8 images (N, H, W) or (N, H, W, 3) as flattened RGB stimuli (N, 3 * size * size) in [0, 1],
    channels first; grey images are copied to the three channels and smaller ones padded with black
    (MNIST's 28x28 digits become 32x32 images a CIFAR-10 network can see)."""
    x = images.astype(np.float32) / 255.0
    if x.ndim == 3:
        x = np.repeat(x[..., None], 3, axis=-1)
    pad = size - x.shape[1]
    if pad < 0 or x.shape[1] != x.shape[2]:
        raise ValueError(f"expected square images of at most {size} pixels, got {images.shape}")
    x = np.pad(x, ((0, 0), (pad // 2, pad - pad // 2), (pad // 2, pad - pad // 2), (0, 0)))
    return x.transpose(0, 3, 1, 2).reshape(len(x), -1)


def stimulus_sets(images: dict[str, np.ndarray], count: int, shape: tuple[int, int, int] = (1, 8, 8),
                  seed: int = 0) -> dict[str, np.ndarray]:
    """Stimulus sets of `count` images of `shape` (flattened, values in [0, 1]): the first `count` of
    each named image set in `images`, then white noise, and white noise smoothed by a box filter
    3/8 of the image wide and rescaled to [0, 1] (spatially correlated, like natural images)."""
    from scipy.ndimage import uniform_filter

    rng = np.random.default_rng(seed)
    white = rng.random((count, *shape))
    width = 3 * shape[-1] // 8
    smooth = uniform_filter(white, size=(1, 1, width, width), mode="nearest")
    lo, hi = smooth.min(axis=(1, 2, 3), keepdims=True), smooth.max(axis=(1, 2, 3), keepdims=True)
    smooth = (smooth - lo) / np.where(hi > lo, hi - lo, 1.0)
    sets = {name: np.asarray(values[:count]).reshape(-1, int(np.prod(shape)))
            for name, values in images.items()}
    if any(len(v) < count for v in sets.values()):
        raise ValueError(f"every image set needs at least {count} images")
    return sets | {"white noise": white.reshape(count, -1), "smoothed noise": smooth.reshape(count, -1)}


def choose_units(brain: ZooNet, stimuli: Sequence[np.ndarray], count: int, seed: int = 0,
                 ) -> dict[str, np.ndarray]:
    """The units to record: `count` distinct units drawn at random from each layer of `brain` among
    those that respond to every stimulus set in `stimuli` (a unit whose response never changes is not
    recorded, as an electrophysiologist keeps only responsive cells); all of them if fewer respond.
    Choosing them once keeps the same cells across stimulus sets."""
    alive = None
    for images in stimuli:
        varies = {name: v.std(0) > 0 for name, v in activations(brain, images).items()}
        alive = varies if alive is None else {k: alive[k] & varies[k] for k in alive}
    return {name: np.flatnonzero(mask)[sample_units(int(mask.sum()), count, seed=seed + k)]
            for k, (name, mask) in enumerate(alive.items())}


def record(brain: ZooNet, stimuli: np.ndarray, units: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A recording: the responses (N, len(units[layer])) of the chosen `units` of every layer of
    `brain` to `stimuli`."""
    return {name: values[:, units[name]] for name, values in activations(brain, stimuli).items()}


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


def model_name(kind: str, seed: int, trained: bool = True) -> str:
    """The zoo's name for a model: "cnn3 s0", or "cnn3 s0 untrained"."""
    return f"{kind} s{seed}" + ("" if trained else " untrained")


def train_zoo(kinds: Sequence[str], seed: int, x: torch.Tensor, y: torch.Tensor, recipe: dict,
              untrained: bool = False, shape: tuple[int, int, int] = (1, 8, 8), width: int = 16,
              ) -> dict[str, ZooNet]:
    """A model zoo: a ZooNet of every kind, initialised from `seed` and trained on (x, y) with the
    `recipe` of `train_classifier`, and with `untrained`, an untrained copy of each (the same
    initialisation). The models live on x's device; `model.trained` says which is which."""
    from companion.ml.training import train_classifier

    zoo = {}
    for kind in kinds:
        torch.manual_seed(seed)
        model = ZooNet(kind, shape[0], shape[-1], width).to(x.device)
        if untrained:
            copy = ZooNet(kind, shape[0], shape[-1], width).to(x.device)
            copy.load_state_dict(model.state_dict())
            copy.trained = False
            zoo[model_name(kind, seed, trained=False)] = copy
        train_classifier(model, x, y, **recipe, seed=seed, log_every=recipe["epochs"])
        model.trained = True
        zoo[model_name(kind, seed)] = model
    return dict(sorted(zoo.items(), key=lambda item: item[0].endswith("untrained")))


def ridge_scores(recording: dict[str, np.ndarray], candidates: dict[str, dict[str, np.ndarray]],
                 dim: int = 300, lambdas: tuple[float, ...] = LAMBDAS, seed: int = 0,
                 ) -> dict[str, dict[str, dict[str, float]]]:
    """`identify` with the ridge encoding score (median held-out r; candidate features projected to
    at most `dim` columns), in one ridge fit per candidate layer: every unit is fitted on its own, so
    the recorded layers' units can share the candidate's decompositions. Same result as fitting
    layer by layer. Recordings of several brains can be scored at once under keys of their own."""
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


def cka_scores(recording: dict[str, np.ndarray], candidates: dict[str, dict[str, np.ndarray]],
               ) -> dict[str, dict[str, dict[str, float]]]:
    """`identify` with linear CKA on the candidates' full layers (nothing is fitted). Each
    representation's centred stimulus-by-stimulus Gram matrix is computed once, so many recordings
    cost little more than one: CKA = <K, L> / (|K| |L|) for centred Grams K and L."""
    def unit_gram(values: np.ndarray) -> np.ndarray:
        centred = values - values.mean(0)
        gram = centred @ centred.T
        return gram / np.linalg.norm(gram)

    grams = {m: {layer: unit_gram(v) for layer, v in layers.items()} for m, layers in candidates.items()}
    return {target: {m: {layer: float((g * unit_gram(responses)).sum()) for layer, g in layers.items()}
                     for m, layers in grams.items()}
            for target, responses in recording.items()}


def score_zoo(brains: dict[str, ZooNet], candidates: dict[str, ZooNet], stimuli: np.ndarray,
              units: dict[str, dict[str, np.ndarray]], dim: int = 300, seed: int = 0,
              ) -> dict[str, dict]:
    """Record the chosen `units` of every brain ({brain: {layer: unit indices}}, from
    `choose_units`) and score each recording against every layer of every candidate (include the
    brains among them to score a brain against itself), with ridge encoding (`dim` as in
    `ridge_scores`) and with linear CKA:
    {"ridge" | "cka": {brain: {recorded layer: {model: {layer: score}}}}}."""
    features = {m: activations(model, stimuli) for m, model in candidates.items()}
    recording = {f"{b}/{layer}": v for b, brain in brains.items()
                 for layer, v in record(brain, stimuli, units[b]).items()}
    flat = {"ridge": ridge_scores(recording, features, dim=dim, seed=seed),
            "cka": cka_scores(recording, features)}
    return {score: {b: {layer: values[f"{b}/{layer}"] for layer in brain.layers}
                    for b, brain in brains.items()}
            for score, values in flat.items()}


def among(scores: dict[str, dict[str, dict[str, float]]], models: Sequence[str],
          ) -> dict[str, dict[str, dict[str, float]]]:
    """One brain's scores ({recorded layer: {model: {layer: score}}}) restricted to `models`."""
    return {layer: {m: by_model[m] for m in models} for layer, by_model in scores.items()}


def cases(scores: dict[str, dict[str, dict[str, float]]], brain: str, models: dict[str, ZooNet],
          ) -> list[dict]:
    """One identification case per recorded layer of the model named `brain`, from its `scores`
    against candidates ({layer: {model: {layer: score}}}; `models` holds the brain and every
    candidate): the chosen model and layer; whether the architecture is right (a trained model of
    the brain's kind), the layer too (`exact`), or the motif; the margin of the best
    right-architecture score over the best wrong one (positive when the right one wins); the units of
    the chosen and of the recorded layer, and whether the recorded layer is the brain's last."""
    kind = models[brain].kind
    right = [m for m in next(iter(scores.values())) if models[m].kind == kind and models[m].trained]
    widths = {m: models[m].widths() for m in [brain, *next(iter(scores.values()))]}
    out = []
    for layer, by_model in scores.items():
        model, chosen = best_match(by_model)
        best = {ok: max((v for m in by_model if (m in right) == ok for v in by_model[m].values()),
                        default=float("nan"))
                for ok in (True, False)}
        out.append(dict(brain=brain, layer=layer, model=model, chosen=chosen,
                        architecture=model in right, exact=model in right and chosen == layer,
                        motif=MOTIFS[models[model].kind] == MOTIFS[kind],
                        margin=best[True] - best[False], units=widths[model][chosen],
                        target_units=widths[brain][layer], last=layer == models[brain].layers[-1]))
    return out


def accuracy(outcomes: list[dict], what: str = "architecture") -> float:
    """The share of identification cases whose `what` ("architecture", "exact" or "motif") is right."""
    return float(np.mean([c[what] for c in outcomes]))


def wider_share(outcomes: list[dict]) -> float:
    """Among the cases that record a brain's last layer, the share identified with a layer that has
    more units than the recorded one (the bias of a score towards high-dimensional layers)."""
    last = [c for c in outcomes if c["last"]]
    return float(np.mean([c["units"] > c["target_units"] for c in last]))


def disagreement(by_stimuli: dict[str, list[dict]]) -> float:
    """How often two stimulus sets identify a recorded layer differently: over every pair of sets in
    `by_stimuli` (each set's cases, in the same order), the mean share of recorded layers whose
    identified (model, layer) differs between the two."""
    names = list(by_stimuli)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    return float(np.mean([np.mean([(c["model"], c["chosen"]) != (d["model"], d["chosen"])
                                   for c, d in zip(by_stimuli[a], by_stimuli[b], strict=True)])
                          for a, b in pairs]))


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson's 95% interval for a proportion: how far an accuracy from `total` cases can be trusted."""
    p = successes / total
    centre = (p + z**2 / (2 * total)) / (1 + z**2 / total)
    half = z * np.sqrt(p * (1 - p) / total + z**2 / (4 * total**2)) / (1 + z**2 / total)
    return float(centre - half), float(centre + half)
