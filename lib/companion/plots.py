"""One figure style for the whole book, and saving figures next to a run's results.

The palette is Okabe-Ito (readable with every common colour-vision deficiency); figures
have an opaque white background so they stay legible when the book is read in dark mode.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

from companion.paths import run_dir
from companion.runtime import Run

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.prop_cycle": mpl.cycler(color=OKABE_ITO),
    "axes.facecolor": "white",
    "axes.edgecolor": "#333333",
    "axes.labelcolor": "#111111",
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "font.size": 10,
}


def use_style() -> None:
    """Apply the book's matplotlib style (call once per chapter)."""
    mpl.rcParams.update(STYLE)


def save_figure(fig: plt.Figure, run: Run, name: str) -> None:
    """Save `fig` as `<run folder>/figures/<name>.png` (returns nothing, so a notebook cell shows only the figure)."""
    path = run_dir(run.chapter, run.profile, run.seed) / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
