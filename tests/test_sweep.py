"""Seed sweeps: seed lists, real local jobs (parallel, retried, resumed), submitit's executor, aggregation."""

from __future__ import annotations

import json

import pytest

from companion import envelope, reproduce, sweep
from companion.envelope import Curve
from companion.runtime import ConfigError
from conftest import FRONT_MATTER

# A chapter small enough to run many times: one claim ("the seed is at most 1") and one curve. Seed 1 fails
# on its first attempt when SWEEP_FLAKY names a file that does not exist yet; seed 2 always fails when
# SWEEP_BROKEN is set.
TINY = FRONT_MATTER + """
# A tiny chapter

```{code-cell} ipython3
:tags: [parameters]

profile = "quick"
seed = 0
device = "auto"
```

```{code-cell} ipython3
import os
from pathlib import Path

from companion.claims import Claim, check_all, report
from companion.results import save_results
from companion.runtime import start_run

run = start_run("sgd-vs-gd", profile, seed, device)
flaky = os.environ.get("SWEEP_FLAKY")
if seed == 1 and flaky and not Path(flaky).exists():
    Path(flaky).write_text("failed once")
    raise RuntimeError("a flaky first attempt")
if seed == 2 and os.environ.get("SWEEP_BROKEN"):
    raise RuntimeError("this seed always fails")
save_results(run, {"x": [0, 1, 2], "y": [seed, 2 * seed, 3 * seed]}, {})
claims = [Claim("small-seed", "the seed is small", "nowhere", "seed", "<=", 1)]
report(run, check_all(claims, {"small-seed": seed}))
```
"""


def tiny_curves(results: dict) -> list[Curve]:
    return [Curve("panel", "y", results["x"], results["y"], "x", "y")]


