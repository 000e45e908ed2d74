"""What the tables read: result files, recorded claims, committed envelopes; and the table node they build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from companion.core.claims import fmt
from companion.core.envelope import envelope_path, seed_spec
from companion.core.paths import committed_results_root, results_root, run_dir

logger = logging.getLogger(__name__)


def envelope_files(slug: str) -> dict[str, Path]:
    """The committed envelope files of a chapter, by profile."""
    paths = {profile: envelope_path(slug, profile, committed_results_root()) for profile in ("quick", "full")}
    return {profile: path for profile, path in paths.items() if path.exists()}


def seed_range(seeds: list[int]) -> str:
    """Seeds for reading: [0, 1, 2, 5] is '0–2, 5'."""
    return seed_spec(seeds).replace("-", "–").replace(",", ", ")


def devices(envelope: dict) -> str:
    """The devices the envelope's runs ran on."""
    return ", ".join(sorted({r.get("device") or "?" for r in envelope.get("runs", {}).values()}))


def seeds_held(claim: dict | None) -> str:
    """A claim's count of seeds where it held, "3 of 5" ("–" when the envelope does not have it)."""
    if claim is None:
        return "–"
    return f"{claim['holds']} of {claim['n']}"


def read_json(path: Path) -> Any:
    """A result file's content, None when absent; a corrupt file is a build warning (an error under -W)."""
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        logger.warning(f"result file {path} is not valid JSON ({err}); regenerate it")
        return None


def recorded_claims(chapter: str, profile: str) -> dict[str, dict]:
    root = results_root() if profile == "quick" else committed_results_root()
    records = read_json(run_dir(chapter, profile, 0, root) / "claims.json") or []
    return {r["id"]: r for r in records}


def table(header: list[str], rows: list[list[nodes.Node | str]], widths: list[int]) -> nodes.table:
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


def outcome(record: dict | None) -> str:
    if record is None:
        return "pending"
    return f"{'PASS' if record['passed'] else 'FAIL'} ({fmt(record['measured'])})"


def claims_link(app: Sphinx, docname: str, slug: str, text: str) -> nodes.Node:
    """A link to a chapter's claims section (label `<slug>-claims`), or plain text if the chapter is absent."""
    target = f"book/{slug}"
    if target not in app.env.found_docs:
        return nodes.Text(text)
    uri = app.builder.get_relative_uri(docname, target) + f"#{slug}-claims"
    return nodes.reference("", text, refuri=uri)
