"""The book's structure: chapters, table of contents, reference notebooks and pinned environment."""

import json
import re
import tomllib
from pathlib import Path

import jupytext
import pytest
import yaml

from companion.core import chapters
from companion.core.claims import claims_source
from companion.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = ROOT / "tests" / "notebooks"


def test_toc_lists_exactly_the_written_chapters_and_the_apparatus_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert [f for f in files if f.removeprefix("book/") in chapters.available()] == \
        [f"book/{c}" for c in chapters.available()]
    for f in files:
        assert (ROOT / f"{f}.md").exists(), f
    assert {"book/claims", "book/reproducing", "book/references"} <= set(files)


def test_toc_parts_hold_the_registrys_chapters_in_its_order():
    """`book/chapters.yml` is the one registry; `_toc.yml`, which Jupyter Book reads, must say the same."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = {part["caption"]: [c["file"].removeprefix("book/") for c in part["chapters"]] for part in toc["parts"]}
    registered: dict[str, list[str]] = {}
    for c in chapters.planned():
        registered.setdefault(c.part, []).append(c.slug)
    assert {caption: slugs for caption, slugs in parts.items() if caption in registered} == registered


@pytest.mark.parametrize("entry", chapters.planned(), ids=lambda c: c.slug)
def test_each_chapter_opens_as_the_registry_says(entry):
    text = chapters.source(entry.slug).read_text()
    assert f"(chapter-{entry.slug})=\n# {entry.title}\n" in text
    assert re.search(rf"Abstract\s+{entry.abstract}\s+of\s+the\s+ten\s+papers", text)
    if entry.paper is not None:
        assert f"{{cite:p}}`{entry.paper}`" in text
        assert f"{{{entry.paper}," in (ROOT / "book" / "references.bib").read_text()
    assert entry.hours > 0 and entry.prerequisites and entry.part


@pytest.mark.parametrize("entry", chapters.planned(), ids=lambda c: c.slug)
def test_key_figures_are_figures_of_the_chapter_with_curves_for_the_sweep(entry):
    from companion.runs.curves import CURVES

    text = chapters.source(entry.slug).read_text()
    assert entry.key_figures and all(f"name: {fig}\n" in text for fig in entry.key_figures)
    assert entry.slug in CURVES
    assert all(fig in CURVES[entry.slug].__doc__ for fig in entry.key_figures)


def test_each_exercise_check_lives_in_its_chapters_module_and_answers_one_of_its_exercises():
    from companion.exercises import CHECKS

    for label, check in CHECKS.items():
        slug = check.expected.__module__.rsplit(".", 1)[1].replace("_", "-")
        assert f":label: {label}\n" in chapters.source(slug).read_text(), (label, slug)


@pytest.mark.parametrize("entry", [c for c in chapters.planned() if c.abstract_claims], ids=lambda c: c.slug)
def test_the_abstract_map_names_claims_the_chapter_declares(entry):
    declared = set(re.findall(r'Claim\("([a-z0-9-]+)"', claims_source(chapters.source(entry.slug))))
    named = {cid for claim in entry.abstract_claims for cid in claim.tested_by}
    assert named <= declared, f"not claims of {entry.slug}: {sorted(named - declared)}"
    assert "```{abstract-claims}" in chapters.source(entry.slug).read_text()


@pytest.mark.parametrize("slug", [c.slug for c in chapters.planned() if c.abstract_claims])
def test_every_claim_of_a_mapped_chapter_has_a_kind(slug):
    cell = claims_source(chapters.source(slug))
    kinds = re.findall(r'kind="(identity|empirical)"', cell)
    assert len(kinds) == cell.count("Claim(") and kinds


def test_an_abstract_claim_is_either_tested_or_says_why_not():
    with pytest.raises(ValueError, match="either tested_by"):
        chapters.AbstractClaim("a claim")
    with pytest.raises(ValueError, match="either tested_by"):
        chapters.AbstractClaim("a claim", tested_by=("x",), not_tested="no time")


def test_introduction_names_all_ten_papers_by_abstract_number():
    intro = (ROOT / "book" / "intro.md").read_text()
    assert len(chapters.planned()) == 10
    for c in chapters.planned():
        assert f"(abstract {c.abstract})" in intro, c.slug
    assert intro.count("*Coming.*") == 10 - len(chapters.available())


def test_unknown_chapter_error_lists_available_chapters():
    with pytest.raises(ConfigError, match="available chapters: .*sgd-vs-gd"):
        chapters.source("nope")


def code_cells(notebook) -> list[tuple[str, list[str]]]:
    """Each code cell's source and tags (nbval reads the tags, `from-training` among them, from the reference)."""
    return [("".join(c["source"]), c.get("metadata", {}).get("tags", []))
            for c in notebook["cells"]
            if c["cell_type"] == "code" and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("slug", chapters.available())
def test_reference_notebook_code_matches_its_chapter_source(slug):
    reference = REFERENCES / f"{slug}.ipynb"
    assert reference.exists(), f"no reference notebook for {slug}: run `make references`"
    source = jupytext.reads((ROOT / "book" / f"{slug}.md").read_text(), fmt="myst")
    assert code_cells(json.loads(reference.read_text())) == code_cells(source), \
        f"{reference.name} is stale: run `make references`"


def test_every_reference_notebook_belongs_to_a_chapter():
    assert {p.stem for p in REFERENCES.glob("*.ipynb")} <= set(chapters.available())


def test_chapters_follow_the_parameter_contract():
    for slug in chapters.available():
        nb = jupytext.read(chapters.source(slug), fmt="myst")
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert "parameters" in first.metadata.get("tags", []), slug
        assert re.findall(r"^(\w+) = ", first.source, flags=re.M) == ["profile", "seed", "device"]
        assert 'profile = "quick"' in first.source and "seed = 0" in first.source and 'device = "auto"' in first.source


def pins(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        name, _, version = req.partition("==")
        assert version, f"{req} is not pinned with =="
        out[name.strip().lower()] = version.strip()
    return out


def test_environment_yml_pins_the_same_versions_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected = pins(project["dependencies"] + project["optional-dependencies"]["book"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins([r for r in pip_section if not r.startswith("-e")]) == expected
    assert "jupyter-book" in expected and expected["jupyter-book"].startswith("1.")
    optional = pins(project["optional-dependencies"]["full"])  # named in a comment, not installed
    assert all(f"{name}=={version}" in (ROOT / "environment.yml").read_text() for name, version in optional.items())


@pytest.mark.parametrize("slug", chapters.available())
def test_chapter_code_lines_fit_the_book_column(slug):
    nb = jupytext.read(chapters.source(slug), fmt="myst")
    long = [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines() if len(line) > 90]
    assert not long, f"code lines over 90 characters scroll sideways in the book: {long}"


def test_book_build_fails_on_notebook_errors_and_builds_only_the_toc():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    execute = config["execute"]
    assert execute["raise_on_error"] is True and execute["allow_errors"] is False
    assert execute["execute_notebooks"] == "cache"
    assert config["only_build_toc_files"] is True
    assert "**/.pytest_cache" in config["exclude_patterns"]
    assert "companion.book.sphinx" in config["sphinx"]["extra_extensions"]


def test_a_chapters_settings_are_read_from_its_source_without_running_it():
    deep = chapters.settings("sgd-vs-gd", "DEEP")
    assert set(deep) == {"quick", "full"} and deep["full"]["data"] == "cifar10"
    models = chapters.settings("hyperbf-transformer", "MODELS", d=384)
    assert models["HyperBF"]["beta0"] == 1 / (2 * 384)  # the names it refers to are passed in
    with pytest.raises(ConfigError, match="assigns no 'NOTHING'"):
        chapters.settings("sgd-vs-gd", "NOTHING")
