"""The key curves of each chapter's figure, read from one seed's `results.json`, for the envelope's bands.

A chapter's function here is named after it (`sgd_vs_gd` for `sgd-vs-gd`) and draws the figures that the
chapter registry (`book/chapters.yml`) lists as its `key_figures`. `CURVES[chapter](results)` returns the
`Curve`s that a sweep over seeds draws as bands (`companion.core.envelope`): the curves the chapter's
claims rest on, with the same labels as its figure. Keys that JSON turned into strings ("0.001", "16")
are sorted numerically and used as x.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from companion.core import chapters
from companion.core.envelope import Curve

Results = dict[str, Any]


def _keys(d: Mapping[str, Any]) -> list[str]:
    """The keys of a dict keyed by numbers-as-strings, in numerical order."""
    return sorted(d, key=float)


def _floats(values: Iterable[Any]) -> list[float]:
    return [float(v) for v in values]


def _index(values: Iterable[Any], start: int = 0, step: int = 1) -> list[float]:
    """x for a per-epoch (or per-step) track stored without its epochs: start, start + step, ..."""
    return [float(start + step * i) for i in range(len(list(values)))]


def _wd(key: str) -> str:
    """A weight decay stored as a string key, written as the chapters write it (`f"{wd:g}"`)."""
    return f"{float(key):g}"


def agop_hyperbf(results: Results) -> list[Curve]:
    """fig-agop-greedy: corr(AGOP step, -gradient) along the AGOP path and along the GD path, per target
    (claims greedy-first-step, greedy-after-jump)."""
    curves = []
    for name, r in results["greedy"].items():
        agop = [r["start"], *r["agop"]]
        curves.append(Curve("along the AGOP path", name, _index(agop), _floats(agop),
                            "AGOP iteration", "corr(AGOP step, -gradient)"))
    for name, r in results["greedy"].items():  # the chapter logs the GD path every 10 steps
        curves.append(Curve("along the GD path", name, _index(r["gd"], step=10), _floats(r["gd"]),
                            "gradient-descent step", "corr(AGOP step, -gradient)"))
    return curves


def bio_circuit(results: Results) -> list[Curve]:
    """fig-bio-assembly, per rule: cos(B_l, W_l) in layers 2 and 3 and the equal-sign share in layer 2 against
    epoch (claims self-assembly, decay-drives-assembly). The decay law is exact, so its figure has no spread."""
    curves = []
    layers = len(results["assembly"]["circuit"]["track"]["cos"][0])
    panels = [("cos", layer, rf"$\cos(B_l, W_l)$, layer {layer + 1}", r"$\cos(B_l, W_l)$") for layer in (1, 2)
              if layer < layers]
    panels.append(("sign", 1, "equal signs, layer 2", "share of entries with equal sign"))
    for key, layer, panel, ylabel in panels:
        for name, r in results["assembly"].items():
            values = [epoch[layer] for epoch in r["track"][key]]
            curves.append(Curve(panel, f"{name}, layer {layer + 1}", _index(values), _floats(values), "epoch",
                                ylabel))
    return curves


def canonical_representation(results: Results) -> list[Curve]:
    """fig-crh-track (mean of six alignments during training, per weight decay; claims crh-forms,
    crh-all-six) and fig-crh-sweeps (against weight decay and batch size; claims wd- and noise-raises-alignment)."""
    curves = []
    for wd in _keys(results["main"]):
        track = results["main"][wd]["track"]
        epochs = _keys(track)
        curves.append(Curve("alignment during training", f"mean of six, weight decay {_wd(wd)}", _floats(epochs),
                            [float(np.mean(list(track[e].values()))) for e in epochs], "epoch", r"alignment $\alpha$"))
    by_wd = results["by_wd"]
    curves.append(Curve("weight decay", "mean of six", _floats(_keys(by_wd)), _floats(by_wd[k] for k in _keys(by_wd)),
                        r"weight decay $\gamma$", "mean of six alignments"))
    for key, label in [("by_batch", "equal updates"), ("equal_epochs", "equal epochs")]:
        d = results[key]
        curves.append(Curve("batch size", label, _floats(_keys(d)), _floats(d[k] for k in _keys(d)),
                            "batch size", "mean of six alignments", xlog=True))
    return curves


def compositional_sparsity(results: Results) -> list[Curve]:
    """fig-cs-errors: normalised test MSE against input dimension at equal budgets, and the
    shallow/tree ratio (claims tree-learns-every-d, shallow-curse, no-advantage-small-d); at full scale also
    the error against sample size."""
    errors, ratio = results["errors"], results["ratio"]
    dims = _keys(errors)
    curves = [Curve("equal parameter budgets", name, _floats(dims), _floats(errors[d][name] for d in dims),
                    "input dimension d", "normalised test MSE", xlog=True, ylog=True)
              for name in ("tree", "shallow", "dense deep")]
    curves.append(Curve("shallow / tree", "shallow / tree error", _floats(_keys(ratio)),
                        _floats(ratio[d] for d in _keys(ratio)), "input dimension d", "error ratio",
                        xlog=True, ylog=True))
    samples = results.get("samples")
    if samples:
        sizes = _keys(samples)
        curves += [Curve("error against sample size", name, _floats(sizes), _floats(samples[n][name] for n in sizes),
                         "training points", "normalised test MSE", xlog=True, ylog=True)
                   for name in ("tree", "shallow", "dense deep")]
    return curves


def decision_trees_lm(results: Results) -> list[Curve]:
    """fig-ardt-automata (final-state accuracy and leaves against string length; claims ardt-exact,
    plain-tree-chance, leaves-bound) and fig-ardt-window (pronoun accuracy against window length, with the
    prediction; claim window-limits-agreement)."""
    rows = results["automata"]
    curves = []
    for key, suffix, panel, ylabel, ylog in [("ardt", "ARDT", "automata", "final-state accuracy (test)", False),
                                             ("plain", "plain tree", "automata", "final-state accuracy (test)", False),
                                             ("leaves", "ARDT leaves", "tree size", "leaves", True),
                                             ("plain_leaves", "plain-tree leaves", "tree size", "leaves", True)]:
        for name in dict.fromkeys(r["automaton"] for r in rows):
            mine = sorted((r for r in rows if r["automaton"] == name), key=lambda r: r["n"])
            curves.append(Curve(panel, f"{name}: {suffix}", _floats(r["n"] for r in mine),
                                _floats(r[key] for r in mine), "string length n", ylabel, xlog=True, ylog=ylog))
    sweep = results["sweep"]
    lengths = _keys(sweep)
    for key, label in [("probe", "measured"), ("predicted", r"predicted: $P(d \leq L) + P(d > L)/2$"),
                       ("accuracy", "next-word accuracy (all words)")]:
        curves.append(Curve("the window", label, _floats(lengths), _floats(sweep[k][key] for k in lengths),
                            "window length L", "accuracy", xlog=True))
    return curves


HYPERBF_MODELS = ("ViT", "HyperBF", "HyperBF-dead", "attention only", "linear")


def hyperbf_transformer(results: Results) -> list[Curve]:
    """fig-hbt-curves (validation error per epoch of the models the claims compare, and the linear
    yardstick; claims *-matches-vit, dead-start-matches-control) and fig-hbt-dead (share of zero activations
    at initialisation against width; claims reference-init-dead, sound-init-alive)."""
    curves = []
    for name in HYPERBF_MODELS:
        if name in results["models"]:
            error = 1 - np.asarray(results["models"][name]["val"], dtype=float)
            curves.append(Curve("training curves", name, _index(error), _floats(error), "epoch",
                                "validation error", ylog=True))
    dead = results["dead_at_init"]
    widths = sorted({int(k.split("/")[1]) for k in dead})
    formats = list(dead[f"reference/{widths[0]}"])
    for p in formats:
        curves.append(Curve("zero activations at initialisation", rf"$\beta_0 = 0.1$, {p}", _floats(widths),
                            _floats(dead[f"reference/{w}"][p]["dead"] for w in widths), "width $d$",
                            "share of activations that are 0", xlog=True))
    curves.append(Curve("zero activations at initialisation", r"$\beta_0 = 1/(2d)$, all formats", _floats(widths),
                        [max(float(dead[f"sound/{w}"][p]["dead"]) for p in formats) for w in widths], "width $d$",
                        "share of activations that are 0", xlog=True))
    return curves


def low_rank_bounds(results: Results) -> list[Curve]:
    """fig-lrb-one-layer (G_r / bound against rank; claim one-layer-bound), fig-lrb-training (rank of the
    second and second-to-last matrices per epoch; claims top-layers-collapse, no-wd-full-rank) and
    fig-lrb-depth (rank-factor ratio against depth; claims additive-gain, gain-grows-with-depth)."""
    G, bound = results["G"], results["bound"]
    ranks = _keys(G)
    curves = [Curve("one layer", r"$G_r$ / bound", _floats(ranks), [G[r] / bound[r] for r in ranks], "rank r",
                    r"$G_r$ / bound", xlog=True)]
    for wd in _keys(results["logs"]):
        log = results["logs"][wd]
        epochs = _keys(log)
        matrix = np.asarray([log[e]["ranks"] for e in epochs], dtype=float)
        top = matrix.shape[1] - 1
        for column, layer in [(-2, top), (1, 2)]:
            curves.append(Curve("rank of two layers", f"wd {_wd(wd)}, layer {layer}", _floats(epochs),
                                _floats(matrix[:, column]), "epoch", "numerical rank"))
    by_depth = {tuple(k.split("/")): v for k, v in results["by_depth"].items()}
    for wd in sorted({wd for wd, _ in by_depth}, key=float):
        depths = sorted((h for w, h in by_depth if w == wd), key=int)
        curves.append(Curve("rank factors against depth", f"wd {_wd(wd)}", _floats(depths),
                            _floats(by_depth[wd, h] for h in depths), "hidden layers",
                            r"$\prod_j \sqrt{r_j}\, /\, \sum_j \sqrt{r_j d_j}$", ylog=True))
    return curves


def _sgd_vs_gd_main(deep: Mapping[str, Any]) -> tuple[int, str]:
    """The batch size and weight decay (as run names write it) of the deep runs that the claim
    deep-rank-per-epoch compares: the chapter's `main_batch` and `main_wd`, for the profile whose runs these are."""
    for D in chapters.settings("sgd-vs-gd", "DEEP").values():
        if f"SGD B={D['main_batch']}, wd={D['main_wd']:g}" in deep:
            return D["main_batch"], f"{D['main_wd']:g}"
    raise ValueError(f"none of the chapter's main deep runs is among {sorted(deep)}")


