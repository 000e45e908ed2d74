"""Test session set-up: results written by tests (and by nbval's kernels) go to a temporary folder; shared data;
nbval compares `from-training` cells by their text and the bands of their numbers over seeds."""

import functools
import os
import tempfile
from pathlib import Path

import pytest
import torch

from companion.core import envelope, printed
from companion.core.paths import committed_results_root
from companion.ml.data import load_digits, standardize

os.environ["COMPANION_RESULTS_DIR"] = tempfile.mkdtemp(prefix="companion-test-results-")
os.environ.pop("MPLBACKEND", None)


def pytest_configure(config):
    """With --nbval: the output sanitizers come from `companion.core.printed` (one list for nbval and the bands), and
    cells tagged `from-training` are compared by `printed.compare_cell` instead of letter by letter."""
    if not getattr(config.option, "nbval", False):
        return
    if config.option.nbval_sanitize_with is None:
        path = Path(tempfile.mkdtemp(prefix="companion-nbval-")) / "sanitize.cfg"
        path.write_text(printed.sanitize_config())
        config.option.nbval_sanitize_with = str(path)
    from nbval.plugin import IPyNbCell

    exact = IPyNbCell.compare_outputs
    if getattr(exact, "companion", False):
        return

    def compare_outputs(self, test, ref, skip_compare=None):
        if printed.comparison(self.cell) != "bands":
            return exact(self, test, ref, skip_compare)
        why, bands = printed_bands(str(self.parent.fspath))
        self.comparison_traceback = [why] if why else printed.compare_cell(test, ref, bands.get(str(self.cell_num)))
        return not self.comparison_traceback

    compare_outputs.companion = True
    IPyNbCell.compare_outputs = compare_outputs


@functools.cache
def printed_bands(notebook):
    """(why they cannot be used, or None; the bands by code-cell index) for a reference notebook's printed
    numbers, from its chapter's committed quick envelope."""
    import nbformat

    record = (envelope.load(Path(notebook).stem, "quick", committed_results_root()) or {}).get("printed")
    why = printed.stale(record, nbformat.read(notebook, as_version=4))
    return why, ({} if why else record["cells"])


@pytest.fixture(scope="session")
def digits():
    """sklearn's digits as the chapters prepare them: (x, y, x_test, y_test) tensors, one overall
    mean and standard deviation from the training set. Torch runs on one thread, as in the chapters."""
    torch.set_num_threads(1)
    data = load_digits()
    x, mean, std = standardize(data["x_train"], per_pixel=False)
    x_test = standardize(data["x_test"], mean, std)[0]
    return (torch.as_tensor(x), torch.as_tensor(data["y_train"]), torch.as_tensor(x_test),
            torch.as_tensor(data["y_test"]))


@pytest.fixture(scope="module")
def claims(request):
    """The claims declared by the chapter named by the test module's CHAPTER, by identifier."""
    from companion.core.claims import declared

    return {c.id: c for c in declared(request.module.CHAPTER)}


@pytest.fixture(scope="module")
def settings(request):
    """The SETTINGS dict of the chapter named by the test module's CHAPTER (its first data cell)."""
    import jupytext

    cells = jupytext.read(request.module.CHAPTER, fmt="myst").cells
    cell = next(c for c in cells if "data" in c.metadata.get("tags", []))
    namespace = {"profile": "quick", "torch": torch}
    exec(cell.source, namespace)
    return namespace["SETTINGS"]


# The front matter of a MyST notebook, for the small chapters tests write.
FRONT_MATTER = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

CHAPTER = FRONT_MATTER + """
# A chapter

```{{code-cell}} ipython3
:tags: [parameters]

profile = "quick"
```

```{{code-cell}} ipython3
print({body})
```
"""


@pytest.fixture
def small_book(tmp_path, monkeypatch):
    """Three one-line chapters in a temporary book folder: two that run, one that fails."""
    for slug, body in [("one", "1 + 1"), ("two", "'two'"), ("broken", "1 / 0")]:
        (tmp_path / f"{slug}.md").write_text(CHAPTER.format(body=body))
    from companion.core import chapters

    monkeypatch.setattr(chapters, "book_dir", lambda: tmp_path)
    monkeypatch.setattr(chapters, "available", lambda: ["one", "two", "broken"])
    return tmp_path


def start_chapter(slug: str, profile: str) -> tuple[list, dict]:
    """A chapter's code cells, and the namespace after its set-up cell (imports and `start_run`, right after
    the parameters cell) ran with `profile`, seed 0, on the CPU: tests then run the cells they need in it."""
    import jupytext

    from companion.core import chapters

    code = [c for c in jupytext.read(chapters.source(slug), fmt="myst").cells if c.cell_type == "code"]
    namespace = {"profile": profile, "seed": 0, "device": "cpu"}
    exec(code[1].source, namespace)
    return code, namespace
