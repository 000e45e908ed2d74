"""The reproducibility envelope: how a chapter's claims and key curves vary over seeds.

One seed shows that a claim can hold; the envelope says how often it does. `aggregate` reads the
run folders `results/<profile>/<chapter>/seed-<s>/` of a sweep and writes
`results/<profile>/<chapter>/envelope.json`, with, for each claim, the seeds where it held and the
mean, spread and range of its measured value, and for each key curve of the chapter's figure
(`companion.runs.curves`) the mean and the range over seeds at every point; `draw` turns
those curves into bands (`envelope.png`). The book renders both (`companion.book.sphinx`). From the sweep's executed
notebooks it also records the band of every number that a `from-training` cell prints (`printed`), against
which `make test` checks the reference notebooks on any machine (`companion.core.printed`).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from companion.core.paths import chapter_dir, results_root, run_dir
from companion.errors import ConfigError

ENVELOPE = "envelope.json"
FIGURE = "envelope.png"


@dataclass(frozen=True)
class Curve:
    """One curve of a chapter's figure from one seed's results: `y` against `x`, in panel `panel`."""

    panel: str
    label: str
    x: Sequence[float]
    y: Sequence[float]
    xlabel: str = ""
    ylabel: str = ""
    xlog: bool = False
    ylog: bool = False
    categories: tuple[str, ...] = ()  # names of the x positions 0, 1, ... when x is categorical


def envelope_path(chapter: str, profile: str, root: Path | None = None) -> Path:
    """Where a chapter's envelope lives: `<root>/<profile>/<chapter>/envelope.json`."""
    return chapter_dir(chapter, profile, root) / ENVELOPE


def finished_seeds(chapter: str, profile: str, root: Path | None = None) -> list[int]:
    """Seeds whose run of `chapter` finished: its folder holds `claims.json` (written last) and `results.json`."""
    folder = chapter_dir(chapter, profile, root)
    seeds = []
    for path in folder.glob("seed-*"):
        suffix = path.name.removeprefix("seed-")
        if suffix.isdigit() and (path / "claims.json").exists() and (path / "results.json").exists():
            seeds.append(int(suffix))
    return sorted(seeds)


def _stats(values: list[float]) -> dict[str, float | None]:
    """Mean, sample standard deviation (None for one value), minimum and maximum of the finite values."""
    a = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if not len(a):
        return {"mean": None, "sd": None, "min": None, "max": None}
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if len(a) > 1 else None,
            "min": float(a.min()), "max": float(a.max())}


