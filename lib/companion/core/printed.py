"""What a chapter prints, compared across runs and machines: exact text, and numbers from training in bands.

A chapter's printed outputs are of two kinds.

- **Exact.** Text, shapes, counts from exact arithmetic, data fingerprints, and identities printed above
  rounding noise. Every run on every machine prints them to the letter, and nbval compares them so.
- **From training** (code cells tagged `from-training`). Numbers that floating-point rounding moves from
  one processor, or one kernel path of torch or BLAS, to another: training amplifies a difference in the
  last bit of a sum until the third printed digit changes. Such a cell's text is compared with its numbers
  taken out (its *skeleton*), and each number must lie in the **band** that its value spans over the seeds
  of the chapter's envelope, widened on each side by twice the band's width, and never by less than one
  unit of its last printed digit. A verdict (PASS or FAIL) that every seed printed alike must be printed so
  again; one that differed between seeds may come out either way. A name with digits (`cnn3 s1`, where
  `s1` can be the seed a network was trained from) must be the reference run's.

Rounding perturbs a run less than a new seed does (a new seed redraws the initialisation, the data order
and the data), so a run on another machine lands inside that band, while a real change to the code
(a doubled learning rate, a formula off by a factor) moves numbers out of it. `bands` builds the bands
from a sweep's executed notebooks (`companion.core.envelope` stores them); `compare_cell` checks one cell.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TAG = "from-training"
# nbval's own tags for a cell whose output it does not compare (a generated story, a ranking of names)
UNCOMPARED = ("nbval-ignore-output", "nbval-skip")

# Regexes applied to every output before it is compared (nbval uses the same list, see `sanitize_config`):
# wall times, dates, commits and paths differ between runs and machines.
SANITIZE: tuple[tuple[str, str], ...] = (
    (r"\d+(\.\d+)? (s|min)\b", "TIME"),
    (r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?", "DATE"),
    (r"commit ([0-9a-f]{7,40}(-dirty)?|unknown)", "commit COMMIT"),
    (r"(/[\w.-]+)+/(results|_build|tests)/", r"PATH/\2/"),
    (r"\d+ cores", "N cores"),
)

# Output kinds that carry no printed text (figures are checked by the build and the browser tests).
SKIPPED_MIME = ("image/png", "image/jpeg", "image/svg+xml", "application/vnd.jupyter.widget-view+json")

# A number standing alone: not part of a name (`NC1`, `conv2`, `sigma_1`), with an optional sign and exponent.
_NUMBER = r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w])"
_VERDICT = r"\b(?:PASS|FAIL)\b"
# A name with digits in it (`cnn3`, `s1`, `NC1`): the run's seed can be part of it, as in a network trained
# from seed `s1`, so it is compared with the reference run's name, which had the same seed.
_LABEL = r"\b(?=\w*\d)(?=\w*[A-Za-z])\w+\b"
_TOKEN = re.compile(f"(?P<number>{_NUMBER})|(?P<verdict>{_VERDICT})|(?P<label>{_LABEL})")
MARKS = {"number": "#", "verdict": "PASS|FAIL", "label": "@"}


def sanitize_config() -> str:
    """`SANITIZE` in the format of nbval's `--nbval-sanitize-with` file."""
    return "".join(f"[rule-{i}]\nregex: {regex}\nreplace: {replace}\n\n" for i, (regex, replace) in enumerate(SANITIZE))


def sanitize(text: str) -> str:
    for regex, replace in SANITIZE:
        text = re.sub(regex, replace, text)
    return text


def cell_text(outputs: Sequence[Mapping[str, Any]]) -> str:
    """A code cell's outputs as one text, in order: consecutive stream outputs of one name merged, every other
    output by its MIME types (figures left out), each part headed by its kind and sanitized."""
    parts: list[tuple[str, str]] = []
    for out in outputs:
        if out.get("output_type") == "stream":
            text = _join(out.get("text", ""))
            key = f"stream:{out.get('name', '')}"
            if parts and parts[-1][0] == key:
                parts[-1] = (key, parts[-1][1] + text)
            else:
                parts.append((key, text))
        elif out.get("output_type") == "error":
            parts.append(("error", f"{out.get('ename')}: {out.get('evalue')}"))
        else:
            for mime, value in sorted(out.get("data", {}).items()):
                if mime not in SKIPPED_MIME:
                    parts.append((mime, _join(value) if not isinstance(value, Mapping) else repr(value)))
    return "\n".join(f"[{key}]\n{sanitize(text)}" for key, text in parts)


