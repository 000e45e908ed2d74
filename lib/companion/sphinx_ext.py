"""Sphinx directives that render the book's record of runs (the claims table and the full-run table)
and the teacher's syllabus.

The tables are filled in when pages are written, after every chapter has executed (and so
after each has recorded its claims), and the pages holding them are re-read whenever any
other page changes. The syllabus is read from the chapters' sources when its page is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from companion import chapters, notebooks
from companion.chapters import PLANNED
from companion.claims import fmt
from companion.envelope import FIGURE, envelope_path
from companion.paths import committed_results_root, results_root, run_dir
from companion.provenance import SEP, split_output
from companion.results import git_commit
from companion.sweep import seed_spec as sweep_spec

DYNAMIC_PAGES = ("book/claims", "book/reproducing")
logger = logging.getLogger(__name__)


class claims_table_node(nodes.General, nodes.Element):
    """Placeholder replaced by the claims table when the page is written."""


class full_runs_node(nodes.General, nodes.Element):
    """Placeholder replaced by the table of committed full-profile runs."""


class ClaimsTable(SphinxDirective):
    def run(self) -> list[nodes.Node]:
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
    """Placeholder replaced by the table of committed training-loop throughputs (`companion.throughput`)."""


class ThroughputTable(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        return [throughput_node()]


class ComparisonTable(SphinxDirective):
    """How `make test` compares each chapter's reference notebook with a new run (`companion.printed`)."""

    def run(self) -> list[nodes.Node]:
        return comparison_table(committed_results_root().parent / "tests" / "notebooks")


class envelope_node(nodes.General, nodes.Element):
    """Placeholder replaced by a chapter's claims over seeds (its committed envelopes)."""


class ClaimsEnvelope(SphinxDirective):
    """A chapter's reproducibility envelope: its key curves as bands over seeds (a figure, placed when the page
    is read so that Sphinx copies the image) and, when the page is written, each claim's count of seeds."""

    def run(self) -> list[nodes.Node]:
        slug = self.env.docname.removeprefix("book/")
        out: list[nodes.Node] = []
        for path in _envelope_files(slug).values():
            self.env.note_dependency(str(path))
            envelope = _read(path)
            png = path.parent / FIGURE
            if not envelope or not png.exists():
                continue
            self.env.note_dependency(str(png))
            figure = nodes.figure(classes=["envelope-figure"])
            rel = "/" + png.relative_to(committed_results_root().parent).as_posix()
            what = (f"{envelope['profile']} profile over {len(envelope['seeds'])} seeds: a line or point is the "
                    "mean, its band or bar the range from the lowest to the highest seed")
            figure += nodes.image(uri=rel, alt=f"The chapter's key curves, {what}.")
            figure += nodes.caption("", f"The key curves of this chapter's figures, {what}.")
            figure += nodes.legend("", envelope_provenance(envelope, rel.lstrip("/")))
            out.append(figure)
        self.env.companion_envelopes[self.env.docname] = tuple(_envelope_files(slug))
        out.append(envelope_node(slug=slug))
        return out


def envelope_provenance(envelope: dict, png: str) -> nodes.paragraph:
    """The band figure's provenance note, like every figure's: profile, seeds, devices, commits, date and file,
    and the command that draws it again (re-aggregating the seeds that exist, running the missing ones)."""
    fields = [f"{envelope['profile']} profile", f"seeds {_seed_range(envelope['seeds'])}", _devices(envelope),
              f"commit {', '.join(envelope['commits'])}", f"aggregated {envelope['date'][:10]}", png]
    device = "" if envelope["profile"] == "quick" else " DEVICE=cuda"
    command = (f"make sweep SEEDS={sweep_spec(envelope['seeds'])} PROFILE={envelope['profile']}{device} "
               f"CHAPTERS={envelope['chapter']}")
    note = nodes.paragraph(classes=["figure-provenance"])
    note += nodes.strong("", "Provenance: ")
    note += nodes.Text(SEP.join(fields) + ". Regenerate: ")
    note += nodes.literal("", command)
    return note