def sgd_vs_gd(results: Results) -> list[Curve]:
    """fig-sgd-linear-rank (rank of W per epoch, tol 1e-3; claims sgd-rank-at-most-rank-x, gd-keeps-rank),
    fig-sgd-steps (update size; claim sgd-noise) and fig-sgd-deep-ranks, equal epochs (mean hidden-layer rank
    of the main SGD run, its wd = 0 control and GD; claims deep-rank-per-epoch, deep-no-wd-full-rank)."""
    curves = []
    for name, h in results["linear"].items():
        curves.append(Curve("linear model", f"{name}, tol 1e-3", _floats(h["rank_epochs"]), _floats(h["rank_0.001"]),
                            "epoch", "numerical rank of W"))
    steps = {"SGD, B=1": results["linear"]["SGD, B=1"], "GD": results["gd_long"],
             "SGD B=1, wd=0": results["controls"]["SGD B=1, wd=0"]}
    for name, h in steps.items():
        curves.append(Curve("update size", name, _index(h["mean_step"], start=1), _floats(h["mean_step"]), "epoch",
                            r"mean $\|\Delta W\|_F$ per update", xlog=True, ylog=True))
    deep = results["deep"]
    batch, wd = _sgd_vs_gd_main(deep)
    runs = {f"SGD B={batch}, wd={wd}": f"SGD B={batch}, wd={wd}", f"SGD B={batch}, wd=0": f"SGD B={batch}, wd=0",
            f"GD, wd={wd}": f"GD, wd={wd}, equal epochs"}
    for label, key in runs.items():
        if key in deep:
            mean_rank = np.asarray(deep[key]["ranks"], dtype=float)[:, 1:-1].mean(1)
            curves.append(Curve("deep ReLU network, equal epochs", label, _floats(deep[key]["log_epochs"]),
                                _floats(mean_rank), "epoch", "mean hidden-layer rank"))
    return curves


