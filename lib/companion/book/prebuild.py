"""Execute the chapters into the book's execution cache, several at once, before Jupyter Book runs.

Jupyter Book executes a book's notebooks one after another, so on a machine with two cores a cold
build leaves one idle. `python -m companion prebuild --jobs N` executes the chapters whose cached
outputs are missing or stale, N at a time, each in its own kernel, the way myst-nb would (its reader,
the chapter's folder as working folder, its timeout), and stores them in jupyter-cache, where the
book build then finds them. A chapter that fails stops the build with its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution
from myst_nb.core.read import read_myst_markdown_notebook
from myst_parser.config.main import MdParserConfig

from companion.book.notebooks import KERNEL_ARGUMENTS
from companion.core import chapters
from companion.core.paths import project_root


def parser_config() -> MdParserConfig:
    """The MyST parser settings of `_config.yml`, which decide where the book's reader finds code cells."""
    root = project_root()
    config = yaml.safe_load((root / "_config.yml").read_text()) if root is not None else {}
    extensions = (config.get("parse") or {}).get("myst_enable_extensions") or []
    return MdParserConfig(enable_extensions=set(extensions))


def read_chapter(slug: str, config: MdParserConfig | None = None) -> nbformat.NotebookNode:
    """A chapter as myst-nb reads it, so that its cache key is the one the book build looks up."""
    path = chapters.source(slug)
    return read_myst_markdown_notebook(path.read_text(encoding="utf-8"), config=config or parser_config(),
                                       add_source_map=True, path=path)


def stale(cache_path: Path, slugs: list[str]) -> list[str]:
    """The chapters with no executed notebook in the cache for their current code."""
    cache = get_cache(str(cache_path))
    missing = []
    for slug in slugs:
        try:
            cache.match_cache_notebook(read_chapter(slug))
        except KeyError:
            missing.append(slug)
    return missing


def execute(slug: str, timeout: int) -> tuple[str, nbformat.NotebookNode, float, str | None]:
    """Run one chapter in a fresh kernel; return (slug, executed notebook, seconds, traceback or None)."""
    nb = read_chapter(slug)
    result = single_nb_execution(nb, cwd=str(chapters.source(slug).parent), allow_errors=False,
                                 timeout=timeout, meta_override=True, extra_arguments=KERNEL_ARGUMENTS)
    return slug, nb, result.time, result.exc_string if result.err is not None else None


def prebuild(cache_path: Path, jobs: int, timeout: int = 600, slugs: list[str] | None = None) -> dict[str, float]:
    """Execute the stale chapters `jobs` at a time and cache them; return {chapter: seconds}."""
    todo = stale(cache_path, slugs if slugs is not None else chapters.available())
    if not todo:
        return {}
    cache = get_cache(str(cache_path))
    seconds: dict[str, float] = {}
    print(f"executing {len(todo)} chapter(s), {jobs} at a time: {', '.join(todo)}", flush=True)
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(todo)))) as pool:
        futures = [pool.submit(execute, slug, timeout) for slug in todo]
        for future in futures:
            slug, nb, took, error = future.result()
            if error is not None:
                raise RuntimeError(f"chapter {slug} failed:\n{error}")
            uri = str(chapters.source(slug))
            cache.cache_notebook_bundle(CacheBundleIn(nb, uri, data={"execution_seconds": took}),
                                        check_validity=False, overwrite=True)
            seconds[slug] = took
            print(f"  {slug}: {took:.1f} s", flush=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion prebuild", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("_build/.jupyter_cache"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        done = prebuild(args.cache, args.jobs, args.timeout)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if done:
        print(f"executed {len(done)} chapter(s) in {time.perf_counter() - start:.0f} s "
              f"({sum(done.values()):.0f} s of chapter time)")
    return 0

