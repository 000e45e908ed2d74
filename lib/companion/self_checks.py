"""Self-checks for the exercises whose answer is a number: `check("ex-...", answer, **inputs)`.

Every check computes its expected answer from the exercise's formula and inputs, never from a solution's
printed number; the inputs default to the chapter's quick settings, and the student passes them as
keyword arguments where the exercise varies them. A wrong answer's verdict says only which way it is off
(or which entries are), so a student can check before opening the solution.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import brentq
from torch import nn

from companion.ardt import parity, permutation_automaton
from companion.bounds import leading_ratio
from companion.compositional import levels_of
from companion.convnets import conv_net, layers_with_weights, output_positions
from companion.hyperbf_transformer import smallest_positive
from companion.models import mlp
from companion.stories import BOYS, GIRLS


@dataclass(frozen=True)
class Target:
    """One expected number and the answers accepted for it: [low, high], or (low, high] if `open_low`."""

    value: float
    low: float
    high: float
    name: str = ""
    open_low: bool = False

    def accepts(self, x: float) -> bool:
        above_low = x > self.low if self.open_low else x >= self.low
        return above_low and x <= self.high

    def side(self, x: float) -> str:
        """Which way a rejected answer is off: says nothing about the value itself."""
        if math.isnan(x):
            return "not a number"
        return "too high" if x > self.high else "too low"


def near(value: float, *, abs_tol: float = 0.0, rel_tol: float = 0.0, name: str = "") -> Target:
    """A target accepting value +- max(abs_tol, rel_tol |value|)."""
    tol = max(abs_tol, rel_tol * abs(value))
    return Target(value, value - tol, value + tol, name)


def exact(value: float, name: str = "") -> Target:
    """A target accepting only the value itself (counts, indices, depths)."""
    return Target(value, value, value, name)


@dataclass(frozen=True)
class Check:
    """What the answer is, how to compute the expected one from the inputs, and, for answers that are
    not plain numbers, how to judge them (returns whether right and a verdict without the answer)."""

    asks: str
    expected: Callable[..., Any]
    judge: Callable[[Any, Any], tuple[bool, str]] | None = None


# ---------------------------------------------------------------- sgd-vs-gd


def sgd_predict_batch(*, n: int = 20, lr: float = 0.1, weight_decay: float = 0.05, batch_size: int = 2,
                      reduction: float = 1e-3) -> Target:
    """ex-sgd-predict-batch: ||W_perp|| shrinks by (1 - lr wd) per update and SGD makes n/B updates an epoch.
    Defaults: the chapter's LINEAR["quick"] (defined in the chapter, so repeated here)."""
    if n % batch_size:
        raise ValueError(f"batch_size {batch_size} must divide n = {n}")
    epochs = math.log(reduction) / ((n // batch_size) * math.log(1 - lr * weight_decay))
    first = math.floor(epochs) + 1  # the first whole epoch strictly below the target
    # The real-valued solution and the first whole epoch both count; one epoch fewer is not yet below.
    return Target(first, first - 1, first, open_low=True)


def slow_root(step_decay: float, momentum: float) -> float:
    """Modulus of the slower root of z^2 - (1 + momentum - step_decay) z + momentum: the per-update factor
    of a component that heavy-ball momentum with coupled decay (step_decay = lr * weight_decay) shrinks."""
    return float(np.abs(np.roots([1.0, -(1.0 + momentum - step_decay), momentum])).max())


def sgd_momentum(*, lr: float = 0.1, weight_decay: float = 0.05, beta: float = 0.9) -> Target:
    """ex-sgd-momentum: per-update factor of W_perp under heavy-ball momentum (the chapter's lr, decay)."""
    # Half a unit in the third decimal: the first-order guess 1 - lr wd / (1 - beta), wrong when the roots
    # are complex (the chapter's case), must not pass by rounding.
    return near(slow_root(lr * weight_decay, beta), abs_tol=5e-4)


# ---------------------------------------------------------------- bio-circuit


def bio_momentum(*, lr: float = 0.1, weight_decay: float = 1e-2, momentum: float = 0.9) -> Target:
    """ex-bio-momentum: per-step factor by which the mismatch D shrinks in the long run under heavy-ball
    momentum. Defaults: the chapter's SETTINGS["quick"]["recipe"] and the exercise's momentum."""
    root = slow_root(lr * weight_decay, momentum)
    if lr * weight_decay > (1 - math.sqrt(momentum)) ** 2:  # complex roots: only the modulus is right
        return near(root, abs_tol=5e-4)
    first_order = 1 - lr * weight_decay / (1 - momentum)
    # Real roots: the exact root and the solution's first-order value both count, each to half a unit in
    # the third decimal; plain SGD's factor 1 - lr wd is further off and fails.
    return Target(root, min(root, first_order) - 5e-4, max(root, first_order) + 5e-4)


def sign_cosine(mean_abs: float, mean_square: float) -> float:
    """cos(sign W, W) for iid symmetric entries, by the law of large numbers: E|w| / sqrt(E w^2)."""
    return mean_abs / math.sqrt(mean_square)


def bio_sign() -> tuple[Target, Target]:
    """ex-bio-sign: the cosine for entries uniform on [-a, a] (E|w| = a/2, E w^2 = a^2/3) and Gaussian
    N(0, a^2) (E|w| = a sqrt(2/pi), E w^2 = a^2); the scale a cancels, so a = 1."""
    uniform = sign_cosine(1 / 2, 1 / 3)
    gaussian = sign_cosine(math.sqrt(2 / math.pi), 1.0)
    # 0.01: two decimals, or a measurement on a layer of 10^4 or more weights (sampling sd below 0.005).
    return near(uniform, abs_tol=0.01, name="uniform"), near(gaussian, abs_tol=0.01, name="Gaussian")


def bio_probe(*, removed: float = 0.5) -> Target:
    """ex-bio-probe: cos(M * W, W) over all entries for a random mask M keeping a share 1 - removed, if W
    ignores the mask: the square root of the kept share of ||W||^2. Default: the chapter's PROBE."""
    if not 0 <= removed < 1:
        raise ValueError(f"removed is a share in [0, 1), got {removed}")
    return near(math.sqrt(1 - removed), abs_tol=0.01)  # two decimals, or a measurement on a whole layer


# ---------------------------------------------------------------- canonical-representation


def crh_nfa(*, widths: Sequence[int] = (64, 128, 128, 128, 10)) -> Target:
    """ex-crh-nfa: the index in the model of the layer where alpha(AGOP, W^T W) is exactly 1, the last
    linear layer (J = W there). Default: the chapter's MAIN["quick"]["widths"], built as the chapter does."""
    with torch.random.fork_rng(devices=[]):  # building it must not move the student's random state
        model = mlp(widths, bias=True)
    return exact(max(i for i, m in enumerate(model) if isinstance(m, nn.Linear)))


# ---------------------------------------------------------------- compositional-sparsity


def parity_network(*, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ex-cs-parity, one construction: units relu(s - j), j < n, of the bit sum s, with output weights
    solving the triangular system g(s) = s mod 2 at s = 1..n. Returns (W, b, a): f(x) = a . relu(W x + b)."""
    if not 1 <= n <= 16:
        raise ValueError(f"n must be between 1 and 16 (the check runs all 2^n inputs), got {n}")
    j = np.arange(n)
    s = np.arange(1, n + 1)
    a = np.linalg.solve(np.maximum(s[:, None] - j[None, :], 0.0), (s % 2).astype(float))
    return np.ones((n, n)), (-j).astype(float), a


def judge_parity(answer: Any, reference: tuple[np.ndarray, ...]) -> tuple[bool, str]:
    """Run the student's (W, b, a[, c]) on all of {0, 1}^n and compare with parity."""
    n = reference[0].shape[1]
    if not isinstance(answer, Sequence) or len(answer) not in (3, 4):
        raise ValueError("pass the network as (W, b, a) or (W, b, a, c), for f(x) = a . relu(W x + b) + c")
    W, b, a = (np.asarray(torch.as_tensor(v).detach().cpu(), dtype=float) for v in answer[:3])
    c = float(answer[3]) if len(answer) == 4 else 0.0
    if W.ndim != 2 or W.shape[1] != n or b.shape != (W.shape[0],) or a.shape != (W.shape[0],):
        raise ValueError(f"W must be (units, {n}), b and a (units,): got {W.shape}, {b.shape}, {a.shape}")
    bits = np.array(list(itertools.product((0.0, 1.0), repeat=n)))
    out = np.maximum(bits @ W.T + b, 0.0) @ a + c
    wrong = np.abs(out - bits.sum(1) % 2) > 1e-6  # exact up to float rounding of the student's weights
    if wrong.any():
        first = "".join(str(int(v)) for v in bits[np.argmax(wrong)])
        return False, f"not yet: the network misses parity on {int(wrong.sum())} of the {len(bits)} inputs " \
                      f"(for example bits {first})."
    if W.shape[0] > n:
        return False, f"not yet: it computes parity, but with {W.shape[0]} hidden units; the exercise allows n."
    return True, f"right: parity on all {len(bits)} inputs with {W.shape[0]} hidden units."


def cs_lipschitz(*, d: int = 32, lipschitz: float = 1 + math.pi / 2) -> Target:
    """ex-cs-lipschitz: worst-case root error over delta, 1 + L + ... + L^(D-1), D the tree's depth."""
    return near(sum(lipschitz**j for j in range(levels_of(d))), rel_tol=0.01)  # the solution rounds it


# ---------------------------------------------------------------- decision-trees-lm


def ardt_window_short(*, test_strings: int = 1000) -> Target:
    """ex-ardt-window-short: no window ever holds x_1, so the final parity is a fair coin to the tree:
    accuracy 1/|Q|. Default: the chapter's SETTINGS["quick"]["automata"]["test"]."""
    expected = 1 / parity().states
    # Three binomial standard deviations over the test strings: a measured accuracy passes too.
    return near(expected, abs_tol=3 * math.sqrt(expected * (1 - expected) / test_strings))


def ardt_ordinal(*, states: int | None = None, symbols: int | None = None) -> Target:
    """ex-ardt-ordinal: depth of the shallowest tree of threshold tests on ids that isolates every
    (symbol, state) cell: halve the symbol ids, then the state ids. Defaults: permutation_automaton()'s."""
    automaton = permutation_automaton()
    states = automaton.states if states is None else states
    symbols = automaton.symbols if symbols is None else symbols
    return exact(math.ceil(math.log2(symbols)) + math.ceil(math.log2(states)))


def name_gaps(tokens: Sequence[str]) -> list[int]:
    """How many tokens back the previous name is, for every name of a story after its first."""
    where = [i for i, t in enumerate(tokens) if t in GIRLS or t in BOYS]
    return [b - a for a, b in itertools.pairwise(where)]


def ardt_names(*, stories: Sequence[Sequence[str]]) -> Target:
    """ex-ardt-names: the shortest window that always holds the previous name, the largest gap in `stories`
    (pass the chapter's `train_stories`)."""
    gaps = [g for s in stories for g in name_gaps(s)]
    if not gaps:
        raise ValueError("no story here names its character twice")
    return exact(max(gaps))


# ---------------------------------------------------------------- hyperbf-transformer


def hbt_spread(*, d: int = 32) -> Target:
    """ex-hbt-spread: Var(beta0 ||x - t||^2) for beta0 = 1/(2d), ||x||^2 = d and t ~ N(0, I_d): ||t||^2 has
    variance 2d, -2 x.t has variance 4 ||x||^2, and they are uncorrelated. Default: the quick model's dim."""
    beta0 = 1 / (2 * d)
    return near(beta0**2 * (2 * d + 4 * d), rel_tol=0.02)  # two significant digits


def dead_exponent(dtype: torch.dtype) -> float:
    """The exponent e beyond which exp(-e) rounds to exactly zero in `dtype`: -ln(smallest positive / 2)."""
    return -math.log(smallest_positive(dtype) / 2)


def hbt_fp16(*, beta0: float = 0.1) -> tuple[Target, ...]:
    """ex-hbt-fp16: the width at which the typical exponent 2 d beta0 reaches the dead exponent, for
    float16, bfloat16 and float32."""
    dtypes = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
    # Widths are whole numbers: one either side covers rounding and "first width that is dead".
    return tuple(near(dead_exponent(t) / (2 * beta0), abs_tol=1.0, name=k) for k, t in dtypes.items())


def hbt_decay(*, d: int = 768, beta0: float = 0.1, epochs: int = 200, train_size: int = 50_000,
              batch_size: int = 128, lr: float = 5e-4, weight_decay: float = 0.01) -> tuple[Target, ...]:
    """ex-hbt-decay: f at which the typical exponent falls to float32's dead exponent, (a) 2d beta0^f f^4 with
    log beta and L as parameters, (b) 2d beta0 f^4 with beta and M, and f = (1 - lr wd)^steps after the run
    (defaults: the exercise's CIFAR-10 run)."""
    threshold = dead_exponent(torch.float32)
    if 2 * d * beta0 <= threshold:  # both forms give 2 d beta0 at f = 1
        raise ValueError(f"with d = {d} and beta0 = {beta0} the block is not dead at the start")
    f_a = brentq(lambda f: 2 * d * beta0**f * f**4 - threshold, 1e-6, 1.0)
    f_b = (threshold / (2 * d * beta0)) ** 0.25
    f_run = (1 - lr * weight_decay) ** (epochs * train_size / batch_size)
    # f to two decimals, as the exercise's answer is read.
    return (near(f_a, abs_tol=5e-3, name="crossing (a)"), near(f_b, abs_tol=5e-3, name="crossing (b)"),
            near(f_run, abs_tol=5e-3, name="f after the run"))


# ---------------------------------------------------------------- low-rank-bounds


def lrb_nuclear(*, r: int, s: float) -> tuple[Target, ...]:
    """ex-lrb-nuclear: sup <W, A> over the Frobenius ball (||A||_F), the nuclear-norm ball (sigma_1(A)) and
    rank-r matrices of spectral norm 1 (Ky Fan r-norm), for A with r singular values s and the rest zero."""
    sigma = np.concatenate([np.full(r, float(s)), np.zeros(r)])  # the trailing zeros change nothing
    values = (float(np.sqrt((sigma**2).sum())), float(sigma.max()), float(np.sort(sigma)[::-1][:r].sum()))
    names = ("Frobenius ball", "nuclear-norm ball", "rank-r set")
    return tuple(near(v, rel_tol=5e-3, name=k) for v, k in zip(values, names, strict=True))  # 3 digits


# ---------------------------------------------------------------- sparse-norm-bounds


def snb_stride(*, n1: int, k: int, stride: int, n2: int | None = None) -> Target:
    """ex-snb-stride: ||T||_F^2 / ||w||_F^2 = P, the number of output positions of a k x k filter with
    `stride` and no padding on an n1 x n2 image (n2 = n1 unless given)."""
    n2 = n1 if n2 is None else n2
    return exact(((n1 - k) // stride + 1) * ((n2 - k) // stride + 1))


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


# ---------------------------------------------------------------- system-identification


def sysid_units(*, noise_sd: float = 1.0) -> Target:
    """ex-sysid-units: a correlation with a unit whose noise has `noise_sd` of its standard deviation shrinks
    by 1 / sqrt(1 + noise_sd^2), the noise ceiling."""
    return near(1 / math.sqrt(1 + noise_sd**2), abs_tol=0.01)  # two decimals: 0.7 and 0.71 both count


CHECKS: dict[str, Check] = {
    "ex-sgd-predict-batch": Check("epochs for SGD with B = 2 to bring ||W_perp|| below 1e-3 of its start",
                                  sgd_predict_batch),
    "ex-sgd-momentum": Check("per-update factor of W_perp under heavy-ball momentum, to three decimals",
                                sgd_momentum),
    "ex-bio-momentum": Check("per-step factor by which D shrinks in the long run with momentum, to three "
                                "decimals", bio_momentum),
    "ex-bio-sign": Check("(uniform, Gaussian) cos(sign W, W)", bio_sign),
    "ex-bio-probe": Check("cosine over all entries of a masked copy of W", bio_probe),
    "ex-crh-nfa": Check("index in `model` of the layer whose alpha(AGOP, W^T W) is exactly 1", crh_nfa),
    "ex-cs-parity": Check("a shallow ReLU network (W, b, a) computing parity of n bits", parity_network,
                          judge_parity),
    "ex-cs-lipschitz": Check("worst-case root error / delta of prop-tree-errors", cs_lipschitz),
    "ex-ardt-window-short": Check("final-state accuracy of the parity ARDT with a window of n", ardt_window_short),
    "ex-ardt-ordinal": Check("depth of the shallowest threshold tree on ids isolating every cell", ardt_ordinal),
    "ex-ardt-names": Check("shortest window that always holds the previous name", ardt_names),
    "ex-hbt-spread": Check("variance of the exponent beta0 ||x - t||^2", hbt_spread),
    "ex-hbt-fp16": Check("(float16, bfloat16, float32) width where a typical unit is dead", hbt_fp16),
    "ex-hbt-decay": Check("(f at the crossing in (a), in (b), f after the run)", hbt_decay),
    "ex-lrb-nuclear": Check("(Frobenius ball, nuclear-norm ball, rank-r set) suprema", lrb_nuclear),
    "ex-snb-stride": Check("||T||_F^2 / ||w||_F^2, the number of output positions P", snb_stride),
    "ex-snb-resolution": Check("factor by which eq:snb-ratio grows from the small to the large side", snb_resolution),
    "ex-sysid-units": Check("factor by which the noise lowers a unit's correlation", sysid_units),
}
LABELS: tuple[str, ...] = tuple(CHECKS)


def _lookup(label: str) -> Check:
    if label not in CHECKS:
        raise ValueError(f"no self-check for {label!r}; the exercises with checks are: {', '.join(LABELS)}")
    return CHECKS[label]


def _inputs(label: str, given: dict[str, Any]) -> dict[str, Any]:
    """The exercise's inputs, defaults filled in; an unknown or missing one is a clear error."""
    signature = inspect.signature(_lookup(label).expected)
    try:
        bound = signature.bind(**given)
    except TypeError as err:
        raise ValueError(f"{label}: {err} ({describe(label)})") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def describe(label: str) -> str:
    """What a check wants: the answer and its inputs with their defaults."""
    check_ = _lookup(label)
    params = ", ".join(p.name if p.default is p.empty else f"{p.name}={p.default!r}"
                       for p in inspect.signature(check_.expected).parameters.values())
    return f"answer: {check_.asks}; inputs: {params or 'none'}"


def _values(targets: Target | tuple[Target, ...]) -> float | tuple[float, ...]:
    return targets.value if isinstance(targets, Target) else tuple(t.value for t in targets)


def expected(label: str, **given: Any) -> Any:
    """The expected answer of exercise `label` as computed from its inputs (for tests and teachers): a number
    or a tuple of numbers; for ex-cs-parity, one network (W, b, a) that works."""
    out = _lookup(label).expected(**_inputs(label, given))
    return out if _lookup(label).judge else _values(out)


def _numbers(answer: Any) -> list[float]:
    """The student's answer as a list of floats (a number, a 0-d tensor, or a sequence of them)."""
    if isinstance(answer, str):
        raise ValueError(f"the answer must be a number, not the string {answer!r}")
    ndim = answer.ndim if hasattr(answer, "ndim") else np.ndim(answer)  # tensors may live on a GPU
    if ndim == 0 and not isinstance(answer, Sequence):
        return [float(answer)]
    return [float(v) for v in answer]


def _fmt(value: float | tuple[float, ...]) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return f"{value:.6g}" if value != int(value) else str(int(value))


def judge_numbers(answer: Any, targets: Target | tuple[Target, ...]) -> tuple[bool, str]:
    """Compare a number (or a tuple of them) with its targets; the verdict of a wrong answer only says
    which way it is off, or which entries are."""
    entries = (targets,) if isinstance(targets, Target) else tuple(targets)
    numbers = _numbers(answer)
    if len(numbers) != len(entries):
        what = "one number" if isinstance(targets, Target) else \
            f"{len(entries)} numbers ({', '.join(t.name for t in entries)})"
        raise ValueError(f"expected {what}, got {len(numbers)}")
    off = [(t, x) for t, x in zip(entries, numbers, strict=True) if not t.accepts(x)]
    if not off:
        return True, f"right (computed: {_fmt(_values(targets))})."
    if isinstance(targets, Target):
        return False, f"not yet: your answer is {targets.side(numbers[0])}."
    return False, "not yet: " + "; ".join(f"the {t.name} entry is {t.side(x)}" for t, x in off) + "."


def check(label: str, answer: Any, **given: Any) -> bool:
    """Print a short verdict on `answer` to exercise `label` and return whether it is right.

    `given` are the exercise's inputs where it varies them (`describe(label)` lists them and their
    defaults, the chapter's quick settings).
    """
    check_ = _lookup(label)
    targets = check_.expected(**_inputs(label, given))
    ok, verdict = (check_.judge or judge_numbers)(answer, targets)
    print(f"{label}: {verdict}")
    return ok
