"""The key curves of every chapter (`companion.runs.curves`), read from the quick profile's seed-0 results."""

import json
import math

import numpy as np
import pytest

from companion.core.chapters import available
from companion.core.envelope import Curve, aggregate_curves
from companion.core.paths import committed_results_root, results_root, run_dir
from companion.runs.curves import CURVES

CHAPTERS = available()


def test_there_are_ten_chapters():
    assert len(CHAPTERS) == 10


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_curves(chapter):
    assert callable(CURVES.get(chapter))


def seed0_results(chapter: str) -> dict:
    """The quick profile's seed-0 results of `chapter`: this session's (results_root, which the tests point at a
    temporary folder) first, then the checkout's own; skip the test when there are none."""
    for root in dict.fromkeys([results_root(), committed_results_root()]):
        path = run_dir(chapter, "quick", 0, root) / "results.json"
        if path.exists():
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                pytest.skip(f"{path} is being rewritten")
    pytest.skip(f"no quick seed-0 results for {chapter}")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_curves_of_seed0_are_well_formed(chapter):
    curves = CURVES[chapter](seed0_results(chapter))
    assert curves and all(isinstance(c, Curve) for c in curves)
    for c in curves:
        assert len(c.x) == len(c.y) >= 2, (c.panel, c.label)
        values = [*c.x, *c.y]
        assert all(isinstance(v, float) and math.isfinite(v) for v in values), (c.panel, c.label)
        assert c.panel and c.label and c.xlabel and c.ylabel, (c.panel, c.label)
    pairs = [(c.panel, c.label) for c in curves]
    assert len(pairs) == len(set(pairs))
    assert len({c.panel for c in curves}) <= 3


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_two_identical_seeds_aggregate_to_the_curve_itself(chapter):
    curves = CURVES[chapter](seed0_results(chapter))
    aggregated = aggregate_curves({0: curves, 1: curves})
    assert [(a["panel"], a["label"]) for a in aggregated] == [(c.panel, c.label) for c in curves]
    for a, c in zip(aggregated, curves, strict=True):
        assert a["n"] == 2 and np.allclose(a["x"], c.x)
        for stat in ("mean", "min", "max"):
            assert np.allclose(a[stat], c.y), (c.panel, c.label, stat)
        assert np.allclose(a["sd"], 0)