def _json_floats(values: Any) -> list[float | None]:
    """Floats for JSON to 7 significant digits (float32's precision, which the runs compute in), with None where
    a value is not finite (strict JSON has no NaN or infinity)."""
    return [float(f"{v:.7g}") if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def aggregate_claims(per_seed: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per claim (in the order the chapter declares them): the seeds where it held, and the statistics of
    its measured value. A claim missing from a seed's records counts as not measured there, not as held."""
    order: dict[str, dict[str, Any]] = {}
    for records in per_seed.values():
        for r in records:
            order.setdefault(r["id"], r)
    out = []
    for cid, first in order.items():
        measured, passed, seeds = [], [], []
        for seed, records in sorted(per_seed.items()):
            rec = next((r for r in records if r["id"] == cid), None)
            if rec is None:
                continue
            seeds.append(seed)
            measured.append(float(rec["measured"]) if rec["measured"] is not None else math.nan)
            passed.append(bool(rec["passed"]))
        out.append({"id": cid, "statement": first["statement"], "where": first["where"], "kind": first.get("kind"),
                    "op": first["op"], "threshold": first["threshold"], "seeds": seeds,
                    "measured": _json_floats(measured), "passed": passed, "holds": sum(passed), "n": len(seeds),
                    **_stats(measured)})
    return out


def aggregate_curves(per_seed: dict[int, list[Curve]]) -> list[dict[str, Any]]:
    """Per curve (matched by panel and label): mean, standard deviation, minimum and maximum over seeds at
    each x. Seeds must give the same x for a curve; otherwise the settings differed and it is an error."""
    keys: dict[tuple[str, str], Curve] = {}
    for curves in per_seed.values():
        for c in curves:
            keys.setdefault((c.panel, c.label), c)
    out = []
    for (panel, label), first in keys.items():
        ys = []
        for seed, curves in sorted(per_seed.items()):
            c = next((c for c in curves if (c.panel, c.label) == (panel, label)), None)
            if c is None:
                continue
            if not np.allclose(np.asarray(c.x, dtype=float), np.asarray(first.x, dtype=float)):
                raise ValueError(f"curve {panel!r}/{label!r}: seed {seed} has other x values than the first seed")
            ys.append(np.asarray(c.y, dtype=float))
        y = np.stack(ys)
        y[~np.isfinite(y)] = np.nan
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a point that no seed measured stays None
            mean, lo, hi = np.nanmean(y, axis=0), np.nanmin(y, axis=0), np.nanmax(y, axis=0)
            sd = np.nanstd(y, axis=0, ddof=1) if len(ys) > 1 else np.full(y.shape[1], np.nan)
        out.append({"panel": panel, "label": label, "xlabel": first.xlabel, "ylabel": first.ylabel,
                    "xlog": first.xlog, "ylog": first.ylog, "categories": list(first.categories), "n": len(ys),
                    "x": [float(v) for v in first.x], "mean": _json_floats(mean), "sd": _json_floats(sd),
                    "min": _json_floats(lo), "max": _json_floats(hi)})
    return out


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read {path}: {err}; rerun that seed") from err


def _sweeps(path: Path, sweep: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The invocations of the sweep behind an envelope, oldest first: a resumed sweep adds the jobs it ran to
    those of the earlier invocations (whose runs it kept), a sweep with `rerun` starts the record again."""
    earlier = _read(path)["sweeps"] if path.exists() and not (sweep or {}).get("rerun") else []
    return earlier + ([sweep] if sweep and sweep.get("ran") else [])


def aggregate(chapter: str, profile: str, seeds: Sequence[int], *, failed: Sequence[int] = (),
              curves: Callable[[dict[str, Any]], list[Curve]] | None = None, sweep: dict[str, Any] | None = None,
              root: Path | None = None, notebooks: Path | None = None) -> dict[str, Any]:
    """Aggregate the finished runs of `seeds` into `envelope.json` (and `envelope.png` when there are curves);
    return the envelope. `failed` lists the seeds that did not finish (recorded, never dropped silently);
    `sweep` is what the launcher knows of this invocation (launcher, jobs, wall time, machine), added to the
    record of the earlier ones; `curves` extracts a seed's key curves; `notebooks` is the sweep's folder of
    executed notebooks (`seed-<s>/<chapter>.ipynb`), whose printed numbers give the `printed` bands (an earlier
    envelope's bands are kept when no seed's notebook is there)."""
    root = root if root is not None else results_root()
    # a seed that failed in this sweep is left out even if an earlier run of it left results behind
    finished = set(finished_seeds(chapter, profile, root)) - set(failed)
    done = [s for s in seeds if s in finished]
    if not done:
        raise ValueError(f"{chapter}: no finished run among seeds {list(seeds)} under {root / profile / chapter}")
    path = envelope_path(chapter, profile, root)
    folders = {s: run_dir(chapter, profile, s, root) for s in done}
    claims = {s: _read(f / "claims.json") for s, f in folders.items()}
    provenance = {s: _read(f / "provenance.json") for s, f in folders.items() if (f / "provenance.json").exists()}
    envelope: dict[str, Any] = {
        "chapter": chapter, "profile": profile, "seeds": done,
        "failed": sorted(set(failed) | (set(seeds) - set(done))),
        "claims": aggregate_claims(claims),
        "runs": {str(s): {k: p.get(k) for k in ("commit", "device", "wall_time_s", "date")}
                 for s, p in provenance.items()},
        "commits": sorted({p.get("commit", "unknown") for p in provenance.values()}),
        "sweeps": _sweeps(path, sweep),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    printed_bands = _printed(chapter, done, notebooks)
    if printed_bands is None and path.exists():  # no notebook of this sweep's seeds: keep the earlier bands
        printed_bands = _read(path).get("printed")
    if printed_bands is not None:
        envelope["printed"] = printed_bands
    if curves is not None:
        envelope["curves"] = aggregate_curves({s: curves(_read(f / "results.json")) for s, f in folders.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(envelope, indent=1, allow_nan=False) + "\n")
    if envelope.get("curves"):
        draw(envelope, path.parent / FIGURE)
    return envelope


def _printed(chapter: str, seeds: Sequence[int], notebooks: Path | None) -> dict[str, Any] | None:
    """The bands of the numbers the chapter's `from-training` cells print, over the seeds whose executed
    notebook the sweep left in `notebooks`, or None when there is none."""
    from companion.core.printed import record

    if notebooks is None:
        return None
    found = {s: notebooks / f"seed-{s}" / f"{chapter}.ipynb" for s in seeds}
    found = {s: p for s, p in found.items() if p.exists()}
    if not found:
        return None
    return record({s: _read(p) for s, p in found.items()})


def _floats(values: list[float | None]) -> np.ndarray:
    return np.asarray([math.nan if v is None else v for v in values], dtype=float)


def draw(envelope: dict[str, Any], path: Path) -> None:
    """The key curves as bands: the mean over seeds as a line, the range (minimum to maximum) shaded."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from companion.core.plots import STYLE

    panels = list(dict.fromkeys(c["panel"] for c in envelope["curves"]))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels) + 0.4, 3.2), squeeze=False)
        for ax, panel in zip(axes[0], panels, strict=True):
            for i, c in enumerate(c for c in envelope["curves"] if c["panel"] == panel):
                c = {**c, **{k: _floats(c[k]) for k in ("mean", "min", "max")}}
                if c.get("categories"):  # categories side by side, each with its range as an error bar
                    x = np.asarray(c["x"]) + 0.08 * (i - 1)
                    mean = c["mean"]
                    ax.errorbar(x, mean, yerr=[mean - c["min"], c["max"] - mean], fmt="o", ms=4,
                                capsize=3, label=c["label"])
                    ax.set_xticks(c["x"], c["categories"])
                else:
                    line, = ax.plot(c["x"], c["mean"], marker="o" if len(c["x"]) <= 12 else None, ms=3,
                                    label=c["label"])
                    ax.fill_between(c["x"], c["min"], c["max"], color=line.get_color(), alpha=0.25, lw=0)
                ax.set(xlabel=c["xlabel"], ylabel=c["ylabel"], title=panel)
                if c["ylog"]:
                    ax.set_yscale("log")
                if c["xlog"]:
                    ax.set_xscale("log")
                    if len(c["x"]) <= 8:  # few points over a short log range: label each of them plainly
                        ax.set_xticks(c["x"], [f"{v:g}" for v in c["x"]])
                        ax.minorticks_off()
            ax.legend(fontsize=7.5)
        n = len(envelope["seeds"])
        fig.suptitle(f"{envelope['profile']} profile, {n} seed{'s' * (n != 1)}: the mean, and the range from the "
                     "lowest to the highest seed (band or bar)", fontsize=10)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)


def load(chapter: str, profile: str, root: Path | None = None) -> dict[str, Any] | None:
    """A chapter's envelope, or None when no sweep has been aggregated."""
    path = envelope_path(chapter, profile, root)
    return json.loads(path.read_text()) if path.exists() else None


def parse_seeds(spec: str) -> list[int]:
    """Seeds from '0-9', '0,3,7' or '0-4,10': sorted, without repeats; anything else is a ConfigError."""
    seeds: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ConfigError(f"seeds must look like '0-9', '0,3,7' or '0-4,10' (non-negative integers), got {spec!r}")
        first, last = int(lo), int(hi) if sep else int(lo)
        if last < first:
            raise ConfigError(f"seed range {part!r} runs backwards")
        seeds.update(range(first, last + 1))
    return sorted(seeds)


def seed_spec(seeds: Sequence[int]) -> str:
    """Seeds written back compactly, as `parse_seeds` reads them: [0, 1, 2, 5] is '0-2,5'."""
    runs: list[list[int]] = []
    for seed in sorted(seeds):
        if runs and seed == runs[-1][-1] + 1:
            runs[-1].append(seed)
        else:
            runs.append([seed])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
