"""Claim checks: a paper's claim, the quantity a run measures for it, and the threshold it must meet.

A chapter declares its claims, computes each measured quantity from its own run, and calls
`report`, which prints a table, glues every outcome into the prose and writes `claims.json`
for the book's Claims page. Nothing here knows what the answer should be.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from companion.core.results import write_claims
from companion.core.runtime import Run

Comparison = Literal["<=", ">=", "=="]
# identity: an exact mathematical or code fact that only a bug can break; empirical: a measured effect that
# could have come out either way on this data.
Kind = Literal["identity", "empirical"]
KINDS = ("identity", "empirical")


@dataclass(frozen=True)
class Claim:
    """One checkable claim: `measured <op> threshold` must hold for it to pass. Its `kind` says whether only
    a bug could break it (`identity`) or the data could (`empirical`); None: not classified yet."""

    id: str
    statement: str
    where: str
    quantity: str
    op: Comparison
    threshold: float
    kind: Kind | None = None

    def __post_init__(self) -> None:
        if self.op not in ("<=", ">=", "=="):
            raise ValueError(f"claim {self.id}: op must be '<=', '>=' or '==', got {self.op!r}")
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind must be 'identity' or 'empirical', got {self.kind!r}")


@dataclass(frozen=True)
class Outcome:
    """A claim with the value a run measured for it."""

    claim: Claim
    measured: float

    @property
    def passed(self) -> bool:
        m, t = self.measured, self.claim.threshold
        if math.isnan(m):
            return False
        return {"<=": m <= t, ">=": m >= t, "==": m == t}[self.claim.op]

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


def claims_source(source: Path) -> str:
    """The code of a chapter's one cell tagged `claims`, where it declares its claims."""
    import jupytext

    cells = [c for c in jupytext.read(source, fmt="myst").cells if "claims" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{source} must have exactly one code cell tagged 'claims', found {len(cells)}")
    return cells[0].source


def declared(source: Path, **names: Any) -> list[Claim]:
    """The claims a chapter declares: run its code cell tagged `claims` with `names` defined, return `claims`.

    Tests use this to check the chapter's own thresholds, so a test and its chapter cannot drift apart.
    """
    namespace: dict[str, Any] = {"Claim": Claim, **names}
    exec(claims_source(source), namespace)
    return namespace["claims"]


def check(claim: Claim, measured: float) -> Outcome:
    """Compare one measured value with its claim."""
    return Outcome(claim, float(measured))


def check_all(claims: list[Claim], measured: dict[str, float]) -> list[Outcome]:
    """Check every claim against `measured[claim.id]`; a claim without a measurement is an error."""
    missing = [c.id for c in claims if c.id not in measured]
    if missing:
        raise KeyError(f"no measured value for claim(s) {missing}; measured: {sorted(measured)}")
    return [check(c, measured[c.id]) for c in claims]


TINY = 1e-12


def fmt(x: float) -> str:
    """Round a number to 3 significant digits for printing, so every CPU run prints the same text.

    Magnitudes below 1e-12 are float64 rounding noise whose digits differ between CPUs: they print
    as '<1e-12' (or '-<1e-12').
    """
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if 0 < abs(x) < TINY:
        return ("-" if x < 0 else "") + "<1e-12"
    if float(x).is_integer() and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.3g}"


def table(outcomes: list[Outcome]) -> str:
    """A plain-text table: claim, its kind (once any claim has one), measured, threshold, outcome."""
    kinds = any(o.claim.kind for o in outcomes)
    rows = [("claim", *(("kind",) if kinds else ()), "measured", "threshold", "outcome")]
    rows += [(o.claim.id, *((o.claim.kind or "-",) if kinds else ()), fmt(o.measured),
              f"{o.claim.op} {fmt(o.claim.threshold)}", o.verdict) for o in outcomes]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def records(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Outcomes as plain dicts, the form `claims.json` stores."""
    return [{**asdict(o.claim), "measured": o.measured, "passed": o.passed} for o in outcomes]


def report(run: Run, outcomes: list[Outcome]) -> None:
    """Print the claims table, glue each outcome for the prose and record them for the Claims page.

    Glued names: `<id>` (PASS/FAIL in bold) and `<id>-measured` (the rounded value).
    """
    from IPython.display import Markdown
    from myst_nb import glue

    print(table(outcomes))
    passed = sum(o.passed for o in outcomes)
    print(f"{passed} of {len(outcomes)} claims pass at the {run.profile} profile (seed {run.seed})")
    for o in outcomes:
        glue(o.claim.id, Markdown(f"**{o.verdict}**"), display=False)
        glue(f"{o.claim.id}-measured", Markdown(fmt(o.measured)), display=False)
    glue("claims-passed", Markdown(f"{passed} of {len(outcomes)}"), display=False)
    write_claims(run, records(outcomes))
