"""The self-checks of the exercises of `canonical-representation`, each answer computed from the exercise's formula."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from companion.exercises.judge import Target, exact, exercise
from companion.ml.models import mlp


@exercise("ex-crh-nfa", "index in `model` of the layer whose alpha(AGOP, W^T W) is exactly 1")
def crh_nfa(*, widths: Sequence[int] = (64, 128, 128, 128, 10)) -> Target:
    """ex-crh-nfa: the index in the model of the layer where alpha(AGOP, W^T W) is exactly 1, the last
    linear layer (J = W there). Default: the chapter's MAIN["quick"]["widths"], built as the chapter does."""
    with torch.random.fork_rng(devices=[]):  # building it must not move the student's random state
        model = mlp(widths, bias=True)
    return exact(max(i for i, m in enumerate(model) if isinstance(m, nn.Linear)))
