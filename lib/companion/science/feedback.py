"""Layers whose error signal travels down a separate feedback pathway B instead of the forward weights W.

Backpropagation sends the error of a layer's output, delta, to its input as delta @ W; a brain has no
way to read W there. These layers send it as delta @ B, with feedback weights B of W's shape, by the
"detach trick": the output is f(x.detach(), W) + (f(x, B) - f(x, B).detach()), whose value is
f(x, W) and whose gradient reaches x only through B. The same trick gives B the gradient that W
gets, so plain SGD on B with the same weight decay is the plastic circuit of the chapter (Kolen and
Pollack's rule): W - B then shrinks by (1 - lr * wd) at every step. Train it with weight decay on
every parameter (`train_classifier`'s default): decay on the weight matrices only would leave B
undecayed.

Rules: "backprop" (B = W), "feedback-alignment" (B fixed and random, Lillicrap et al. 2016),
"sign-symmetry" (B = sign(W) times the layer's mean |W|, our scaling of Liao, Leibo and Poggio 2016) and
"circuit" (B plastic, updated by the same local signals as W).

Used in the chapters: bio-circuit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from companion.ml.device import to_device_async

RULES = ("backprop", "feedback-alignment", "sign-symmetry", "circuit")


def check_rule(rule: str) -> str:
    """Return `rule` if it is one of RULES, else raise a ValueError that lists them."""
    if rule not in RULES:
        raise ValueError(f"unknown learning rule {rule!r}; choose one of {', '.join(RULES)}")
    return rule


def through_feedback(f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                     W: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """f(x, W) in value; in gradient, x gets its error through B, W gets backprop's, and B gets what W gets.

    `f(x, weight)` must be linear in x and in weight (a linear layer or a convolution without bias).
    """
    z = f(x, B)
    return f(x.detach(), W) + (z - z.detach())


class FeedbackLayer(nn.Module):
    """A linear or convolutional layer with a feedback pathway B of its weight's shape, per `rule`.

    Feedback alignment draws B once, independently of W, from W's initial distribution (a Kaiming
    uniform with the layer's fan-in); the circuit does the same, then learns B. `B` is a parameter
    only for the circuit (so that an optimiser updates it); otherwise it is a buffer, and for
    sign-symmetry it is recomputed from W at every forward pass.
    """

    def __init__(self, layer: nn.Linear | nn.Conv2d, rule: str) -> None:
        super().__init__()
        self.layer, self.rule = layer, check_rule(rule)
        if rule in ("feedback-alignment", "circuit"):
            B = torch.empty_like(layer.weight)
            nn.init.kaiming_uniform_(B, a=math.sqrt(5))  # the default init of W
            if rule == "circuit":
                self.B = nn.Parameter(B)
            else:
                self.register_buffer("B", B)

    def feedback(self) -> torch.Tensor | None:
        """The weights the error travels through (None for backprop, which uses W itself)."""
        W = self.layer.weight
        if self.rule == "backprop":
            return None
        if self.rule == "sign-symmetry":
            return (torch.sign(W) * W.abs().mean()).detach()
        return self.B

    def apply_weight(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """The layer's linear map with `weight` in place of its own, without the bias."""
        if isinstance(self.layer, nn.Conv2d):
            return self.layer._conv_forward(x, weight, None)  # keeps stride, padding (mode), groups
        return F.linear(x, weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = self.feedback()
        if B is None or not torch.is_grad_enabled():  # no gradient wanted: the plain layer suffices
            return self.layer(x)
        out = through_feedback(self.apply_weight, x, self.layer.weight, B)
        bias = self.layer.bias
        if bias is None:
            return out
        return out + (bias.view(-1, 1, 1) if isinstance(self.layer, nn.Conv2d) else bias)


def with_feedback(model: nn.Module, rule: str) -> nn.Module:
    """Wrap every nn.Linear and nn.Conv2d of `model` (in place) in a FeedbackLayer that learns by `rule`."""
    check_rule(rule)
    for name, child in model.named_children():
        if isinstance(child, nn.MultiheadAttention):  # reads its projections' weights directly
            continue
        if isinstance(child, nn.Linear | nn.Conv2d):
            setattr(model, name, FeedbackLayer(child, rule))
        elif not isinstance(child, FeedbackLayer):
            with_feedback(child, rule)
    return model


def feedback_mlp(widths: Sequence[int], rule: str) -> nn.Sequential:
    """A ReLU MLP with biases whose every linear layer learns by `rule` (widths: input first)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return with_feedback(nn.Sequential(*layers), rule)


def impair_feedback(model: nn.Module, removed: float = 0.0, noise: float = 0.0,
                    seed: int = 0) -> list[torch.utils.hooks.RemovableHandle]:
    """Damage the plastic feedback of a circuit model: remove a share `removed` of each B's synapses (they
    stay at zero) and add Gaussian noise to B's updates, `noise` times the mean |gradient| per entry.
    Returns the gradient hooks' handles (`handle.remove()` stops the noise and the masking)."""
    if not 0 <= removed < 1 or noise < 0:
        raise ValueError(f"need 0 <= removed < 1 and noise >= 0, got removed={removed}, noise={noise}")
    layers = feedback_layers(model)
    wrong = {layer.rule for layer in layers} - {"circuit"}
    if wrong:
        raise ValueError(f"only the circuit's feedback is plastic; this model has layers learning by {wrong}")
    g = torch.Generator().manual_seed(seed)
    handles = []
    for layer in layers:
        mask = (torch.rand(layer.B.shape, generator=g) >= removed).to(layer.B)
        with torch.no_grad():
            layer.B.mul_(mask)

        def damage(grad: torch.Tensor, mask: torch.Tensor = mask) -> torch.Tensor:
            if noise:  # drawn on the CPU, so a seed gives the same kicks on every device
                kick = to_device_async(torch.randn(grad.shape, generator=g), grad.device).to(grad.dtype)
                grad = grad + kick * noise * grad.abs().mean()
            return grad * mask

        handles.append(layer.B.register_hook(damage))
    return handles


def feedback_layers(model: nn.Module) -> list[FeedbackLayer]:
    """The model's FeedbackLayers, in order."""
    return [m for m in model.modules() if isinstance(m, FeedbackLayer)]


@torch.no_grad()
def alignment(layer: FeedbackLayer) -> tuple[float, float]:
    """cos(B, W) over all entries, and the share of entries where B and W have the same sign."""
    B, W = layer.feedback(), layer.layer.weight
    if B is None:
        return 1.0, 1.0
    cos = float((B * W).sum() / (B.norm() * W.norm()))
    return cos, float((torch.sign(B) == torch.sign(W)).float().mean())


@torch.no_grad()
def surviving_alignment(layer: FeedbackLayer) -> tuple[float, float]:
    """For feedback with removed (zero) synapses: cos(B, W) over the synapses that exist, and the share of
    ||W||^2 that sits on them (the square of cos(B, W) over all entries when B copies W there)."""
    B, W = layer.feedback(), layer.layer.weight
    kept = W * (B != 0)
    return float((kept * B).sum() / (kept.norm() * B.norm())), float(kept.norm() ** 2 / W.norm() ** 2)


@torch.no_grad()
def mismatch(layer: FeedbackLayer) -> float:
    """||W - B||_F, the distance the circuit's decay law is about."""
    B = layer.feedback()
    return 0.0 if B is None else float((layer.layer.weight - B).norm())