@pytest.fixture
def tiny_book(tmp_path, monkeypatch):
    """A book whose only chapter is TINY (under a real chapter's name), results in a temporary folder."""
    book = tmp_path / "book"
    book.mkdir()
    (book / "sgd-vs-gd.md").write_text(TINY)
    monkeypatch.setenv("COMPANION_BOOK_DIR", str(book))
    monkeypatch.setenv("COMPANION_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setitem(sweep.CURVES, "sgd-vs-gd", tiny_curves)
    return tmp_path


@pytest.mark.parametrize(("spec", "seeds"), [("0-4", [0, 1, 2, 3, 4]), ("3", [3]), ("0,7,2", [0, 2, 7]),
                                              ("0-2,1-3", [0, 1, 2, 3])])
def test_seed_specs_are_read_as_sorted_sets(spec, seeds):
    assert sweep.parse_seeds(spec) == seeds


@pytest.mark.parametrize("spec", ["", "a", "3-1", "-2", "0-", "1.5", "0-3-5"])
def test_bad_seed_specs_are_config_errors(spec):
    with pytest.raises(ConfigError):
        sweep.parse_seeds(spec)


def test_a_sweep_runs_local_jobs_retries_a_flaky_one_and_aggregates(tiny_book, monkeypatch, capsys):
    monkeypatch.setenv("SWEEP_FLAKY", str(tiny_book / "flaky-marker"))
    status = reproduce.main(["--chapters", "sgd-vs-gd", "--seeds", "0-3", "--jobs", "2", "--device", "cpu",
                             "--out", str(tiny_book / "work")])
    out = capsys.readouterr().out
    assert status == 0
    assert "sgd-vs-gd seed 1 (attempt 1" in out and "FAILED" in out  # the first attempt failed...
    assert "sgd-vs-gd seed 1 (attempt 2" in out  # ...and was retried
    env = envelope.load("sgd-vs-gd", "quick")
    assert env["seeds"] == [0, 1, 2, 3] and env["failed"] == []
    (claim,) = env["claims"]
    assert claim["holds"] == 2 and claim["n"] == 4 and claim["passed"] == [True, True, False, False]
    assert claim["mean"] == pytest.approx(1.5) and claim["min"] == 0 and claim["max"] == 3
    (curve,) = env["curves"]
    assert curve["mean"] == pytest.approx([1.5, 3, 4.5]) and curve["max"] == [3, 6, 9]
    assert env["sweep"]["retried"] == 1 and env["sweep"]["jobs"] == 2
    assert (tiny_book / "results" / "quick" / "sgd-vs-gd" / envelope.FIGURE).stat().st_size > 1000
    assert all(run["commit"] for run in env["runs"].values())


def test_a_job_that_fails_twice_is_reported_and_recorded_not_dropped(tiny_book, monkeypatch, capsys):
    monkeypatch.setenv("SWEEP_BROKEN", "1")
    status = reproduce.main(["--chapters", "sgd-vs-gd", "--seeds", "1-2", "--jobs", "2", "--device", "cpu",
                             "--out", str(tiny_book / "work")])
    captured = capsys.readouterr()
    assert status == 1
    assert "FAILED twice: sgd-vs-gd seed 2" in captured.err and "this seed always fails" in captured.err
    env = envelope.load("sgd-vs-gd", "quick")
    assert env["seeds"] == [1] and env["failed"] == [2]
    assert (tiny_book / "work" / "logs" / "sgd-vs-gd-seed-2.log").exists()


def test_a_resumed_sweep_skips_the_seeds_that_have_results(tiny_book, capsys):
    args = ["--chapters", "sgd-vs-gd", "--device", "cpu", "--out", str(tiny_book / "work")]
    assert reproduce.main([*args, "--seeds", "0-1"]) == 0
    capsys.readouterr()
    assert reproduce.main([*args, "--seeds", "0-2"]) == 0
    out = capsys.readouterr().out
    assert "2 (chapter, seed) pair(s) have results and are skipped" in out
    assert "seed 2 (attempt 1" in out and "seed 0 (attempt" not in out
    assert envelope.load("sgd-vs-gd", "quick")["seeds"] == [0, 1, 2]


def test_submitits_local_executor_runs_the_same_jobs(tiny_book):
    jobs, _ = sweep.plan(["sgd-vs-gd"], [0, 1], "quick", "cpu", work=tiny_book / "work", timeout=300, rerun=False)
    outcomes = sweep.launch_slurm(jobs, folder=tiny_book / "submitit", partition=None, gpus=0, time_min=5,
                                  cluster="local")
    assert [o.ok for o in outcomes] == [True, True] and all(o.attempts == 1 for o in outcomes)
    assert "claims passed 1/1" in outcomes[0].summary
    assert envelope.finished_seeds("sgd-vs-gd", "quick") == [0, 1]


def test_submitit_retries_a_failed_job_once(tiny_book, monkeypatch):
    monkeypatch.setenv("SWEEP_FLAKY", str(tiny_book / "flaky-marker"))
    jobs, _ = sweep.plan(["sgd-vs-gd"], [1], "quick", "cpu", work=tiny_book / "work", timeout=300, rerun=False)
    (outcome,) = sweep.launch_slurm(jobs, folder=tiny_book / "submitit", partition=None, gpus=0, time_min=5,
                                    cluster="local")
    assert outcome.ok and outcome.attempts == 2


def test_local_jobs_get_one_gpu_each_and_never_share_one(tmp_path):
    seen = []

    class Recorder(sweep.Job):
        def __call__(self, extra_env=None):
            seen.append(extra_env["CUDA_VISIBLE_DEVICES"])
            return "ok"

    jobs = [Recorder("c", "full", s, "cuda", str(tmp_path), str(tmp_path / f"{s}.log")) for s in range(6)]
    outcomes = sweep.launch_local(jobs, workers=4, gpus=2)
    assert all(o.ok for o in outcomes)
    assert sorted(set(seen)) == ["0", "1"] and len(seen) == 6


def test_aggregation_counts_missing_claims_as_unmeasured_and_keeps_nan_out_of_the_statistics():
    rec = {"statement": "s", "where": "w", "op": ">=", "threshold": 0.5}
    per_seed = {0: [{"id": "a", "measured": 0.9, "passed": True, **rec}],
                1: [{"id": "a", "measured": float("nan"), "passed": False, **rec}],
                2: []}
    (a,) = envelope.aggregate_claims(per_seed)
    assert (a["holds"], a["n"], a["seeds"]) == (1, 2, [0, 1])
    assert a["mean"] == 0.9 and a["sd"] == 0.0


def test_curves_with_different_x_across_seeds_are_an_error():
    with pytest.raises(ValueError, match="other x values"):
        envelope.aggregate_curves({0: [Curve("p", "l", [0, 1], [1, 2])], 1: [Curve("p", "l", [0, 2], [1, 2])]})


def test_bad_sweep_options_are_clear_errors(tiny_book, capsys):
    base = ["--chapters", "sgd-vs-gd", "--device", "cpu"]
    assert reproduce.main([*base, "--seeds", "0-1", "--launcher", "kubernetes"]) == 2
    assert "unknown launcher 'kubernetes'" in capsys.readouterr().err
    assert reproduce.main([*base, "--seeds", "x"]) == 2
    assert reproduce.main([*base, "--seeds", "0-1", "--seed", "3"]) == 2
    assert reproduce.main([*base, "--seeds", "0-1", "--jobs", "0"]) == 2


def test_an_envelope_is_plain_json_that_round_trips(tiny_book):
    assert reproduce.main(["--chapters", "sgd-vs-gd", "--device", "cpu", "--seeds", "0",
                           "--out", str(tiny_book / "work")]) == 0
    path = envelope.envelope_path("sgd-vs-gd", "quick")
    assert json.loads(path.read_text()) == envelope.load("sgd-vs-gd", "quick")
