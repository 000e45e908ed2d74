"""Chapters as notebooks to download or open in Colab, with a first cell that installs the library."""

import subprocess
import sys

import nbformat
import pytest

from companion import notebooks
from companion.notebooks import INSTALL_TAG, colab_url, downloadable, github_slug, install_source


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
    source = install_source("https://github.com/a/b")
    assert _run_install_cell(source, monkeypatch, installed=True, colab=True) == []
    [colab] = _run_install_cell(source, monkeypatch, installed=False, colab=True)
    assert colab[1:5] == ["-m", "pip", "install", "--quiet"]
    assert "--no-deps" in colab and "git+https://github.com/a/b" in colab
    assert all(extra in colab for extra in notebooks.COLAB_EXTRAS)
    [local] = _run_install_cell(source, monkeypatch, installed=False, colab=False)
    assert local[-1] == "git+https://github.com/a/b" and "--no-deps" not in local


def test_install_cell_without_a_repository_says_what_to_do(monkeypatch):
    source = install_source("")
    assert _run_install_cell(source, monkeypatch, installed=True, colab=False) == []
    with pytest.raises(ModuleNotFoundError, match="pip install -e"):
        _run_install_cell(source, monkeypatch, installed=False, colab=False)


def test_downloadable_notebook_starts_with_one_install_cell(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="1\n")])])
    out = downloadable(nb, tmp_path / "site" / "chapter.ipynb", "https://github.com/a/b")
    again = downloadable(nbformat.read(out, as_version=4), out, "https://github.com/a/b")  # still one install cell
    cells = nbformat.read(again, as_version=4).cells
    assert [INSTALL_TAG in c.metadata.get("tags", []) for c in cells] == [True, False]
    assert cells[1].outputs[0]["text"] == "1\n"  # the executed outputs travel with it
    nbformat.validate(nbformat.read(again, as_version=4))
