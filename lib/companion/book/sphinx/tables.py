"""The tables of runs: claims (and each chapter's badge), committed full runs, the quick book's timings,
GPU throughput and how the reference notebooks are compared. Each but the last is a placeholder node filled
in when the page is written, after every chapter has executed and recorded its claims; the comparison table
is built when the page is read, from committed files."""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from companion.book.sphinx.records import (
    claims_link,
    envelope_files,
    outcome,
    read_json,
    recorded_claims,
    seeds_held,
    table,
)
from companion.core import chapters
from companion.core.claims import fmt
from companion.core.envelope import envelope_path, seed_spec
from companion.core.paths import committed_results_root, run_dir


class claims_table_node(nodes.General, nodes.Element):
    """Placeholder replaced by the claims table when the page is written."""


class full_runs_node(nodes.General, nodes.Element):
    """Placeholder replaced by the table of committed full-profile runs."""


class ClaimsTable(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(chapters.registry_path()))  # the chapters' titles and order
        return [claims_table_node()]


class FullRunsTable(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        return [full_runs_node()]


class bench_node(nodes.General, nodes.Element):
    """Placeholder replaced by the table of the committed quick-profile timings (`make bench`)."""


class BenchTable(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        return [bench_node()]


class throughput_node(nodes.General, nodes.Element):
    """Placeholder replaced by the table of committed training-loop throughputs (`companion.runs.throughput`)."""


class ThroughputTable(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        return [throughput_node()]


class ComparisonTable(SphinxDirective):
    """How `make test` compares each chapter's reference notebook with a new run (`companion.core.printed`)."""

    def run(self) -> list[nodes.Node]:
        return comparison_table(committed_results_root().parent / "tests" / "notebooks")


def claims_table(app: Sphinx, docname: str) -> list[nodes.Node]:
    """One table per chapter with recorded claims: claim, statement (and where), threshold, outcomes."""
    out: list[nodes.Node] = []
    for chapter in chapters.planned():
        quick, full = recorded_claims(chapter.slug, "quick"), recorded_claims(chapter.slug, "full")
        seeds = {p: {c["id"]: c for c in (read_json(path) or {}).get("claims", [])}
                 for p, path in envelope_files(chapter.slug).items()}
        rows = []
        for cid in dict.fromkeys([*quick, *full]):
            rec = quick.get(cid) or full[cid]
            held = " · ".join(f"{p} {seeds_held(c[cid])}" for p, c in seeds.items() if cid in c) or "–"
            rows.append([claims_link(app, docname, chapter.slug, cid), f"{rec['statement']} ({rec['where']})",
                         rec.get("kind") or "–", f"{rec['op']} {fmt(rec['threshold'])}", outcome(quick.get(cid)),
                         outcome(full.get(cid)), held])
        if rows:
            out.append(nodes.rubric(text=f"{chapter.title} (abstract {chapter.abstract})"))
            out.append(table(["claim", "statement (in the paper)", "kind", "threshold", "quick", "full",
                              "holds in seeds"], rows, [15, 33, 8, 10, 12, 12, 10]))
    return out or [nodes.paragraph(text="No chapter has recorded claims yet: build the book to run them.")]


def full_runs_table(app: Sphinx, docname: str) -> nodes.Node:
    rows = []
    for chapter in chapters.planned():
        prov = read_json(run_dir(chapter.slug, "full", 0, committed_results_root()) / "provenance.json")
        if prov:
            rows.append([chapter.slug, prov.get("device", "?"), prov.get("date", "?")[:10],
                         f"{prov.get('wall_time_s', 0) / 60:.1f}", prov.get("commit", "?")])
    if not rows:
        return nodes.paragraph(text="No full-profile run is committed yet: every chapter's GPU run is pending.")
    return table(["chapter", "device", "date", "minutes", "commit"], rows, [20, 30, 12, 8, 14])


def comparison_table(references: Path) -> list[nodes.Node]:
    """Per chapter: its code cells with output compared to the letter, those from training (with how many
    numbers and verdicts are held to bands over which seeds), and those not compared."""
    from companion.core.printed import code_cells, comparison

    rows = []
    for chapter in chapters.planned():
        notebook = read_json(references / f"{chapter.slug}.ipynb")
        if not notebook:
            continue
        how = [comparison(c) for c in code_cells(notebook) if c.get("outputs")]
        record = (read_json(envelope_path(chapter.slug, "quick", committed_results_root())) or {}).get("printed") or {}
        bands = record.get("cells", {}).values()
        tokens = sum(t["kind"] != "label" for band in bands for t in band.get("tokens") or [])
        seeds = seed_spec(record["seeds"]) if record.get("seeds") else "–"
        rows.append([chapter.slug, str(how.count("exact")), str(how.count("bands")), str(tokens), seeds,
                     str(how.count("none"))])
    if not rows:
        return [nodes.paragraph(text="No reference notebook yet: make references writes them.")]
    header = ["chapter", "exact", "from training", "numbers and verdicts in bands", "seeds", "not compared"]
    return [table(header, rows, [22, 8, 10, 10, 8, 10])]


def bench_table(path: Path) -> list[nodes.Node]:
    """The committed `make bench` timings: machine and date, then seconds per chapter and the book's builds."""
    report = read_json(path)
    if not report:
        para = nodes.paragraph(text="No timings are committed yet: ")
        para += [nodes.literal("", "make bench"), nodes.Text(" measures them.")]
        return [para]
    m = report["machine"]
    intro = nodes.paragraph(text="Measured by ")
    intro += [nodes.literal("", "make bench"), nodes.Text(
        f" on {m['processor']} ({m['cores']} cores), Python {m['python']}, torch {m['torch']}, on "
        f"{report['date'][:10]} at commit {report['commit']}; each chapter ran alone, with one torch thread.")]
    rows = [[name, f"{c['seconds']:.1f}", c["claims"]] for name, c in report["chapters"].items()]
    total = sum(c["seconds"] for c in report["chapters"].values())
    rows.append(["all chapters, one after another", f"{total:.1f}", ""])
    book = report.get("book")
    if book:
        rows.append([f"book, cold build ({report['jobs']} chapters at a time)", f"{book['cold_s']:.1f}", ""])
        rows.append(["book, warm rebuild (nothing changed)", f"{book['warm_s']:.1f}", ""])
    return [intro, table(["quick profile", "seconds", "claims passed"], rows, [40, 10, 12])]


def throughput_table(folder: Path) -> list[nodes.Node]:
    """The committed throughput comparisons, one row per workload, or how to measure them."""
    reports = [r for r in (read_json(path) for path in sorted(folder.glob("*.json"))) if r]
    if not reports:
        para = nodes.paragraph(text="Not measured yet: this needs a GPU. ")
        para += [nodes.literal("", "python -m companion throughput --workload sgd-mlp --device cuda "
                                   "--out results/bench/throughput/sgd-mlp.json"),
                 nodes.Text(" measures one workload (and likewise "), nodes.literal("", "hyperbf-transformer"),
                 nodes.Text(").")]
        return [para]

    def share(r: dict) -> str:
        return f"{100 * r['fraction_of_peak']:.0f}% of {r['peak_tflops']:.0f}" if r.get("fraction_of_peak") else "-"

    rows = [[r["workload"], r["device"], r["precision"], f"{r['book_images_per_s']:,.0f}",
             f"{r['dataloader_images_per_s']:,.0f}", f"{r['ratio']:.2f}", f"{r['book_tflops']:.1f}", share(r)]
            for r in reports]
    return [table(["workload", "device", "precision", "book loop (images/s)", "DataLoader loop (images/s)",
                    "ratio", "TFLOP/s", "share of peak TFLOP/s"], rows, [14, 20, 9, 10, 10, 6, 7, 12])]


def badge_text(quick: dict[str, dict], full: dict[str, dict]) -> str:
    """A chapter's claims in one line: how many pass at each profile, or that a run is pending."""
    def count(records: dict[str, dict]) -> str:
        if not records:
            return "pending"
        return f"{sum(r['passed'] for r in records.values())} of {len(records)} pass"

    return f"Claims: quick profile {count(quick)}; full profile {count(full)}"


def claims_badge(doctree: nodes.document, slug: str) -> nodes.Node | None:
    """Put the chapter's claims badge under its title, linked to its claims section; return it."""
    title = next(iter(doctree.findall(nodes.title)), None)
    if title is None:
        return None
    text = badge_text(recorded_claims(slug, "quick"), recorded_claims(slug, "full"))
    badge = nodes.paragraph(classes=["claims-badge"])
    badge += nodes.reference("", text, refuri=f"#{slug}-claims")
    title.parent.insert(title.parent.index(title) + 1, badge)
    return badge
