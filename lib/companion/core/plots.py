"""One figure style for the whole book, saving figures next to a run's results, and the
provenance line printed under every figure.

The palette is Okabe-Ito (readable with every common colour-vision deficiency); figures
have an opaque white background so they stay legible when the book is read in dark mode.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from IPython.display import display

from companion.core.paths import run_dir
from companion.core.provenance import provenance_line, regenerate_command
from companion.core.results import git_commit
from companion.core.runtime import Run

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


@functools.cache
def _commit(run: Run) -> str:
    """The checkout's commit, asked of git once per run rather than once per figure."""
    return git_commit()


def _relative(chapter: str, profile: str, seed: int) -> Path:
    """A run folder as `results/<profile>/<chapter>/seed-<seed>`, the same on every machine and run."""
    return run_dir(chapter, profile, seed, Path("results"))


def save_figure(fig: plt.Figure, run: Run, name: str) -> None:
    """Save `fig` as `<run folder>/figures/<name>.png`, show it, and print its provenance under it.

    The line names the profile, seed, device, commit, the time into the run at which the
    figure was drawn, the saved file and the command that draws it again. Returns nothing,
    so a notebook cell shows only the figure and that line.
    """
    path = run_dir(run.chapter, run.profile, run.seed) / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    display(fig)
    plt.close(fig)
    shown = _relative(run.chapter, run.profile, run.seed) / "figures" / f"{name}.png"
    fields = [f"{run.profile} profile", f"seed {run.seed}", run.device_name, f"commit {_commit(run)}",
              f"drawn {time.perf_counter() - run.started:.1f} s into the run", str(shown)]
    print(provenance_line(fields, regenerate_command(run.chapter, run.profile, run.seed, run.device.type)))


def show_redrawn(saved: dict[str, Any]) -> int:
    """Show the open figures (under Jupyter's inline backend, those this cell drew) redrawn from a saved
    run (`results.load_run`), then one provenance line for them; return how many were shown."""
    numbers = plt.get_fignums()
    for number in numbers:
        fig = plt.figure(number)
        display(fig)
        plt.close(fig)
    if not numbers:
        return 0
    prov = saved["provenance"]
    device = prov.get("device_type") or ("cpu" if prov["device"].startswith("cpu") else "cuda")
    fields = [f"redrawn from the {prov['profile']} profile run", f"seed {prov['seed']}", prov["device"],
              f"commit {prov['commit']}", f"{prov['date'][:10]}", f"the run took {prov['wall_time_s'] / 60:.1f} min",
              str(_relative(prov["chapter"], prov["profile"], prov["seed"]))]
    print(provenance_line(fields, regenerate_command(prov["chapter"], prov["profile"], prov["seed"], device)))
    return len(numbers)
