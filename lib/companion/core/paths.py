"""Where the book keeps things: the project root and the per-chapter result folders."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # lib/companion


def project_root() -> Path | None:
    """The book's checkout (the folder holding `_toc.yml`), or None when the package is installed elsewhere."""
    root = PACKAGE_DIR.parents[1]
    return root if (root / "_toc.yml").exists() else None


def results_root() -> Path:
    """Root of all result files: `$COMPANION_RESULTS_DIR`, else `<checkout>/results`, else `./results`."""
    override = os.environ.get("COMPANION_RESULTS_DIR")
    if override:
        return Path(override)
    root = project_root()
    return (root if root is not None else Path.cwd()) / "results"


def committed_results_root() -> Path:
    """The checkout's own `results/` folder, where committed full-profile results live."""
    root = project_root()
    return (root if root is not None else Path.cwd()) / "results"


def chapter_dir(chapter: str, profile: str, root: Path | None = None) -> Path:
    """Folder of a chapter's runs at one profile (one per seed) and of their envelope: `<root>/<profile>/<chapter>`."""
    return (root if root is not None else results_root()) / profile / chapter


def run_dir(chapter: str, profile: str, seed: int, root: Path | None = None) -> Path:
    """Folder of one run's files: `<root>/<profile>/<chapter>/seed-<seed>`."""
    return chapter_dir(chapter, profile, root) / f"seed-{seed}"
