"""One figure style for the whole book, saving figures next to a run's results, and the
provenance line printed under every figure.

The palette is Okabe-Ito (readable with every common colour-vision deficiency); figures
have an opaque white background so they stay legible when the book is read in dark mode.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from IPython.display import display

from companion.paths import project_root, run_dir
from companion.results import git_commit
from companion.runtime import Run

PROVENANCE_MARK = "[provenance]"
PROVENANCE_SEP = " · "

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


def regenerate_command(chapter: str, profile: str, seed: int, device: str) -> str:
    """The command that reruns a chapter with the settings that drew its figures."""
    return f"make chapter NAME={chapter} PROFILE={profile} SEED={seed} DEVICE={device}"


def _shown(path: Path) -> str:
    root = project_root()
    return str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else str(path)


def provenance_line(fields: list[str], command: str) -> str:
    """One printed line that the book turns into the styled provenance note under a figure."""
    return PROVENANCE_MARK + " " + PROVENANCE_SEP.join([*fields, command])


def parse_provenance_line(text: str) -> tuple[list[str], str] | None:
    """Split a line made by `provenance_line` into (fields, command); None for any other text."""
    text = text.strip()
    if not text.startswith(PROVENANCE_MARK) or "\n" in text:
        return None
    *fields, command = text[len(PROVENANCE_MARK):].strip().split(PROVENANCE_SEP)
    return fields, command


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
    fields = [f"{run.profile} profile", f"seed {run.seed}", run.device_name, f"commit {git_commit()}",
              f"drawn {time.perf_counter() - run.started:.1f} s into the run", _shown(path)]
    print(provenance_line(fields, regenerate_command(run.chapter, run.profile, run.seed, run.device.type)))


def show_redrawn(saved: dict[str, Any]) -> None:
    """Show the figures drawn so far in this cell from a saved run (`results.load_run`), then one
    provenance line for them: the run they were redrawn from and how to regenerate it."""
    for number in plt.get_fignums():
        fig = plt.figure(number)
        display(fig)
        plt.close(fig)
    prov = saved["provenance"]
    device = "cpu" if prov["device"].startswith("cpu") else "cuda"
    fields = [f"redrawn from the {prov['profile']} profile run", f"seed {prov['seed']}", prov["device"],
              f"commit {prov['commit']}", f"{prov['date'][:10]}", f"the run took {prov['wall_time_s'] / 60:.1f} min",
              _shown(Path(saved["folder"]))]
    print(provenance_line(fields, regenerate_command(prov["chapter"], prov["profile"], prov["seed"], device)))