def _envelope_files(slug: str) -> dict[str, Path]:
    """The committed envelope files of a chapter, by profile."""
    paths = {profile: envelope_path(slug, profile, committed_results_root()) for profile in ("quick", "full")}
    return {profile: path for profile, path in paths.items() if path.exists()}


def _seed_range(seeds: list[int]) -> str:
    """Seeds for reading: [0, 1, 2, 5] is '0–2, 5'."""
    return sweep_spec(seeds).replace("-", "–").replace(",", ", ")


def _devices(envelope: dict) -> str:
    """The devices the envelope's runs ran on."""
    return ", ".join(sorted({r.get("device") or "?" for r in envelope.get("runs", {}).values()}))


def _held(claim: dict | None) -> str:
    if claim is None:
        return "–"
    return f"{claim['holds']} of {claim['n']}"


def envelope_intro(envelope: dict) -> nodes.paragraph:
    """Which seeds, commit, date and time a committed envelope comes from."""
    how = ""
    sweeps = envelope.get("sweeps", [])
    if sweeps:
        parts = []
        for sweep in sweeps:
            m = sweep.get("machine", {})
            where = f" on {m['cores']} cores ({m['processor']})" if m else ""
            jobs = f", {sweep['jobs']} at a time" if sweep.get("jobs") else ""
            chapters_ = f" of {len(sweep['chapters'])} chapter(s)" if sweep.get("chapters") else ""
            parts.append(f"{sweep['ran']} jobs{chapters_} in {sweep['wall_time_s'] / 60:.0f} min "
                         f"({sweep['launcher']} launcher{jobs}{where})")
        how = "; the sweep ran " + ", then ".join(parts)
    failed = f" Seeds that did not finish: {', '.join(map(str, envelope['failed']))}." if envelope["failed"] else ""
    return nodes.paragraph(text=(
        f"{envelope['profile'].capitalize()} profile, seeds {_seed_range(envelope['seeds'])} "
        f"({len(envelope['seeds'])} runs) on {_devices(envelope)}, at commit {', '.join(envelope['commits'])}, "
        f"aggregated {envelope['date'][:10]}{how}.{failed}"))


def envelope_summary(envelope: dict) -> nodes.paragraph:
    """In words: which claims held at every seed, and for the others, at how many, with the measured range
    against the threshold (so the reader sees whether a failure is near the line or far from it)."""
    always = [c["id"] for c in envelope["claims"] if c["n"] and c["holds"] == c["n"]]
    other = [c for c in envelope["claims"] if c["id"] not in always]
    text = f"At the {envelope['profile']} profile, "
    text += f"{len(always)} of {len(envelope['claims'])} claims held at every seed"
    if other:
        text += "; " + "; ".join(
            f"{c['id']} held at {c['holds']} of {c['n']} seeds (measured {fmt(c['min'])} to {fmt(c['max'])}, "
            f"threshold {c['op']} {fmt(c['threshold'])})" if c["min"] is not None else
            f"{c['id']} was not measured" for c in other)
    return nodes.paragraph(text=text + ".")


