"""Each chapter as a notebook a reader can download or open in Colab.

Jupyter Book 1 points its Colab button at a chapter's MyST source, which Colab cannot open. The
book instead writes every executed chapter as `.ipynb` beside its pages (`notebooks/<chapter>.ipynb`),
with a first cell that installs the `companion` library when the kernel lacks it, and links the
notebook from the chapter. When `_config.yml` names the book's GitHub repository, the chapter also
gets an "Open in Colab" link to that notebook on the branch the built site is published from.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

INSTALL_TAG = "install-companion"
COLAB = "https://colab.research.google.com/github"
# On Colab, torch, numpy, scipy, matplotlib, scikit-learn, pillow and tqdm are preinstalled: installing
# the library without its pins avoids replacing Colab's torch (gigabytes) with the book's pinned build.
COLAB_EXTRAS = ["mnist1d==0.0.2.post1"]


def github_slug(repository: str) -> str | None:
    """'owner/name' of a GitHub repository URL, or None for an empty or non-GitHub one."""
    prefix = "https://github.com/"
    if not repository.startswith(prefix):
        return None
    parts = repository.removeprefix(prefix).removesuffix(".git").strip("/").split("/")
    return "/".join(parts[:2]) if len(parts) >= 2 and all(parts[:2]) else None


def colab_url(repository: str, branch: str, chapter: str) -> str | None:
    """Colab's address of a chapter's notebook in the published site, or None without a GitHub repository."""
    slug = github_slug(repository)
    return f"{COLAB}/{slug}/blob/{branch}/notebooks/{chapter}.ipynb" if slug else None


def install_source(repository: str) -> str:
    """The first cell: install `companion` when it is missing (Colab, a fresh kernel), else do nothing."""
    head = ("# Run first. Outside the book's own environment (Colab, a fresh kernel) this installs its\n"
            "# library, `companion`; where it is installed already it does nothing.\n"
            "import importlib.util\nimport subprocess\nimport sys\n\n")
    if not github_slug(repository):
        return head + (
            'if importlib.util.find_spec("companion") is None:\n'
            '    raise ModuleNotFoundError("this notebook needs the book\'s library `companion`: in a checkout "\n'
            '                              "of the book run `pip install -e .`, then restart the kernel")\n')
    source = f"git+{repository.rstrip('/')}"
    extras = ", ".join(f'"{e}"' for e in COLAB_EXTRAS)
    return head + (
        'if importlib.util.find_spec("companion") is None:\n'
        '    if "google.colab" in sys.modules:  # keep Colab\'s torch; numbers may differ in the last digits\n'
        f'        packages = ["--no-deps", "{source}", {extras}]\n'
        '    else:\n'
        f'        packages = ["{source}"]\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *packages], check=True)\n')


def downloadable(executed: nbformat.NotebookNode, out: Path, repository: str) -> Path:
    """Write the executed chapter `executed` to `out` with the install cell first; return `out`."""
    nb = nbformat.from_dict(executed)
    nb.cells = [c for c in nb.cells if INSTALL_TAG not in c.metadata.get("tags", [])]
    cell = nbformat.v4.new_code_cell(install_source(repository), metadata={"tags": [INSTALL_TAG]})
    cell.id = INSTALL_TAG  # a fixed id, so the same build writes the same file
    nb.cells.insert(0, cell)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out
