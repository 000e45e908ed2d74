"""Chapters as notebooks to download or open in Colab, with a first cell that installs the library."""

import ast
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from companion.book import notebooks
from companion.book.notebooks import INSTALL_TAG, colab_url, downloadable, github_slug, install_source, pip_source
from companion.core import chapters


def test_colab_links_need_a_github_repository():
    assert github_slug("https://github.com/someone/theory-run.git") == "someone/theory-run"
    assert github_slug("https://github.com/someone/theory-run/tree/main") == "someone/theory-run"
    assert github_slug("") is None and github_slug("https://gitlab.com/a/b") is None
    assert github_slug("https://github.com/someone") is None
    assert colab_url("https://github.com/a/b", "gh-pages", "sgd-vs-gd") == (
        "https://colab.research.google.com/github/a/b/blob/gh-pages/notebooks/sgd-vs-gd.ipynb")
    assert colab_url("", "gh-pages", "sgd-vs-gd") is None


def _run_install_cell(source, monkeypatch, *, installed, colab):
    """Execute the install cell with `companion` present or not, on Colab or not; return pip's arguments."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, check: calls.append(args))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object() if installed else None)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", object())
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "install-cell", "exec"), {})
    return calls


def test_install_cell_installs_only_when_the_library_is_missing(monkeypatch):
    source = install_source("https://github.com/a/b/tree/main", commit="f" * 40)
    assert _run_install_cell(source, monkeypatch, installed=True, colab=True) == []
    extras, library = _run_install_cell(source, monkeypatch, installed=False, colab=True)
    assert extras[1:5] == ["-m", "pip", "install", "--quiet"]
    assert extras[5:] == list(notebooks.COLAB_EXTRAS.values())  # with their dependencies
    assert library[5:] == ["--no-deps", "git+https://github.com/a/b.git@" + "f" * 40]  # a URL pip can install
    [local] = _run_install_cell(source, monkeypatch, installed=False, colab=False)
    assert local[5:] == ["git+https://github.com/a/b.git@" + "f" * 40]
    assert pip_source("https://github.com/a/b", None) == "git+https://github.com/a/b.git"
    assert pip_source("", "f" * 40) is None


def test_on_colab_every_package_the_chapters_import_is_there_or_installed_first():
    """The chapters' imports, and those of every library module they reach, against what Colab has."""
    lib = Path(notebooks.__file__).parents[1]  # lib/companion
    todo = [name for slug in chapters.available() for cell in jupytext.read(chapters.source(slug)).cells
            if cell.cell_type == "code" for name in _imports(cell.source)]
    seen, outside = set(), set()
    while todo:
        name = todo.pop()
        if name.split(".")[0] != "companion":
            outside.add(name.split(".")[0])
        elif name not in seen:
            seen.add(name)
            folder = lib.joinpath(*name.split(".")[1:])
            for path in (folder.with_suffix(".py"), folder / "__init__.py"):
                todo += _imports(path.read_text()) if path.exists() else []
    third_party = outside - set(sys.stdlib_module_names)
    assert "companion.core.plots" in seen and "torch" in third_party  # the walk reaches the library
    missing = third_party - notebooks.COLAB_PREINSTALLED - set(notebooks.COLAB_EXTRAS)
    assert not missing, f"imported by the chapters but neither on Colab nor installed there: {missing}"


def _imports(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)  # and its names, which may be modules (`from companion.core import claims`)
            names += [f"{node.module}.{a.name}" for a in node.names if node.module.startswith("companion")]
    return names


def test_install_cell_without_a_repository_says_what_to_do(monkeypatch):
    source = install_source("")
    assert _run_install_cell(source, monkeypatch, installed=True, colab=False) == []
    with pytest.raises(ModuleNotFoundError, match="pip install -e"):
        _run_install_cell(source, monkeypatch, installed=False, colab=False)


def test_downloadable_notebook_starts_with_one_install_cell(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="1\n")])])
    out = downloadable(nb, tmp_path / "site" / "chapter.ipynb", "https://github.com/a/b")
    first = out.read_text()
    again = downloadable(nbformat.read(out, as_version=4), out, "https://github.com/a/b")  # still one install cell
    assert again.read_text() == first  # numbered cell ids: the same notebook gives the same file
    cells = nbformat.read(again, as_version=4).cells
    assert [INSTALL_TAG in c.metadata.get("tags", []) for c in cells] == [True, False]
    assert cells[1].outputs[0]["text"] == "1\n"  # the executed outputs travel with it
    nbformat.validate(nbformat.read(again, as_version=4))