def envelope_table(slug: str) -> list[nodes.Node]:
    """Each claim: this build's single-seed outcome next to the number of seeds where it held, with the mean,
    spread and range of its measured value; or how to run a sweep when none is committed."""
    envelopes = {p: _read(path) for p, path in _envelope_files(slug).items()}
    envelopes = {p: e for p, e in envelopes.items() if e}
    if not envelopes:
        para = nodes.paragraph(text="No seed sweep is committed for this chapter yet: ")
        para += nodes.literal("", f"python -m companion.reproduce --seeds 0-4 --jobs 2 --chapters {slug}")
        para += nodes.Text(" runs one and writes its envelope.")
        return [para]
    single = _claims(slug, "quick")
    by_id = {p: {c["id"]: c for c in e["claims"]} for p, e in envelopes.items()}
    rows = []
    for cid in dict.fromkeys([*single, *(c for claims in by_id.values() for c in claims)]):
        rec = next((by_id[p][cid] for p in by_id if cid in by_id[p]), None)
        spread = "–"
        if rec is not None and rec["mean"] is not None:
            sd = "–" if rec["sd"] is None else fmt(rec["sd"])  # one seed has no spread
            spread = f"{fmt(rec['mean'])} ± {sd} [{fmt(rec['min'])}, {fmt(rec['max'])}]"
        rows.append([cid, _outcome(single.get(cid)), _held(by_id.get("quick", {}).get(cid)), spread,
                     _held(by_id.get("full", {}).get(cid))])
    why = nodes.paragraph(text=(
        "One run shows that a claim can hold; a sweep over seeds shows how often it does. Each seed reruns the "
        "whole chapter with what it draws from its seed (data samples, initial weights, minibatch order) drawn "
        "afresh; draws the chapter fixes on purpose stay fixed. The thresholds are the chapter's own. Where "
        "there is a figure above, it shows how far the key curves move from seed to seed."))
    intro = [envelope_intro(e) for e in envelopes.values()]
    summaries = [envelope_summary(e) for e in envelopes.values()]
    header = ["claim", "this build (seed 0)", "holds, quick seeds", "measured: mean ± sd [range]",
              "holds, full seeds"]
    return [why, *intro, *summaries, _table(header, rows, [18, 14, 10, 26, 10])]


class SyllabusChapters(SphinxDirective):
    """Every written chapter's time, prerequisites and objectives (its "You will" list)."""

    def run(self) -> list[nodes.Node]:
        from companion import syllabus

        for slug in chapters.available():  # a chapter edited later re-reads this page
            self.env.note_dependency(str(chapters.source(slug)))
        text = "\n".join(syllabus.chapter_markdown(slug) for slug in chapters.available())
        return self.parse_text_to_nodes(text)


class SyllabusCourses(SphinxDirective):
    """The suggested courses through the written chapters."""

    def run(self) -> list[nodes.Node]:
        from companion import syllabus

        return self.parse_text_to_nodes(syllabus.courses_markdown())


def _read(path: Path) -> Any:
    """A result file's content, None when absent; a corrupt file is a build warning (an error under -W)."""
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        logger.warning(f"result file {path} is not valid JSON ({err}); regenerate it")
        return None


def _claims(chapter: str, profile: str) -> dict[str, dict]:
    root = results_root() if profile == "quick" else committed_results_root()
    records = _read(run_dir(chapter, profile, 0, root) / "claims.json") or []
    return {r["id"]: r for r in records}


def _table(header: list[str], rows: list[list[nodes.Node | str]], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["companion-table"])
    group = nodes.tgroup(cols=len(header))
    table += group
    group.extend(nodes.colspec(colwidth=w) for w in widths)

    def row(cells: list[nodes.Node | str]) -> nodes.row:
        out = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph("", "", cell if isinstance(cell, nodes.Node) else nodes.Text(cell))
            out += entry
        return out

    head = nodes.thead()
    head += row(header)
    body = nodes.tbody()
    body.extend(row(r) for r in rows)
    group += head
    group += body
    return table


def _outcome(record: dict | None) -> str:
    if record is None:
        return "pending"
    return f"{'PASS' if record['passed'] else 'FAIL'} ({fmt(record['measured'])})"


def _link(app: Sphinx, docname: str, slug: str, text: str) -> nodes.Node:
    """A link to a chapter's claims section (label `<slug>-claims`), or plain text if the chapter is absent."""
    target = f"book/{slug}"
    if target not in app.env.found_docs:
        return nodes.Text(text)
    uri = app.builder.get_relative_uri(docname, target) + f"#{slug}-claims"
    return nodes.reference("", text, refuri=uri)


