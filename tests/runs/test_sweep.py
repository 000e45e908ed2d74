"""Seed sweeps: seed lists, real local jobs (parallel, retried, resumed), submitit's executor, aggregation."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from companion.core import envelope
from companion.core.envelope import Curve
from companion.errors import ConfigError
from companion.runs import sweep
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

from companion.core.claims import Claim, check_all, report
from companion.core.results import save_results
from companion.core.runtime import start_run

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
    status = sweep.main(["--chapters", "sgd-vs-gd", "--seeds", "0-3", "--jobs", "2", "--device", "cpu",
                             "--out", str(tiny_book / "work")])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "sgd-vs-gd seed 1 (attempt 1" in out and "FAILED" in out  # the first attempt failed...
    assert "sgd-vs-gd seed 1 (attempt 2" in out  # ...and was retried
    env = envelope.load("sgd-vs-gd", "quick")
    assert env["seeds"] == [0, 1, 2, 3] and env["failed"] == []
    assert env["printed"]["seeds"] == [0, 1, 2, 3]  # the bands of printed numbers, from the seeds' notebooks
    (claim,) = env["claims"]
    assert claim["holds"] == 2 and claim["n"] == 4 and claim["passed"] == [True, True, False, False]
    assert claim["mean"] == pytest.approx(1.5) and claim["min"] == 0 and claim["max"] == 3
    (curve,) = env["curves"]
    assert curve["mean"] == pytest.approx([1.5, 3, 4.5]) and curve["max"] == [3, 6, 9]
    (info,) = env["sweeps"]
    assert info["retried"] == 1 and info["jobs"] == 2 and info["ran"] == 4 and info["wall_time_s"] > 0
    assert (tiny_book / "results" / "quick" / "sgd-vs-gd" / envelope.FIGURE).stat().st_size > 1000
    assert all(run["commit"] for run in env["runs"].values())


def test_a_job_that_fails_twice_is_reported_and_recorded_not_dropped(tiny_book, monkeypatch, capsys):
    monkeypatch.setenv("SWEEP_BROKEN", "1")
    status = sweep.main(["--chapters", "sgd-vs-gd", "--seeds", "1-2", "--jobs", "2", "--device", "cpu",
                             "--out", str(tiny_book / "work")])
    captured = capsys.readouterr()
    assert status == 1
    assert "FAILED twice: sgd-vs-gd seed 2" in captured.err and "this seed always fails" in captured.err
    env = envelope.load("sgd-vs-gd", "quick")
    assert env["seeds"] == [1] and env["failed"] == [2]
    assert (tiny_book / "work" / "logs" / "sgd-vs-gd-seed-2.log").exists()


def test_a_resumed_sweep_skips_the_seeds_that_have_results(tiny_book, capsys):
    args = ["--chapters", "sgd-vs-gd", "--device", "cpu", "--out", str(tiny_book / "work")]
    assert sweep.main([*args, "--seeds", "0-1"]) == 0
    capsys.readouterr()
    assert sweep.main([*args, "--seeds", "0-2"]) == 0
    out = capsys.readouterr().out
    assert "2 (chapter, seed) pair(s) have results and are skipped" in out
    assert "seed 2 (attempt 1" in out and "seed 0 (attempt" not in out
    env = envelope.load("sgd-vs-gd", "quick")
    assert env["seeds"] == [0, 1, 2]
    assert [s["ran"] for s in env["sweeps"]] == [2, 1]  # both invocations' jobs are on record


def local_submitit(folder):
    return sweep.slurm_executor(folder, partition=None, gpus=0, time_min=5, cluster="local")


def test_submitits_local_executor_runs_the_same_jobs(tiny_book):
    jobs, _ = sweep.plan(["sgd-vs-gd"], [0, 1], "quick", "cpu", work=tiny_book / "work", timeout=300, rerun=False)
    outcomes = sweep.launch_slurm(jobs, local_submitit(tiny_book / "submitit"))
    assert [o.ok for o in outcomes] == [True, True] and all(o.attempts == 1 for o in outcomes)
    assert "claims passed 1/1" in outcomes[0].summary
    assert envelope.finished_seeds("sgd-vs-gd", "quick") == [0, 1]


def test_submitit_retries_a_failed_job_once(tiny_book, monkeypatch):
    monkeypatch.setenv("SWEEP_FLAKY", str(tiny_book / "flaky-marker"))
    jobs, _ = sweep.plan(["sgd-vs-gd"], [1], "quick", "cpu", work=tiny_book / "work", timeout=300, rerun=False)
    (outcome,) = sweep.launch_slurm(jobs, local_submitit(tiny_book / "submitit"))
    assert outcome.ok and outcome.attempts == 2


def test_local_jobs_get_one_gpu_each_and_never_share_one(tmp_path):
    holders: dict[str, int] = {}
    peak: dict[str, int] = {}
    lock = threading.Lock()

    class Recorder(sweep.Job):
        def __call__(self, extra_env=None):
            gpu = extra_env["CUDA_VISIBLE_DEVICES"]
            with lock:
                holders[gpu] = holders.get(gpu, 0) + 1
                peak[gpu] = max(peak.get(gpu, 0), holders[gpu])
            time.sleep(0.05)
            with lock:
                holders[gpu] -= 1
            return "ok"

    jobs = [Recorder("c", "full", s, "cuda", str(tmp_path), str(tmp_path / f"{s}.log")) for s in range(8)]
    outcomes = sweep.launch_local(jobs, workers=4, gpus=["2", "3"])  # 4 asked for, 2 GPUs given
    assert all(o.ok for o in outcomes)
    assert peak == {"2": 1, "3": 1}


def test_the_gpus_a_sweep_hands_out_are_those_it_was_given(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    assert sweep.visible_gpus() == ["5", "7"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert sweep.visible_gpus() == ["0", "1"]


def test_a_job_whose_error_has_no_message_still_counts_as_failed(tmp_path, capsys):
    class Silent(sweep.Job):
        def __call__(self, extra_env=None):
            raise RuntimeError()

    (outcome,) = sweep.launch_local([Silent("c", "quick", 0, "cpu", str(tmp_path), str(tmp_path / "l"))], 1)
    assert not outcome.ok and outcome.attempts == 2 and outcome.error == "RuntimeError: "


def test_the_slurm_executor_gets_partition_gpus_time_and_parallelism(tmp_path, monkeypatch):
    srun = tmp_path / "bin" / "srun"
    srun.parent.mkdir()
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{srun.parent}:{os.environ['PATH']}")
    executor = sweep.slurm_executor(tmp_path / "slurm", partition="gpu", gpus=1, time_min=15, parallel=4)
    params = executor._executor.parameters
    assert (params["partition"], params["gpus_per_node"], params["time"], params["cpus_per_task"]) == ("gpu", 1, 15, 2)
    assert params["array_parallelism"] == 4


def test_slurm_without_srun_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="needs a Slurm cluster"):
        sweep.slurm_executor(tmp_path / "slurm", partition=None, gpus=1, time_min=15)


def test_seeds_are_written_back_compactly():
    assert sweep.seed_spec([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert sweep.parse_seeds(sweep.seed_spec([0, 3, 4])) == [0, 3, 4]


def test_aggregation_counts_missing_claims_as_unmeasured_and_keeps_nan_out_of_the_statistics():
    rec = {"statement": "s", "where": "w", "op": ">=", "threshold": 0.5}
    per_seed = {0: [{"id": "a", "measured": 0.9, "passed": True, **rec}],
                1: [{"id": "a", "measured": float("nan"), "passed": False, **rec}],
                2: []}
    (a,) = envelope.aggregate_claims(per_seed)
    assert (a["holds"], a["n"], a["seeds"]) == (1, 2, [0, 1])
    assert a["mean"] == 0.9 and a["sd"] is None  # one finite value: no spread to speak of
    assert a["measured"] == [0.9, None]  # strict JSON: no NaN


def test_curves_with_different_x_across_seeds_are_an_error():
    with pytest.raises(ValueError, match="other x values"):
        envelope.aggregate_curves({0: [Curve("p", "l", [0, 1], [1, 2])], 1: [Curve("p", "l", [0, 2], [1, 2])]})


def test_bad_sweep_options_are_clear_errors(tiny_book, capsys):
    base = ["--chapters", "sgd-vs-gd", "--device", "cpu"]
    assert sweep.main([*base, "--seeds", "0-1", "--launcher", "kubernetes"]) == 2
    assert "unknown launcher 'kubernetes'" in capsys.readouterr().err
    assert sweep.main([*base, "--seeds", "x"]) == 2
    with pytest.raises(SystemExit):  # one seed is `reproduce`'s option, not the sweep's
        sweep.main([*base, "--seeds", "0-1", "--seed", "3"])
    assert sweep.main([*base, "--seeds", "0-1", "--jobs", "0"]) == 2


def test_an_envelope_is_plain_json_that_round_trips(tiny_book):
    assert sweep.main(["--chapters", "sgd-vs-gd", "--device", "cpu", "--seeds", "0",
                           "--out", str(tiny_book / "work")]) == 0
    path = envelope.envelope_path("sgd-vs-gd", "quick")
    assert json.loads(path.read_text()) == envelope.load("sgd-vs-gd", "quick")


def test_a_seed_that_failed_now_is_left_out_even_with_old_results(tiny_book, monkeypatch, capsys):
    args = ["--chapters", "sgd-vs-gd", "--device", "cpu", "--out", str(tiny_book / "work")]
    assert sweep.main([*args, "--seeds", "1-2"]) == 0
    monkeypatch.setenv("SWEEP_BROKEN", "1")
    assert sweep.main([*args, "--seeds", "1-2", "--rerun"]) == 1
    env = envelope.load("sgd-vs-gd", "quick")
    assert env["seeds"] == [1] and env["failed"] == [2]
    assert [s["ran"] for s in env["sweeps"]] == [2]  # a rerun starts the record again
