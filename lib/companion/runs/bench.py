"""`make bench`: how long the quick book takes on this machine, written to `results/bench/quick.json`.

Per chapter: the seconds of one papermill run, one chapter at a time so that chapters do not slow each
other down. Book: a cold build (empty execution cache; chapters executed `--jobs` at a time, then
rendered) and a warm rebuild with nothing changed. Result files go to a temporary folder, so the
checkout's own results are left alone. The Reproducing page shows the committed table.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from companion.book import prebuild
from companion.core.paths import project_root
from companion.core.results import git_commit
from companion.core.runtime import machine
from companion.runs import reproduce

DEFAULT_OUT = Path("results") / "bench" / "quick.json"


def time_chapters(names: list[str], out: Path) -> dict[str, dict[str, Any]]:
    """Run each chapter alone (quick profile, CPU, seed 0); return {chapter: {seconds, claims}}."""
    times = {}
    for i, name in enumerate(names, 1):
        seconds, claims = reproduce.execute_chapter(name, "quick", "cpu", 0, out, timeout=900)
        times[name] = {"seconds": round(seconds, 1), "claims": claims}
        print(f"[{i}/{len(names)}] {name}: {seconds:.1f} s", flush=True)
    return times


def jb_flags(root: Path) -> list[str]:
    """The flags `make book` gives Jupyter Book: the Makefile's `JB_FLAGS` line."""
    found = re.search(r"^JB_FLAGS := (.+)$", (root / "Makefile").read_text(), re.M)
    if found is None:
        raise RuntimeError(f"no 'JB_FLAGS := ...' line in {root / 'Makefile'}")
    return found.group(1).split()


def time_book(jobs: int, work: Path) -> dict[str, float]:
    """Seconds of a cold book build (empty cache) and of a warm rebuild, as `make book` runs them."""
    root = project_root()
    if root is None:
        raise RuntimeError("the book benchmark needs a checkout of the book (with _toc.yml)")
    config = yaml.safe_load((root / "_config.yml").read_text())
    cache = work / "cache"
    config.setdefault("execute", {})["cache"] = str(cache)
    config_path = work / "config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    build = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--config", str(config_path),
             "--path-output", str(work / "out"), *jb_flags(root)]
    times = {}
    for name in ("cold_s", "warm_s"):
        start = time.perf_counter()
        prebuild.prebuild(cache, jobs)
        subprocess.run(build, check=True, stdout=subprocess.DEVNULL, cwd=root)
        times[name] = round(time.perf_counter() - start, 1)
        print(f"book {name[:-2]} build: {times[name]:.0f} s", flush=True)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion bench", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="chapters at once in the book build")
    parser.add_argument("--chapters", default="", help="comma-separated chapters (default: all)")
    parser.add_argument("--skip-book", action="store_true", help="time the chapters only")
    args = parser.parse_args(argv)
    try:
        names = reproduce.select_chapters(args.chapters)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"machine": machine(), "commit": git_commit(), "jobs": args.jobs,
                              "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    with tempfile.TemporaryDirectory(prefix="companion-bench-") as tmp:
        work = Path(tmp)
        os.environ["COMPANION_RESULTS_DIR"] = str(work / "results")  # leave the checkout's results alone
        report["chapters"] = time_chapters(names, work / "notebooks")
        if not args.skip_book:
            report["book"] = time_book(args.jobs, work)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    total = sum(c["seconds"] for c in report["chapters"].values())
    print(f"chapters: {total:.0f} s in all; written to {args.out}")
    return 0