def claims_table(app: Sphinx, docname: str) -> list[nodes.Node]:
    """One table per chapter with recorded claims: claim, statement (and where), threshold, outcomes."""
    out: list[nodes.Node] = []
    for chapter in PLANNED:
        quick, full = _claims(chapter.slug, "quick"), _claims(chapter.slug, "full")
        seeds = {p: {c["id"]: c for c in (_read(path) or {}).get("claims", [])}
                 for p, path in _envelope_files(chapter.slug).items()}
        rows = []
        for cid in dict.fromkeys([*quick, *full]):
            rec = quick.get(cid) or full[cid]
            held = " · ".join(f"{p} {_held(c[cid])}" for p, c in seeds.items() if cid in c) or "–"
            rows.append([_link(app, docname, chapter.slug, cid), f"{rec['statement']} ({rec['where']})",
                         f"{rec['op']} {fmt(rec['threshold'])}", _outcome(quick.get(cid)), _outcome(full.get(cid)),
                         held])
        if rows:
            out.append(nodes.rubric(text=f"{chapter.title} (abstract {chapter.abstract})"))
            out.append(_table(["claim", "statement (in the paper)", "threshold", "quick", "full",
                               "holds in seeds"], rows, [16, 36, 10, 13, 13, 12]))
    return out or [nodes.paragraph(text="No chapter has recorded claims yet: build the book to run them.")]


def full_runs_table(app: Sphinx, docname: str) -> nodes.Node:
    rows = []
    for chapter in PLANNED:
        prov = _read(run_dir(chapter.slug, "full", 0, committed_results_root()) / "provenance.json")
        if prov:
            rows.append([chapter.slug, prov.get("device", "?"), prov.get("date", "?")[:10],
                         f"{prov.get('wall_time_s', 0) / 60:.1f}", prov.get("commit", "?")])
    if not rows:
        return nodes.paragraph(text="No full-profile run is committed yet: every chapter's GPU run is pending.")
    return _table(["chapter", "device", "date", "minutes", "commit"], rows, [20, 30, 12, 8, 14])


def comparison_table(references: Path) -> list[nodes.Node]:
    """Per chapter: its code cells with output compared to the letter, those from training (with how many
    numbers and verdicts are held to bands over which seeds), and those not compared."""
    from companion.printed import code_cells, comparison

    rows = []
    for chapter in PLANNED:
        notebook = _read(references / f"{chapter.slug}.ipynb")
        if not notebook:
            continue
        how = [comparison(c) for c in code_cells(notebook) if c.get("outputs")]
        record = (_read(envelope_path(chapter.slug, "quick", committed_results_root())) or {}).get("printed") or {}
        bands = record.get("cells", {}).values()
        tokens = sum(t["kind"] != "label" for band in bands for t in band.get("tokens") or [])
        seeds = sweep_spec(record["seeds"]) if record.get("seeds") else "–"
        rows.append([chapter.slug, str(how.count("exact")), str(how.count("bands")), str(tokens), seeds,
                     str(how.count("none"))])
    if not rows:
        return [nodes.paragraph(text="No reference notebook yet: make references writes them.")]
    header = ["chapter", "exact", "from training", "numbers and verdicts in bands", "seeds", "not compared"]
    return [_table(header, rows, [22, 8, 10, 10, 8, 10])]


def bench_table(path: Path) -> list[nodes.Node]:
    """The committed `make bench` timings: machine and date, then seconds per chapter and the book's builds."""
    report = _read(path)
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
    return [intro, _table(["quick profile", "seconds", "claims passed"], rows, [40, 10, 12])]