def sparse_norm_bounds(results: Results) -> list[Curve]:
    """fig-snb-training (both bounds and the errors per epoch; claim filter-bound-tighter) and fig-snb-sizes
    (bound ratio against image side, measured and leading order; claim ratio-grows-with-size)."""
    track = results["track"]
    epochs = _keys(track)
    curves = [Curve("bounds during training", label, _floats(epochs), _floats(track[e][key] for e in epochs),
                    "epoch", "value", ylog=True)
              for key, label in [("toeplitz", "Toeplitz-norm bound"), ("filter", "filter-norm bound"),
                                 ("test_error", "test error"), ("train_error", "train error")]]
    by_side = results["by_side"]
    sides = _keys(by_side)
    curves += [Curve("ratio by image size", label, _floats(sides), _floats(by_side[s][key] for s in sides),
                     "image side (pixels)", "Toeplitz bound / filter bound", ylog=True)
               for key, label in [("init", "measured"), ("leading", "leading order")]]
    return curves


def system_identification(results: Results) -> list[Curve]:
    """fig-sysid-accuracy: architecture, exact-layer and motif accuracy of each score on each stimulus set
    (in alphabetical order), with chance (claims architecture-missed, motif-missed)."""
    accuracy = results["accuracy"]
    names = sorted(next(iter(accuracy.values())))
    x = _index(names)
    curves = []
    for what in ("architecture", "exact", "motif"):
        for score, acc in accuracy.items():
            curves.append(Curve(what, score, x, _floats(acc[n][what] for n in names), "stimulus set",
                                "share of recorded layers", categories=tuple(names)))
        curves.append(Curve(what, "chance", x, [float(results["chance"][what])] * len(names), "stimulus set",
                            "share of recorded layers", categories=tuple(names)))
    return curves


def _chapter_functions() -> dict[str, Callable[[Results], list[Curve]]]:
    """This module's public functions, by the chapter each is named after (`sgd_vs_gd` for `sgd-vs-gd`)."""
    return {name.replace("_", "-"): f for name, f in globals().items()
            if inspect.isfunction(f) and f.__module__ == __name__ and not name.startswith("_")}


# A chapter's key curves are the function named after it: writing it is all a new chapter needs.
CURVES: dict[str, Callable[[Results], list[Curve]]] = _chapter_functions()
