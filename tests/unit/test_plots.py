"""Figures: saved beside a run's results with a provenance line, and that line turned into a note in the book."""

import re

import matplotlib
import matplotlib.pyplot as plt
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from companion.book.sphinx.pages import provenance_notes
from companion.core.plots import save_figure, show_redrawn
from companion.core.provenance import parse_provenance_line, split_output
from companion.core.results import load_run, save_results
from companion.core.runtime import start_run

matplotlib.use("Agg")


def test_save_figure_writes_the_png_and_prints_its_provenance(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COMPANION_RESULTS_DIR", str(tmp_path))
    run = start_run("demo-chapter", "quick", seed=3, device="cpu")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    save_figure(fig, run, "a-line")
    assert (tmp_path / "quick" / "demo-chapter" / "seed-3" / "figures" / "a-line.png").stat().st_size > 0
    assert not plt.get_fignums()  # shown once, then closed, so the cell does not show it twice
    line = capsys.readouterr().out.strip().splitlines()[-1]
    fields, command = parse_provenance_line(line)
    assert fields[:3] == ["quick profile", "seed 3", run.device_name]
    assert re.fullmatch(r"commit ([0-9a-f]{12}(-dirty)?|unknown)", fields[3])
    assert re.fullmatch(r"drawn \d+\.\d s into the run", fields[4])
    assert fields[5] == "results/quick/demo-chapter/seed-3/figures/a-line.png"  # not the temporary folder
    assert command == "make chapter NAME=demo-chapter PROFILE=quick SEED=3 DEVICE=cpu"


def test_redrawn_figures_name_the_saved_run_they_come_from(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COMPANION_RESULTS_DIR", str(tmp_path))
    run = start_run("demo-chapter", "full", seed=0, device="cpu")
    save_results(run, {"x": [1, 2]}, {"n": 2})
    saved = load_run("demo-chapter", "full", 0)
    assert show_redrawn(saved) == 0 and "[provenance]" not in capsys.readouterr().out  # nothing drawn
    plt.subplots()
    plt.subplots()
    assert show_redrawn(saved) == 2
    assert not plt.get_fignums()
    out = capsys.readouterr().out.strip().splitlines()
    fields, command = parse_provenance_line(out[-1])
    assert fields[0] == "redrawn from the full profile run" and fields[1] == "seed 0"
    assert fields[-1] == "results/full/demo-chapter/seed-0"
    assert command == "make chapter NAME=demo-chapter PROFILE=full SEED=0 DEVICE=cpu"


def test_other_printed_text_is_not_taken_for_a_provenance_line():
    assert parse_provenance_line("accuracy 0.93") is None
    assert parse_provenance_line("[provenance] a · b\nand more") is None
    other, found = split_output("accuracy 0.93\n[provenance] a · b · make x\nloss 0.1")
    assert other == "accuracy 0.93\nloss 0.1" and found == [(["a", "b"], "make x")]


def _doctree(source: str) -> nodes.document:
    """A parsed page whose literal blocks are marked as cell outputs, as myst-nb marks printed text."""
    document = new_document("<test>", get_default_settings(Parser))
    Parser().parse(source, document)
    for block in document.findall(nodes.literal_block):
        block["classes"] += ["output", "stream"]
    return document


def test_book_turns_the_line_into_the_figure_legend_or_a_note_under_redrawn_figures():
    line = "[provenance] quick profile · seed 0 · commit abc · make chapter NAME=x PROFILE=quick SEED=0 DEVICE=cpu"
    doctree = _doctree(f".. figure:: a.png\n\n   Caption.\n\n::\n\n   {line}\n\n::\n\n   {line}\n")
    provenance_notes(doctree)
    [figure] = list(doctree.findall(nodes.figure))
    [legend] = list(figure.findall(nodes.legend))
    note = legend[0]
    assert "figure-provenance" in note["classes"]
    assert note.astext() == ("Provenance: quick profile · seed 0 · commit abc. "
                             "Regenerate: make chapter NAME=x PROFILE=quick SEED=0 DEVICE=cpu")
    assert not list(doctree.findall(nodes.literal_block))  # the second, with no figure before it, became a note
    assert len([p for p in doctree.findall(nodes.paragraph) if "figure-provenance" in p["classes"]]) == 2


def test_other_lines_the_cell_printed_stay_and_code_is_left_alone():
    line = "[provenance] seed 0 · make chapter NAME=x"
    doctree = _doctree(f".. figure:: a.png\n\n   Caption.\n\n::\n\n   loss 0.1\n   {line}\n")
    source = nodes.literal_block(line, line)  # a code cell's source, not its output: never touched
    doctree += source
    provenance_notes(doctree)
    [figure] = list(doctree.findall(nodes.figure))
    assert "Provenance: seed 0" in figure.astext()
    assert [b.astext() for b in doctree.findall(nodes.literal_block)] == ["loss 0.1", line]