def throughput_table(folder: Path) -> list[nodes.Node]:
    """The committed throughput comparisons, one row per workload, or how to measure them."""
    reports = [r for r in (_read(path) for path in sorted(folder.glob("*.json"))) if r]
    if not reports:
        para = nodes.paragraph(text="Not measured yet: this needs a GPU. ")
        para += [nodes.literal("", "python -m companion.throughput --workload sgd-mlp --device cuda "
                                   "--out results/bench/throughput/sgd-mlp.json"),
                 nodes.Text(" measures one workload (and likewise "), nodes.literal("", "hyperbf-transformer"),
                 nodes.Text(").")]
        return [para]

    def share(r: dict) -> str:
        return f"{100 * r['fraction_of_peak']:.0f}% of {r['peak_tflops']:.0f}" if r.get("fraction_of_peak") else "-"

    rows = [[r["workload"], r["device"], r["precision"], f"{r['book_images_per_s']:,.0f}",
             f"{r['dataloader_images_per_s']:,.0f}", f"{r['ratio']:.2f}", f"{r['book_tflops']:.1f}", share(r)]
            for r in reports]
    return [_table(["workload", "device", "precision", "book loop (images/s)", "DataLoader loop (images/s)",
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
    text = badge_text(_claims(slug, "quick"), _claims(slug, "full"))
    badge = nodes.paragraph(classes=["claims-badge"])
    badge += nodes.reference("", text, refuri=f"#{slug}-claims")
    title.parent.insert(title.parent.index(title) + 1, badge)
    return badge


def run_links(app: Sphinx, slug: str) -> nodes.paragraph:
    """'Run it yourself': the chapter's executed notebook to download, and Colab when the repository is known."""
    para = nodes.paragraph(classes=["run-links"])
    para += nodes.Text("Run this chapter yourself: ")
    para += nodes.reference("", "download the notebook (.ipynb)", refuri=f"../notebooks/{slug}.ipynb")
    url = notebooks.colab_url(app.config.companion_repository, app.config.companion_pages_branch, slug)
    if url:
        para += nodes.Text(" · ")
        para += nodes.reference("", "open it in Colab", refuri=url)
    para += nodes.Text(", or in a checkout: ")
    para += nodes.literal("", f"make chapter NAME={slug}")
    return para


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    slug = docname.removeprefix("book/")
    if slug in {c.slug for c in PLANNED} and docname.startswith("book/"):
        badge = claims_badge(doctree, slug)
        if badge is not None and app.config.companion_notebooks:
            badge.parent.insert(badge.parent.index(badge) + 1, run_links(app, slug))
    for node in list(doctree.findall(claims_table_node)):
        node.replace_self(claims_table(app, docname))
    for node in list(doctree.findall(envelope_node)):
        node.replace_self(envelope_table(node["slug"]))
    for node in list(doctree.findall(full_runs_node)):
        node.replace_self(full_runs_table(app, docname))
    for node in list(doctree.findall(bench_node)):
        node.replace_self(bench_table(committed_results_root() / "bench" / "quick.json"))
    for node in list(doctree.findall(throughput_node)):
        node.replace_self(throughput_table(committed_results_root() / "bench" / "throughput"))


def provenance_notes(doctree: nodes.document) -> None:
    """Turn the printed provenance lines (`provenance.provenance_line`) in cell outputs into small notes:
    the legend of the figure the output follows when there is one, else paragraphs under the figures.
    Other lines printed by the same cell stay where they were."""
    for block in list(doctree.findall(nodes.literal_block)):
        if "output" not in block["classes"]:
            continue
        other, found = split_output(block.astext())
        if not found:
            continue
        notes = []
        for fields, command in found:
            note = nodes.paragraph(classes=["figure-provenance"])
            note += nodes.strong("", "Provenance: ")
            note += nodes.Text(SEP.join(fields) + ". Regenerate: ")
            note += nodes.literal("", command)
            notes.append(note)
        parent = block.parent
        index = parent.index(block)
        previous = parent[index - 1] if index > 0 else None
        if other:
            kept = block.deepcopy()
            kept.children = [nodes.Text(other)]
            kept.rawsource = other
            parent.insert(index, kept)
            index += 1
        parent.remove(block)
        if isinstance(previous, nodes.figure) and not any(isinstance(c, nodes.legend) for c in previous.children):
            previous += nodes.legend("", *notes)
        else:
            for offset, note in enumerate(notes):
                parent.insert(index + offset, note)


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    provenance_notes(doctree)


def write_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """After a successful HTML build, write each executed chapter as a downloadable notebook: the
    chapter as myst-nb read it, with the outputs of its execution merged in from jupyter-cache."""
    if exception is not None or app.builder.format != "html" or not app.config.companion_notebooks:
        return
    if app.env.mystnb_config.execution_mode != "cache":  # the outputs are in jupyter-cache only in this mode
        logger.info("chapter notebooks are written only when execute_notebooks is 'cache'")
        return
    from jupyter_cache import get_cache

    cache = get_cache(app.env.mystnb_config.execution_cache_path)
    commit = git_commit(length=40)  # the install cell pins the library to the commit the book was built from
    commit = None if commit == "unknown" or commit.endswith("-dirty") else commit
    read = Path(app.outdir).parent / "jupyter_execute" / "book"
    for slug in chapters.available():
        try:
            _, executed = cache.merge_match_into_notebook(nbformat.read(read / f"{slug}.ipynb", as_version=4))
        except (OSError, KeyError):
            logger.warning(f"no executed notebook for {slug}: its download link is broken")
            continue
        notebooks.downloadable(executed, Path(app.outdir) / "notebooks" / f"{slug}.ipynb",
                               app.config.companion_repository, commit)


def unique_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Drop repeated inline scripts: Jupyter Book adds sphinx-thebe's and sphinx-togglebutton's set-up
    twice (once with no file name, once with an empty one), and the second `const THEBE_JS_URL` is a
    JavaScript error on every page."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or None, tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    if "script_files" in context:
        context["script_files"] = unique


def on_env_get_outdated(app: Sphinx, env: Any, added: set, changed: set, removed: set) -> list[str]:
    """Re-read the pages with run tables whenever anything else is rebuilt (a chapter may have re-run), and
    the chapters whose set of committed envelopes changed (a changed envelope is a noted dependency)."""
    envelopes = getattr(env, "companion_envelopes", {})
    new = [doc for doc, files in envelopes.items()
           if doc in env.found_docs and tuple(_envelope_files(doc.removeprefix("book/"))) != files]
    if not (added or changed or removed or new):
        return []
    return [page for page in DYNAMIC_PAGES if page in env.found_docs] + new


def on_env_before_read_docs(app: Sphinx, env: Any, docnames: list[str]) -> None:
    if not hasattr(env, "companion_envelopes"):
        env.companion_envelopes = {}


def on_env_purge_doc(app: Sphinx, env: Any, docname: str) -> None:
    getattr(env, "companion_envelopes", {}).pop(docname, None)


def on_env_merge_info(app: Sphinx, env: Any, docnames: set, other: Any) -> None:
    env.companion_envelopes.update({d: other.companion_envelopes[d] for d in docnames
                                    if d in getattr(other, "companion_envelopes", {})})


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(claims_table_node)
    app.add_node(full_runs_node)
    app.add_directive("claims-table", ClaimsTable)
    app.add_directive("full-runs-table", FullRunsTable)
    app.add_directive("bench-table", BenchTable)
    app.add_directive("comparison-table", ComparisonTable)
    app.add_node(bench_node)
    app.add_directive("throughput-table", ThroughputTable)
    app.add_node(throughput_node)
    app.add_directive("claims-envelope", ClaimsEnvelope)
    app.add_node(envelope_node)
    app.add_directive("syllabus-chapters", SyllabusChapters)
    app.add_directive("syllabus-courses", SyllabusCourses)
    app.add_config_value("companion_repository", "", "html", [str])
    app.add_config_value("companion_pages_branch", "gh-pages", "html", [str])
    app.add_config_value("companion_notebooks", True, "html", [bool])
    app.connect("doctree-read", on_doctree_read)
    app.connect("build-finished", write_notebooks)
    app.connect("html-page-context", unique_scripts)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("env-before-read-docs", on_env_before_read_docs)
    app.connect("env-purge-doc", on_env_purge_doc)
    app.connect("env-merge-info", on_env_merge_info)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
