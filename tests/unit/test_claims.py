"""Claim declarations, checks and the printed table."""

import json
import math

import pytest

from companion.core.claims import Claim, check, check_all, fmt, records, table


def claim(op="<=", threshold=1.0):
    return Claim("c", "a statement", "Sec. 1", "a quantity", op, threshold)


@pytest.mark.parametrize("op,measured,passed", [
    ("<=", 0.5, True), ("<=", 1.0, True), ("<=", 1.5, False),
    (">=", 1.5, True), (">=", 0.5, False),
    ("==", 1.0, True), ("==", 0.999, False),
])
def test_check_compares_measured_value_with_threshold(op, measured, passed):
    assert check(claim(op), measured).passed is passed


def test_nan_measurement_never_passes():
    assert not check(claim("<="), math.nan).passed
    assert not check(claim(">="), math.nan).passed


def test_unknown_comparison_is_rejected():
    with pytest.raises(ValueError, match="op must be"):
        claim(op="<")


def test_check_all_names_the_claims_without_a_measurement():
    with pytest.raises(KeyError, match="'c'"):
        check_all([claim()], {"other": 1.0})


def test_fmt_rounds_to_three_significant_digits_and_hides_rounding_noise():
    assert fmt(0.123456) == "0.123"
    assert fmt(20.0) == "20"
    assert fmt(4.03e7) == "4.03e+07"
    assert fmt(4.4e-16) == "<1e-12"
    assert fmt(0.0) == "0"


def test_table_lists_each_claim_with_its_verdict():
    text = table([check(claim("<=", 0.7), 0.443), check(claim(">=", 0.9), 0.5)])
    lines = text.splitlines()
    assert lines[0].split() == ["claim", "measured", "threshold", "outcome"]
    assert lines[2].split() == ["c", "0.443", "<=", "0.7", "PASS"]
    assert lines[3].split() == ["c", "0.5", ">=", "0.9", "FAIL"]


def test_records_are_json_ready():
    out = json.loads(json.dumps(records([check(claim(), 0.25)])))
    assert out == [{"id": "c", "statement": "a statement", "where": "Sec. 1", "quantity": "a quantity",
                    "op": "<=", "threshold": 1.0, "kind": None, "measured": 0.25, "passed": True}]


def test_a_claim_has_one_of_two_kinds_and_the_table_shows_them_once_any_has_one():
    with pytest.raises(ValueError, match="kind must be 'identity' or 'empirical'"):
        Claim("c", "s", "w", "q", "<=", 1.0, kind="measured")
    plain = table([check(claim(), 0.25)])
    assert "kind" not in plain.splitlines()[0]  # chapters that give no kind print as before
    kinds = table([check(Claim("a", "s", "w", "q", "<=", 1.0, kind="identity"), 0.5),
                   check(Claim("b", "s", "w", "q", ">=", 1.0, kind="empirical"), 0.5)])
    assert kinds.splitlines()[0].split() == ["claim", "kind", "measured", "threshold", "outcome"]
    assert kinds.splitlines()[2].split()[:2] == ["a", "identity"]
    assert kinds.splitlines()[3].split()[1] == "empirical" and kinds.splitlines()[3].endswith("FAIL")
