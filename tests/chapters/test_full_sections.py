"""Each chapter's "At full scale" section draws its figures from a saved run.

No full run is committed yet for most chapters, and CI has no GPU, so this gives the section a quick run's
result files as if they were the full run's (the same code writes both, at other sizes) and runs the
section's loading and drawing cells after the chapter's definitions. A key renamed on one side, or a
plotting function that no longer accepts what the run saved, fails here instead of on the reader's page.
"""

import ast
import shutil

import jupytext
import matplotlib
import matplotlib.pyplot as plt
import pytest

from companion.core import chapters
from companion.core.paths import committed_results_root, run_dir
from companion.core.plots import show_redrawn
from conftest import start_chapter

matplotlib.use("Agg")
QUICK = committed_results_root() / "quick"


def definitions(source: str) -> ast.Module:
    """The imports, function definitions and literal constants of a cell, without its computations."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell with IPython syntax holds no definitions the section needs
        return ast.Module([], [])
    keep = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.Import | ast.ImportFrom):
            keep.append(node)
        elif isinstance(node, ast.Assign):
            try:
                ast.literal_eval(node.value)
            except ValueError:
                continue
            keep.append(node)
    return ast.Module(keep, [])


def section_cells(slug: str) -> tuple[list, list]:
    """(cells before the chapter's 'At full scale' section, the section's own cells)."""
    cells = jupytext.read(chapters.source(slug), fmt="myst").cells
    heads = [i for i, c in enumerate(cells) if c.cell_type == "markdown"]
    start = next(i for i in heads if cells[i].source.startswith("## At full scale"))
    end = next(i for i in heads if i > start and cells[i].source.startswith("## "))
    return cells[:start], cells[start:end]


@pytest.mark.parametrize("slug", chapters.available())
def test_full_section_draws_from_a_saved_run(slug, tmp_path, monkeypatch, capsys):
    quick = run_dir(slug, "quick", 0, QUICK.parent)
    if not (quick / "results.json").exists():
        pytest.skip("no quick run of this chapter: run `make book` first")
    shutil.copytree(quick, run_dir(slug, "full", 0, tmp_path))
    monkeypatch.setenv("COMPANION_RESULTS_DIR", str(tmp_path))
    before, section = section_cells(slug)
    code, namespace = start_chapter(slug, "quick")
    for cell in code[2:len([c for c in before if c.cell_type == "code"])]:
        if "data" in cell.metadata.get("tags", []):
            exec(cell.source, namespace)  # settings and the quick data the definitions refer to
        else:
            exec(compile(definitions(cell.source), slug, "exec"), namespace)
    drawing = [c for c in section if c.cell_type == "code"
               and ("load_run(" in c.source or "show_redrawn(full)" in c.source)]
    assert len(drawing) == 2, "the section should load the run, then redraw its figures"
    shown = []
    namespace["show_redrawn"] = lambda saved: shown.append(show_redrawn(saved))
    for cell in drawing:
        exec(cell.source, namespace)
    out = capsys.readouterr().out
    assert "full run:" in out and "pending" not in out
    if slug != "agop-hyperbf":  # its figure needs the MNIST results that only a full run has
        assert shown and shown[0] >= 1, "no figure was redrawn"
        assert "[provenance] redrawn from the quick profile run" in out
    assert not plt.get_fignums()