def _join(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


@dataclass(frozen=True)
class Token:
    """A number, a verdict or a name with digits in printed text, as printed."""

    kind: str  # "number", "verdict" or "label"
    text: str

    @property
    def value(self) -> float:
        return float(self.text)


def split(text: str) -> tuple[str, list[Token]]:
    """The skeleton of `text` (numbers, verdicts and names with digits replaced by marks, runs of spaces made
    one and runs of dashes one rule, so that a table's column widths do not count) and its tokens in order."""
    tokens = [Token(m.lastgroup or "", m.group()) for m in _TOKEN.finditer(text)]
    skeleton = _TOKEN.sub(lambda m: MARKS[m.lastgroup or "number"], text)
    # a table's rule under its header is as wide as its widest number: any run of dashes is one rule
    skeleton = re.sub(r"-{3,}", "---", skeleton)
    skeleton = "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in skeleton.splitlines())
    return skeleton, tokens


def last_digit_unit(number: str) -> float:
    """One unit of the last printed digit: 0.01 for '0.12', 1 for '126', 1e+02 for '3.35e+04'."""
    mantissa, _, exponent = number.lower().lstrip("+-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def bands(texts: Mapping[int, str]) -> dict[str, Any]:
    """The band of every token of one cell over seeds, from each seed's `cell_text`.

    All seeds must print the same skeleton; otherwise the cell's text itself depends on the seed, and it
    is returned with `skeleton` None and the seeds' skeletons, for the chapter to print it another way.
    """
    split_texts = {seed: split(text) for seed, text in sorted(texts.items())}
    skeletons = {seed: s for seed, (s, _) in split_texts.items()}
    if len(set(skeletons.values())) != 1:
        return {"skeleton": None, "seeds": sorted(texts), "skeletons": {str(k): v for k, v in skeletons.items()}}
    token_lists = [tokens for _, tokens in split_texts.values()]
    out = []
    for column in zip(*token_lists, strict=True):
        if column[0].kind == "verdict":
            out.append({"kind": "verdict", "values": sorted({t.text for t in column})})
            continue
        if column[0].kind == "label":
            out.append({"kind": "label"})
            continue
        values = [t.value for t in column]
        finite = [v for v in values if math.isfinite(v)]
        out.append({"kind": "number", "lo": min(finite) if finite else None, "hi": max(finite) if finite else None,
                    "unit": min(last_digit_unit(t.text) for t in column), "nonfinite": len(finite) < len(values)})
    return {"skeleton": next(iter(skeletons.values())), "seeds": sorted(texts), "tokens": out}


def allowed(band: Mapping[str, Any]) -> tuple[float, float]:
    """The interval a number may take: the seeds' range widened on each side by twice its width, or by one
    unit of the last printed digit where the seeds agree."""
    lo, hi = band["lo"], band["hi"]
    margin = max(2 * (hi - lo), band["unit"])
    return lo - margin, hi + margin


def check_tokens(tokens: Sequence[Token], band_tokens: Sequence[Mapping[str, Any]],
                 reference: Sequence[Token]) -> list[str]:
    """Each token against its band (a name against the reference run's): the problems, one line each (empty
    when every token is inside)."""
    problems = []
    for i, (token, band, ref) in enumerate(zip(tokens, band_tokens, reference, strict=True)):
        if band["kind"] == "label":
            if token.text != ref.text:
                problems.append(f"token {i}: {token.text}, where the reference printed {ref.text}")
            continue
        if band["kind"] == "verdict":
            if token.text not in band["values"]:
                problems.append(f"token {i}: {token.text}, but every seed printed {band['values'][0]}")
            continue
        value = token.value
        if band["lo"] is None or not math.isfinite(value):
            if math.isfinite(value) or not band.get("nonfinite"):
                problems.append(f"token {i}: {token.text}, where the seeds printed {band}")
            continue
        lo, hi = allowed(band)
        if not lo <= value <= hi:
            problems.append(f"token {i}: {token.text} outside [{lo:.4g}, {hi:.4g}] (seeds' range "
                            f"{band['lo']:.4g} to {band['hi']:.4g})")
    return problems


def compare_cell(test: Sequence[Mapping[str, Any]], reference: Sequence[Mapping[str, Any]],
                 band: Mapping[str, Any] | None) -> list[str]:
    """Compare a `from-training` cell's new outputs with its reference outputs and its band over seeds:
    the problems found, as lines of a report (empty when it passes)."""
    if band is None:
        return ["no band over seeds for this cell: rerun the chapter's seed sweep "
                "(make sweep CHAPTERS=<chapter> RERUN=1)"]
    if band.get("skeleton") is None:
        return ["the seeds printed this cell with different text, so its numbers cannot be compared; "
                "make its text independent of the seed"]
    ref_skeleton, ref_tokens = split(cell_text(reference))
    if ref_skeleton != band["skeleton"]:
        return ["the band over seeds is stale (the reference prints other text than the sweep did): "
                "rerun the chapter's seed sweep (make sweep CHAPTERS=<chapter> RERUN=1)",
                *_diff(band["skeleton"], ref_skeleton, "sweep", "reference")]
    text = cell_text(test)
    skeleton, tokens = split(text)
    if skeleton != ref_skeleton:
        return ["the text differs (numbers, verdicts and names with digits set aside as #, PASS|FAIL and @):",
                *_diff(ref_skeleton, skeleton, "reference", "this run")]
    problems = check_tokens(tokens, band["tokens"], ref_tokens)
    if problems:
        return [f"{len(problems)} number(s) or verdict(s) outside the band over seeds "
                f"{band['seeds']}:", *problems, "this run printed:", text]
    return []


def _diff(a: str, b: str, name_a: str, name_b: str) -> list[str]:
    import difflib

    return list(difflib.unified_diff(a.splitlines(), b.splitlines(), name_a, name_b, lineterm="", n=1))


def code_cells(notebook: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A notebook's code cells, numbered as nbval numbers them (0, 1, ... over code cells only)."""
    return [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]


def comparison(cell: Mapping[str, Any]) -> str:
    """How `make test` compares a reference cell: "none" (nbval's own tags say so, whatever else it is
    tagged), "bands" (tagged `from-training`) or "exact"."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    return "none" if tags & set(UNCOMPARED) else "bands" if TAG in tags else "exact"


def code_digest(notebook: Mapping[str, Any]) -> str:
    """A digest of a notebook's code (papermill's injected parameters left out): bands hold for this code only."""
    import hashlib

    sources = ["".join(c.get("source", "")) for c in code_cells(notebook)
               if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    return hashlib.sha256("\n\0".join(sources).encode()).hexdigest()[:16]


def stale(record: Mapping[str, Any] | None, reference: Mapping[str, Any]) -> str | None:
    """Why a chapter's stored bands (`envelope.json`'s `printed`) cannot judge its reference notebook, or None."""
    if not record:
        return "the chapter has no bands over seeds: run its seed sweep (make sweep CHAPTERS=<chapter> RERUN=1)"
    if record.get("code") != code_digest(reference):
        return ("the bands over seeds were computed from other code than the reference notebook's: rerun the "
                "chapter's seed sweep (make sweep CHAPTERS=<chapter> RERUN=1)")
    return None


def notebook_bands(notebooks: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """For each `from-training` code cell (by its index among code cells), its bands over the seeds'
    executed notebooks (`{seed: notebook}`), which must have the same code cells."""
    seeds = sorted(notebooks)
    cells = {seed: code_cells(notebooks[seed]) for seed in seeds}
    first = cells[seeds[0]]
    for seed in seeds[1:]:  # the same code but for papermill's injected parameters (the seed among them)
        if code_digest(notebooks[seed]) != code_digest(notebooks[seeds[0]]) or len(cells[seed]) != len(first):
            raise ValueError(f"seed {seed}'s notebook has other code than seed {seeds[0]}'s: rerun the sweep")
    return {str(i): bands({seed: cell_text(cells[seed][i].get("outputs", [])) for seed in seeds})
            for i, cell in enumerate(first) if comparison(cell) == "bands"}


def record(notebooks: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """What an envelope stores of a sweep's printed numbers: the seeds, the code's digest and the bands."""
    cells = notebook_bands(notebooks)  # raises unless every seed ran the same code
    return {"seeds": sorted(notebooks), "code": code_digest(notebooks[min(notebooks)]), "cells": cells}


def compare_notebooks(test: Mapping[str, Any], reference: Mapping[str, Any],
                      printed: Mapping[str, Any] | None) -> dict[int, list[str]]:
    """Compare an executed notebook with its reference as `make test` does: exact text for untagged cells,
    skeleton and bands (`printed`, an envelope's record) for `from-training` ones. Returns the problems by
    code-cell index (empty: it passes)."""
    why = stale(printed, reference)
    printed_bands = {} if why else printed["cells"]
    test_cells, ref_cells = code_cells(test), code_cells(reference)
    if len(test_cells) != len(ref_cells):
        return {-1: [f"{len(test_cells)} code cells, the reference has {len(ref_cells)}"]}
    problems: dict[int, list[str]] = {}
    for i, (new, ref) in enumerate(zip(test_cells, ref_cells, strict=True)):
        how = comparison(ref)
        if how == "none":
            continue
        if how == "bands":
            found = [why] if why else compare_cell(new.get("outputs", []), ref.get("outputs", []),
                                                   printed_bands.get(str(i)))
        else:
            a, b = cell_text(ref.get("outputs", [])), cell_text(new.get("outputs", []))
            found = [] if a == b else ["the text differs:", *_diff(a, b, "reference", "this run")]
        if found:
            problems[i] = found
    return problems
