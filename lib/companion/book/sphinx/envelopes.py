"""A chapter's reproducibility envelope: its key curves as bands over seeds and each claim's count of seeds."""

from __future__ import annotations

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from companion.book.sphinx.records import (
    devices,
    envelope_files,
    outcome,
    read_json,
    recorded_claims,
    seed_range,
    seeds_held,
    table,
)
from companion.core.claims import fmt
from companion.core.envelope import FIGURE, seed_spec
from companion.core.paths import committed_results_root
from companion.core.provenance import SEP


class envelope_node(nodes.General, nodes.Element):
    """Placeholder replaced by a chapter's claims over seeds (its committed envelopes)."""


class ClaimsEnvelope(SphinxDirective):
    """A chapter's reproducibility envelope: its key curves as bands over seeds (a figure, placed when the page
    is read so that Sphinx copies the image) and, when the page is written, each claim's count of seeds."""

    def run(self) -> list[nodes.Node]:
        slug = self.env.docname.removeprefix("book/")
        out: list[nodes.Node] = []
        for path in envelope_files(slug).values():
            self.env.note_dependency(str(path))
            envelope = read_json(path)
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
        self.env.companion_envelopes[self.env.docname] = tuple(envelope_files(slug))
        out.append(envelope_node(slug=slug))
        return out


def envelope_provenance(envelope: dict, png: str) -> nodes.paragraph:
    """The band figure's provenance note, like every figure's: profile, seeds, devices, commits, date and file,
    and the command that draws it again (re-aggregating the seeds that exist, running the missing ones)."""
    fields = [f"{envelope['profile']} profile", f"seeds {seed_range(envelope['seeds'])}", devices(envelope),
              f"commit {', '.join(envelope['commits'])}", f"aggregated {envelope['date'][:10]}", png]
    device = "" if envelope["profile"] == "quick" else " DEVICE=cuda"
    command = (f"make sweep SEEDS={seed_spec(envelope['seeds'])} PROFILE={envelope['profile']}{device} "
               f"CHAPTERS={envelope['chapter']}")
    note = nodes.paragraph(classes=["figure-provenance"])
    note += nodes.strong("", "Provenance: ")
    note += nodes.Text(SEP.join(fields) + ". Regenerate: ")
    note += nodes.literal("", command)
    return note


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
        f"{envelope['profile'].capitalize()} profile, seeds {seed_range(envelope['seeds'])} "
        f"({len(envelope['seeds'])} runs) on {devices(envelope)}, at commit {', '.join(envelope['commits'])}, "
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
    envelopes = {p: read_json(path) for p, path in envelope_files(slug).items()}
    envelopes = {p: e for p, e in envelopes.items() if e}
    if not envelopes:
        para = nodes.paragraph(text="No seed sweep is committed for this chapter yet: ")
        para += nodes.literal("", f"python -m companion sweep --seeds 0-4 --jobs 2 --chapters {slug}")
        para += nodes.Text(" runs one and writes its envelope.")
        return [para]
    single = recorded_claims(slug, "quick")
    by_id = {p: {c["id"]: c for c in e["claims"]} for p, e in envelopes.items()}
    rows = []
    for cid in dict.fromkeys([*single, *(c for claims in by_id.values() for c in claims)]):
        rec = next((by_id[p][cid] for p in by_id if cid in by_id[p]), None)
        spread = "–"
        if rec is not None and rec["mean"] is not None:
            sd = "–" if rec["sd"] is None else fmt(rec["sd"])  # one seed has no spread
            spread = f"{fmt(rec['mean'])} ± {sd} [{fmt(rec['min'])}, {fmt(rec['max'])}]"
        kind = (single.get(cid) or rec or {}).get("kind") or "–"
        rows.append([cid, kind, outcome(single.get(cid)), seeds_held(by_id.get("quick", {}).get(cid)), spread,
                     seeds_held(by_id.get("full", {}).get(cid))])
    why = nodes.paragraph(text=(
        "One run shows that a claim can hold; a sweep over seeds shows how often it does. Each seed reruns the "
        "whole chapter with what it draws from its seed (data samples, initial weights, minibatch order) drawn "
        "afresh; draws the chapter fixes on purpose stay fixed. The thresholds are the chapter's own. Where "
        "there is a figure above, it shows how far the key curves move from seed to seed."))
    intro = [envelope_intro(e) for e in envelopes.values()]
    summaries = [envelope_summary(e) for e in envelopes.values()]
    header = ["claim", "kind", "this build (seed 0)", "holds, quick seeds", "measured: mean ± sd [range]",
              "holds, full seeds"]
    return [why, *intro, *summaries, table(header, rows, [17, 9, 13, 10, 24, 10])]
