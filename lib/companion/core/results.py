"""Result files: what a chapter run computed, saved per chapter, profile and seed, with provenance.

A run folder (`results/<profile>/<chapter>/seed-<seed>/`) holds `results.json` (the plain
numbers and arrays an experiment returned), `provenance.json` (how they were made),
`claims.json` (the claim outcomes) and `figures/`.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from companion.core.paths import committed_results_root, project_root, results_root, run_dir
from companion.core.runtime import Run, cpu_platform


def to_jsonable(value: Any) -> Any:
    """Convert arrays, tensors and numpy scalars (nested in dicts/lists) to JSON-ready Python values."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    raise TypeError(f"cannot save a {type(value).__name__} in a result file: use numbers, arrays, lists or dicts")


def git_commit(length: int = 12) -> str:
    """The checkout's commit (its first `length` hex digits), with '-dirty' when it has uncommitted
    changes; 'unknown' outside git."""
    root = project_root()
    if root is None:
        return "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha.stdout.strip()[:length] + ("-dirty" if dirty.stdout.strip() else "")


def provenance(run: Run, params: dict[str, Any]) -> dict[str, Any]:
    """Everything needed to say how a result was made: commit, parameters, device, versions, time."""
    return {
        "chapter": run.chapter,
        "profile": run.profile,
        "seed": run.seed,
        "device": run.device_name,
        "device_type": run.device.type,
        "commit": git_commit(),
        "params": to_jsonable(params),
        # float32 arithmetic on a GPU: TF32 tensor cores for matrix products and convolutions, or not
        # what decides the rounding of a CPU run (kernel paths, BLAS), so that a difference can be traced
        "platform": cpu_platform(),
        "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "cuda": torch.version.cuda,
        },
        "wall_time_s": round(time.perf_counter() - run.started, 1),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def save_results(run: Run, results: dict[str, Any], params: dict[str, Any]) -> Path:
    """Write `results.json` and `provenance.json` for this run; return the run folder."""
    folder = run_dir(run.chapter, run.profile, run.seed)
    _write_json(folder / "results.json", to_jsonable(results))
    _write_json(folder / "provenance.json", provenance(run, params))
    return folder


def write_claims(run: Run, records: list[dict[str, Any]]) -> Path:
    """Write `claims.json` (one record per claim) for this run."""
    path = run_dir(run.chapter, run.profile, run.seed) / "claims.json"
    _write_json(path, to_jsonable(records))
    return path


def find_run(chapter: str, profile: str, seed: int = 0) -> Path | None:
    """The folder of a saved run: this session's results first, then the committed ones."""
    for root in dict.fromkeys([results_root(), committed_results_root()]):
        folder = run_dir(chapter, profile, seed, root)
        if (folder / "results.json").exists():
            return folder
    return None


def load_run(chapter: str, profile: str, seed: int = 0) -> dict[str, Any] | None:
    """Load a saved run as {'results', 'provenance', 'claims', 'folder'}, or None when there is none."""
    folder = find_run(chapter, profile, seed)
    if folder is None:
        return None
    out: dict[str, Any] = {"folder": folder}
    for name in ("results", "provenance", "claims"):
        path = folder / f"{name}.json"
        if not path.exists():
            if name == "claims":  # a run that stopped before checking its claims
                out[name] = None
                continue
            raise ValueError(f"{folder} has results but no {name}.json: regenerate the run")
        try:
            out[name] = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"result file {path} is not valid JSON ({err}); regenerate it") from err
    return out


def claims_passed(folder: Path) -> str:
    """How many of a run's claims passed, as "5/7" (from its `claims.json`), or "no claims"."""
    path = folder / "claims.json"
    if not path.exists():
        return "no claims"
    records = json.loads(path.read_text())
    return f"{sum(r['passed'] for r in records)}/{len(records)}"
