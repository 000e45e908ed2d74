"""Each chapter as a notebook a reader can download or open in Colab.

Jupyter Book 1 points its Colab button at a chapter's MyST source, which Colab cannot open. The
book instead writes every executed chapter as `.ipynb` beside its pages (`notebooks/<chapter>.ipynb`),
with a first cell that installs the `companion` library when the kernel lacks it, and links the
notebook from the chapter. When `_config.yml` names the book's GitHub repository, the chapter also
gets an "Open in Colab" link to that notebook on the branch the built site is published from. It also
holds the arguments every kernel that executes a chapter is started with.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

INSTALL_TAG = "install-companion"
COLAB = "https://colab.research.google.com/github"
# What the chapters import beyond the library: Colab has these preinstalled ...
COLAB_PREINSTALLED = {"IPython", "matplotlib", "nbformat", "numpy", "PIL", "scipy", "sklearn", "threadpoolctl",
                      "torch", "tqdm", "xgboost", "yaml"}
# ... and not these, which the first cell installs there (with their own dependencies). The library itself
# is installed without its pins, so that Colab keeps its torch (gigabytes) and NumPy.
COLAB_EXTRAS = {"mnist1d": "mnist1d==0.0.2.post1", "myst_nb": "myst-nb==1.4.0", "jupytext": "jupytext==1.19.6"}

# Arguments for every kernel that executes a chapter (the book's prebuild, papermill runs): the kernel
# process logs errors only. Its one warning otherwise, that it talks to this process over TCP without
# encryption, is harmless here (local sockets, messages signed with a per-kernel key) and was printed once
# per chapter. Warnings raised by a chapter's code are cell outputs and stay visible.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


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


def pip_source(repository: str, commit: str | None) -> str | None:
    """pip's address of the library in a GitHub repository, at `commit` (a full hash) when one is given."""
    slug = github_slug(repository)
    if slug is None:
        return None
    return f"git+https://github.com/{slug}.git" + (f"@{commit}" if commit else "")


def install_source(repository: str, commit: str | None = None) -> str:
    """The first cell: install `companion` when it is missing (Colab, a fresh kernel), else do nothing."""
    source = pip_source(repository, commit)
    if source is None:
        return (
            "# Run first: this notebook needs the book's library, `companion`.\n"
            "import importlib.util\n\n"
            'if importlib.util.find_spec("companion") is None:\n'
            '    raise ModuleNotFoundError("this notebook needs the book\'s library `companion`: in a checkout "\n'
            '                              "of the book run `pip install -e .`, then restart the kernel")\n')
    extras = ", ".join(f'"{e}"' for e in COLAB_EXTRAS.values())
    return (
        "# Run first. Where the book's library, `companion`, is missing, this installs it: on Colab without\n"
        "# its pins (Colab's torch and NumPy stay, so the last digits may differ from the book's), elsewhere\n"
        "# with its pinned dependencies, torch 2.13.0 among them, into this environment. Where it is\n"
        "# installed already, it does nothing.\n"
        "import importlib\nimport importlib.util\nimport subprocess\nimport sys\n\n"
        'if importlib.util.find_spec("companion") is None:\n'
        '    pip = [sys.executable, "-m", "pip", "install", "--quiet"]\n'
        '    if "google.colab" in sys.modules:\n'
        f'        subprocess.run([*pip, {extras}], check=True)\n'
        f'        subprocess.run([*pip, "--no-deps", "{source}"], check=True)\n'
        '    else:\n'
        f'        subprocess.run([*pip, "{source}"], check=True)\n'
        '    importlib.invalidate_caches()\n')


def number_cells(nb: dict) -> dict:
    """Give the cells ids `cell-0`, `cell-1`, ... (jupytext draws random ones), so that rebuilding a
    notebook changes its file only where its content changes."""
    for index, cell in enumerate(nb.get("cells", [])):
        if "id" in cell:
            cell["id"] = f"cell-{index}"
    return nb


def downloadable(executed: nbformat.NotebookNode, out: Path, repository: str, commit: str | None = None) -> Path:
    """Write the executed chapter `executed` to `out` with the install cell first; return `out`."""
    nb = nbformat.from_dict(executed)
    nb.cells = [c for c in nb.cells if INSTALL_TAG not in c.metadata.get("tags", [])]
    nb.cells.insert(0, nbformat.v4.new_code_cell(install_source(repository, commit),
                                                  metadata={"tags": [INSTALL_TAG]}))
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(number_cells(nb), out)
    return out
