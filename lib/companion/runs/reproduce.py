"""Re-execute chapters with papermill: `python -m companion reproduce --profile full --device cuda`.

Each chapter's MyST source is read with jupytext and executed with the given parameters. Result
files go to a staging folder first and replace `results/<profile>/<chapter>/seed-<seed>/` only when
the chapter ran to its end, so a failed run leaves earlier (committed) results untouched.

`python -m companion sweep --seeds 0-9` runs many seeds instead (`companion.runs.sweep`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from companion.book.notebooks import KERNEL_ARGUMENTS, number_cells
from companion.core import chapters
from companion.core.paths import results_root, run_dir
from companion.core.results import claims_passed
from companion.core.runtime import PROFILES, check_profile
from companion.errors import ConfigError
from companion.ml.device import DEVICES, resolve_device

# What a chapter may take: the quick profile on two CPU cores, the full profile on one GPU.
BUDGET_S = {"quick": 60.0, "full": 600.0}


def add_run_arguments(parser: argparse.ArgumentParser,
                      out: str = "folder for the executed notebooks (default _build/reproduce/<profile>)") -> None:
    """The options of one run and of a sweep alike: profile, device, chapters, output folder, cell timeout."""
    parser.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default quick)")
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICES)} (default auto)")
    parser.add_argument("--chapters", default="", help="comma-separated chapter names (default: all written)")
    parser.add_argument("--out", type=Path, default=None, help=out)
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell (default 900)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m companion reproduce", description=__doc__.splitlines()[0],
                                     allow_abbrev=False)
    add_run_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return parser.parse_args(argv)


def select_chapters(spec: str) -> list[str]:
    """The chapters named in a comma-separated list (all written ones when empty); unknown names are errors."""
    names = [s.strip() for s in spec.split(",") if s.strip()] or chapters.available()
    for name in names:
        chapters.source(name)  # raises ConfigError listing the valid chapters
    return names


def make_stable(notebook: dict) -> dict:
    """Drop papermill's timestamps and number the cell ids (jupytext draws random ones), so a regenerated
    reference notebook differs from the last one only where its outputs do."""
    number_cells(notebook)
    for cell in notebook.get("cells", []):
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    notebook.get("metadata", {}).pop("papermill", None)
    return notebook


def execute_chapter(name: str, profile: str, device: str, seed: int, out: Path, timeout: int,
                    progress: bool = True, edit: Callable[[str], str] | None = None) -> tuple[float, str]:
    """Run one chapter; on success write `<out>/<name>.ipynb`, move its results into place and return
    (seconds, claims passed). On failure raise, leaving `out` and the results folder as they were.
    `edit` rewrites the chapter's MyST text before it runs: a variant of the chapter, as the tests make to
    show that a real change to the code is caught."""
    import jupytext
    import nbformat
    import papermill

    final_root = results_root()
    with tempfile.TemporaryDirectory(prefix=f"companion-{name}-") as tmp:
        staging = Path(tmp) / "results"
        source = Path(tmp) / f"{name}.ipynb"
        executed = Path(tmp) / f"{name}.executed.ipynb"
        text = chapters.source(name).read_text()
        notebook = jupytext.reads(edit(text) if edit else text, fmt="myst")
        if not any("parameters" in c.metadata.get("tags", []) for c in notebook.cells):
            raise ConfigError(f"chapter {name!r} has no code cell tagged 'parameters' (profile, seed, device)")
        nbformat.write(notebook, source)
        env = {"COMPANION_RESULTS_DIR": str(staging)}
        saved = {key: os.environ.get(key) for key in (*env, "MPLBACKEND")}
        os.environ.update(env)
        os.environ.pop("MPLBACKEND", None)  # an inherited Agg backend would drop every inline figure
        start = time.perf_counter()
        try:
            parameters = {"profile": profile, "seed": seed, "device": device}
            papermill.execute_notebook(source, executed, parameters=parameters, cwd=str(chapters.book_dir()),
                                       kernel_name="python3", language="python", progress_bar=progress,
                                       execution_timeout=timeout, extra_arguments=KERNEL_ARGUMENTS)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        seconds = time.perf_counter() - start
        out.mkdir(parents=True, exist_ok=True)
        notebook = make_stable(json.loads(executed.read_text()))
        (out / f"{name}.ipynb").write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
        produced = run_dir(name, profile, seed, staging)
        target = run_dir(name, profile, seed, final_root)
        if produced.exists():
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(produced), str(target))
        return seconds, claims_passed(target)


def failure_message(err: Exception) -> str:
    """The actionable part of a failure: for an error raised inside the notebook, its type and message."""
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    if ename is not None:  # papermill's PapermillExecutionError: the kernel's exception
        return f"{ename}: {evalue}"
    return f"{type(err).__name__}: {str(err)[:2000]}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_profile(args.profile)
        if args.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {args.seed}")
        names = select_chapters(args.chapters)
        resolve_device(args.device)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = args.out or Path("_build") / "reproduce" / args.profile
    rows, failed = [], []
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name}: profile {args.profile}, device {args.device}, seed {args.seed}", flush=True)
        try:
            seconds, passed = execute_chapter(name, args.profile, args.device, args.seed, out, args.timeout,
                                              args.progress)
        except Exception as err:  # report and go on with the other chapters
            print(f"[{i}/{len(names)}] {name} FAILED: {failure_message(err)}", file=sys.stderr)
            rows.append((name, "-", "failed"))
            failed.append(name)
            continue
        print(f"[{i}/{len(names)}] {name}: {seconds:.1f} s, claims passed {passed}", flush=True)
        budget = BUDGET_S[args.profile]
        if seconds > budget:
            print(f"[{i}/{len(names)}] {name}: over the {args.profile} profile's budget of {budget:.0f} s per "
                  "chapter", file=sys.stderr)
        rows.append((name, f"{seconds:.1f}", passed))
    width = max(len(r[0]) for r in rows + [("chapter",)])
    print(f"\n{'chapter':{width}s}  {'seconds':>8s}  claims passed")
    for name, seconds, passed in rows:
        print(f"{name:{width}s}  {seconds:>8s}  {passed}")
    print(f"executed notebooks in {out}; results in {results_root() / args.profile}")
    return 1 if failed else 0
