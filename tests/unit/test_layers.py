"""The package's house rules, read from its source: which layer may import which, no import circles, and each
science module naming the chapters that use it."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import jupytext
import pytest

from companion.core import chapters

LIB = Path(__file__).resolve().parents[2] / "lib" / "companion"

# What each layer may import from the package (itself always included). `errors` is the ground floor.
ALLOWED = {
    "errors": set(),
    "ml": {"errors"},
    "science": {"errors", "ml"},
    "core": {"errors", "ml"},
    "exercises": {"errors", "ml", "science"},
    "book": {"errors", "core"},
    "runs": {"errors", "ml", "science", "core", "book", "exercises"},
    "package": {"errors", "ml", "science", "core", "book", "runs", "exercises"},  # __init__, __main__
}


def module_name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(LIB.rglob("*.py"))}


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return "package"
    return parts[1]


def imports(module: str) -> set[str]:
    """The package's modules that `module` imports anywhere in its body (in functions too), resolved to
    modules: `from companion.core import chapters` is `companion.core.chapters`."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "companion"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "companion":
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return {m for m in found if m != module}


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_lives_in_a_known_layer():
    assert {layer(m) for m in MODULES} <= set(ALLOWED)
    assert all(target in MODULES for targets in GRAPH.values() for target in targets), "an import of no module"


def test_no_module_imports_against_the_layers():
    wrong = [f"{m} ({layer(m)}) imports {t} ({layer(t)})" for m, targets in GRAPH.items() for t in sorted(targets)
             if layer(t) != layer(m) and layer(t) not in ALLOWED[layer(m)]]
    assert not wrong, "\n".join(wrong)


def test_the_import_graph_has_no_circle():
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                return [*path, module, target]
            if target not in state and (circle := visit(target, [*path, module])):
                return circle
        state[module] = "done"
        return None

    for module in sorted(MODULES):
        if module not in state:
            circle = visit(module, [])
            assert circle is None, "import circle: " + " -> ".join(circle[circle.index(circle[-1]):])


def test_the_layer_rules_catch_a_wrong_import():
    """The rule is not vacuous: a science module that read results, or ml that asked for a device from
    core, would be reported."""
    assert "core" not in ALLOWED["science"] and "core" not in ALLOWED["ml"]
    assert layer("companion.science.hyperbf") == "science" and layer("companion.__main__") == "package"
    assert "companion.core.chapters" in GRAPH["companion.book.syllabus"]  # `from companion.core import chapters`


@functools.cache
def chapter_uses() -> dict[str, set[str]]:
    """Science module -> the chapters whose code imports it or whose text includes its source."""
    uses: dict[str, set[str]] = {}
    for slug in chapters.available():
        text = chapters.source(slug).read_text()
        for cell in jupytext.reads(text, fmt="myst").cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:  # IPython magics
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("companion.science."):
                    uses.setdefault(node.module.split(".")[2], set()).add(slug)
        for name in re.findall(r"literalinclude\} \.\./lib/companion/science/(\w+)\.py", text):
            uses.setdefault(name, set()).add(slug)
    return uses


SCIENCE = sorted(m.rsplit(".", 1)[1] for m in MODULES if layer(m) == "science" and m.count(".") == 2)


@pytest.mark.parametrize("name", SCIENCE)
def test_each_science_module_names_the_chapters_that_use_it(name):
    doc = ast.get_docstring(ast.parse((LIB / "science" / f"{name}.py").read_text())) or ""
    found = re.search(r"Used in the chapters: ([a-z, -]+)\.", doc)
    assert found, f"companion.science.{name}: its docstring ends with 'Used in the chapters: <slugs>.'"
    named = {s.strip() for s in found.group(1).split(",")}
    assert named == chapter_uses().get(name, set()), f"companion.science.{name} is used by other chapters"
