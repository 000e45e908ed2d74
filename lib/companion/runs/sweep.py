"""Seed sweeps: every (chapter, seed) as an independent job, run here or on a Slurm cluster, then aggregated.

`python -m companion sweep --seeds 0-4 --jobs 2` runs each job as its own
`python -m companion reproduce` process (so one job's failure or memory cannot touch another),
`--jobs` at a time, each with one GPU (`CUDA_VISIBLE_DEVICES`) when there are GPUs (on the CPU,
every chapter's `start_run` gives it one torch and one BLAS thread). `--launcher slurm` submits
the same `Job` objects through submitit, the standard Slurm client. A failed job is retried once
and then reported; a resumed sweep skips the (chapter, seed) pairs whose results exist. Each
chapter's finished seeds are then aggregated into `envelope.json` (`companion.core.envelope`).
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.core import envelope
from companion.core.envelope import parse_seeds, seed_spec
from companion.core.paths import results_root, run_dir
from companion.core.results import claims_passed
from companion.core.runtime import check_profile, machine
from companion.errors import ConfigError
from companion.ml.device import DEVICES, resolve_device
from companion.runs import reproduce
from companion.runs.curves import CURVES

LAUNCHERS = ("local", "slurm")


class JobFailed(RuntimeError):
    """A job's chapter run ended with an error; the message holds the end of its log."""


@dataclass(frozen=True)
class Job:
    """One chapter at one seed. Calling it runs `python -m companion reproduce` for that pair in a child
    process, its output going to `log`; it returns the claims the run passed or raises JobFailed.

    The same object runs on every launcher: here in a thread of the local pool, or pickled by submitit
    and called on a Slurm node.
    """

    chapter: str
    profile: str
    seed: int
    device: str
    notebooks: str
    log: str
    timeout: int = 900

    def command(self) -> list[str]:
        return [sys.executable, "-m", "companion", "reproduce", "--chapters", self.chapter, "--profile", self.profile,
                "--seed", str(self.seed), "--device", self.device, "--out", self.notebooks,
                "--timeout", str(self.timeout), "--no-progress"]

    def __call__(self, extra_env: dict[str, str] | None = None) -> str:
        Path(self.log).parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(extra_env or {})}
        with open(self.log, "w") as log:
            code = subprocess.run(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env).returncode
        if code != 0:
            tail = "\n".join(Path(self.log).read_text().splitlines()[-12:])
            raise JobFailed(f"{self.chapter} seed {self.seed} exited with {code} (log {self.log}):\n{tail}")
        return f"claims passed {claims_passed(run_dir(self.chapter, self.profile, self.seed))}"


@dataclass
class Outcome:
    """What became of one job after at most two attempts."""

    job: Job
    attempts: int = 0
    summary: str = ""
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as `CUDA_VISIBLE_DEVICES` entries: those it was given, else all of
    them (none without torch's CUDA)."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    given = [g.strip() for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    return given[:count] if given else [str(i) for i in range(count)]


def launch_local(jobs: Sequence[Job], workers: int, gpus: Sequence[str] = ()) -> list[Outcome]:
    """Run jobs `workers` at a time on this machine. With `gpus` (CUDA_VISIBLE_DEVICES entries), each
    running job holds one of them alone, so at most len(gpus) run at once; without, jobs share the CPU."""
    workers = min(workers, len(gpus)) if gpus else workers
    slots: queue.Queue[str | None] = queue.Queue()
    for i in range(workers):
        slots.put(gpus[i] if gpus else None)

    def attempt(job: Job) -> tuple[str, str, float]:
        slot = slots.get()
        start = time.perf_counter()
        try:
            env = {"CUDA_VISIBLE_DEVICES": slot} if slot is not None else {}
            return job(env), "", time.perf_counter() - start
        except Exception as err:  # noqa: BLE001 - every failure is reported with the job
            return "", f"{type(err).__name__}: {err}", time.perf_counter() - start
        finally:
            slots.put(slot)

    def run_round(outcomes: list[Outcome]) -> None:
        with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
            running = {pool.submit(attempt, o.job): o for o in outcomes}
            for future in as_completed(running):  # report each job as it ends
                outcome = running[future]
                outcome.attempts += 1
                outcome.summary, outcome.error, outcome.seconds = future.result()
                report(outcome)

    return with_retry(jobs, run_round)


def slurm_executor(folder: Path, *, partition: str | None, gpus: int, time_min: int, parallel: int | None = None,
                   cluster: str = "slurm") -> Any:
    """A submitit executor for the sweep's jobs: on Slurm, a job array on `partition` with `gpus` GPUs and
    `time_min` minutes per job, at most `parallel` jobs at once. `cluster='local'` gives submitit's local
    executor instead, which runs the same job objects as child processes of this one (for tests)."""
    try:
        import submitit
    except ImportError as err:
        raise ConfigError("the Slurm launcher needs submitit: pip install submitit") from err
    try:
        executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    except RuntimeError as err:  # no `srun` here
        raise ConfigError(f"--launcher slurm needs a Slurm cluster: {err}") from err
    params: dict[str, Any] = {"timeout_min": time_min, "gpus_per_node": gpus, "cpus_per_task": 2 if gpus else 1,
                              "name": "companion-sweep"}
    if executor.cluster == "slurm":
        params.update(slurm_partition=partition, slurm_array_parallelism=parallel)
    executor.update_parameters(**{k: v for k, v in params.items() if v is not None})
    return executor


def launch_slurm(jobs: Sequence[Job], executor: Any) -> list[Outcome]:
    """Submit the jobs through a submitit `executor` (`slurm_executor`), wait for them, and retry the
    failed ones once. A job's seconds are those from its round's submission to its end (queueing included)."""

    def run_round(outcomes: list[Outcome]) -> None:
        start = time.perf_counter()
        with executor.batch():
            handles = [executor.submit(o.job) for o in outcomes]
        for outcome, handle in zip(outcomes, handles, strict=True):
            outcome.attempts += 1
            try:
                outcome.summary, outcome.error = handle.result(), ""
            except Exception as err:  # noqa: BLE001 - a failed job or a lost node: reported, then retried
                outcome.summary, outcome.error = "", f"{type(err).__name__}: {err}"
            outcome.seconds = time.perf_counter() - start
            report(outcome)

    return with_retry(jobs, run_round) if jobs else []


def with_retry(jobs: Sequence[Job], run_round: Callable[[list[Outcome]], None]) -> list[Outcome]:
    """Run every job once, then the failed ones once more."""
    outcomes = [Outcome(job) for job in jobs]
    run_round(outcomes)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        print(f"retrying {len(failed)} failed job(s) once", flush=True)
        run_round(failed)
    return outcomes


def report(outcome: Outcome) -> None:
    job = outcome.job
    what = outcome.summary.strip() if outcome.ok else "FAILED: " + outcome.error.splitlines()[0]
    print(f"{job.chapter} seed {job.seed} (attempt {outcome.attempts}, {outcome.seconds:.0f} s): {what}", flush=True)


def plan(names: Sequence[str], seeds: Sequence[int], profile: str, device: str, *, work: Path, timeout: int,
         rerun: bool, root: Path | None = None) -> tuple[list[Job], list[tuple[str, int]]]:
    """The jobs to run, and the (chapter, seed) pairs skipped because their results exist (unless `rerun`)."""
    jobs, skipped = [], []
    for name in names:
        done = set(envelope.finished_seeds(name, profile, root))
        for seed in seeds:
            if seed in done and not rerun:
                skipped.append((name, seed))
                continue
            jobs.append(Job(name, profile, seed, device, notebooks=str(work / f"seed-{seed}"),
                            log=str(work / "logs" / f"{name}-seed-{seed}.log"), timeout=timeout))
    return jobs, skipped


def run_sweep(names: Sequence[str], seeds: Sequence[int], profile: str, device: str, *, launcher: str = "local",
              jobs: int = 1, work: Path | None = None, timeout: int = 900, rerun: bool = False,
              slurm: dict[str, Any] | None = None) -> int:
    """Run the sweep, aggregate each chapter's envelope and print a summary; return the exit status
    (1 when any job failed twice or a chapter could not be aggregated, so that scripts notice).
    `slurm` holds the Slurm launcher's options (partition, gpus, time_min)."""
    if launcher not in LAUNCHERS:
        raise ConfigError(f"unknown launcher {launcher!r}: expected one of {', '.join(LAUNCHERS)}")
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    work = work or Path("_build") / "sweep" / profile
    todo, skipped = plan(names, seeds, profile, device, work=work, timeout=timeout, rerun=rerun)
    if launcher == "local":
        gpus = [] if device == "cpu" else visible_gpus()
        jobs = min(jobs, len(gpus)) if gpus else jobs
        run = lambda: launch_local(todo, jobs, gpus)  # noqa: E731
    else:  # on Slurm, --jobs bounds how many array tasks run at once
        executor = slurm_executor(work / "slurm", parallel=jobs if jobs > 1 else None, **(slurm or {}))
        run = lambda: launch_slurm(todo, executor)  # noqa: E731
    if skipped:
        print(f"resuming: {len(skipped)} (chapter, seed) pair(s) have results and are skipped", flush=True)
    print(f"{len(todo)} job(s): {len(names)} chapter(s) x seeds {seed_spec(seeds)}, {profile} profile, launcher "
          f"{launcher}" + (f", {jobs} at a time" if launcher == "local" or jobs > 1 else ""), flush=True)
    start = time.perf_counter()
    outcomes = run()
    wall = time.perf_counter() - start
    failed = [o for o in outcomes if not o.ok]
    info = {"launcher": launcher, "jobs": jobs, "seeds": list(seeds), "chapters": list(names),
            "wall_time_s": round(wall, 1), "ran": len(outcomes), "resumed": len(skipped),
            "retried": sum(o.attempts > 1 for o in outcomes), "rerun": rerun,
            "machine": machine() if launcher == "local" else None,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    status = 0
    for name in names:
        lost = [o.job.seed for o in failed if o.job.chapter == name]
        try:
            env = envelope.aggregate(name, profile, seeds, failed=lost, curves=CURVES.get(name), sweep=info,
                                     root=results_root(), notebooks=work)
        except Exception as err:  # noqa: BLE001 - one chapter's bad results must not cost the others theirs
            print(f"{name}: no envelope: {type(err).__name__}: {err}", file=sys.stderr)
            status = 1
            continue
        holds = ", ".join(f"{c['id']} {c['holds']}/{c['n']}" for c in env["claims"])
        print(f"{name}: {holds}" + (f"; failed seeds {env['failed']}" if env["failed"] else ""), flush=True)
    for o in failed:
        print(f"FAILED twice: {o.job.chapter} seed {o.job.seed}: {o.error}", file=sys.stderr)
        status = 1
    print(f"sweep: {len(outcomes)} job(s) in {wall / 60:.1f} min; envelopes in {results_root() / profile}")
    return status


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m companion sweep", description=__doc__.splitlines()[0],
                                     allow_abbrev=False)
    reproduce.add_run_arguments(parser, out="folder for the executed notebooks, job logs and Slurm files "
                                          "(default _build/sweep/<profile>)")
    parser.add_argument("--seeds", default="0-4", help="seeds: '0-9', '0,3,7' or '0-4,10' (default 0-4)")
    parser.add_argument("--launcher", default="local", help="local (default) or slurm (through submitit)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="jobs at once (default 1): locally one GPU each, on Slurm the array's parallelism")
    parser.add_argument("--rerun", action="store_true", help="rerun (chapter, seed) pairs whose results exist")
    slurm = parser.add_argument_group("Slurm (--launcher slurm)")
    slurm.add_argument("--partition", default=None, help="the partition to submit to")
    slurm.add_argument("--gpus", type=int, default=None, help="GPUs per job (default 1 for full, 0 for quick)")
    slurm.add_argument("--time", type=int, default=None, dest="time_min",
                       help="time limit per job in minutes (default 15 for full, 5 for quick)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Check the options, then hand the chapters and seeds to the launcher. The device is checked here for
    local sweeps only: a Slurm sweep is submitted from a machine that may have no GPU, and each job checks
    it on its node."""
    args = parse_args(argv)
    try:
        check_profile(args.profile)
        names = reproduce.select_chapters(args.chapters)
        if args.device not in DEVICES:
            raise ConfigError(f"unknown device {args.device!r}: expected one of {', '.join(DEVICES)}")
        full = args.profile == "full"
        slurm = {"partition": args.partition, "gpus": (1 if full else 0) if args.gpus is None else args.gpus,
                 "time_min": args.time_min or (15 if full else 5)}
        if args.launcher == "local":
            resolve_device(args.device)
            if args.partition or args.gpus is not None or args.time_min:
                print("note: --partition, --gpus and --time apply to --launcher slurm only", file=sys.stderr)
        return run_sweep(names, parse_seeds(args.seeds), args.profile, args.device, launcher=args.launcher,
                         jobs=args.jobs, work=args.out, timeout=args.timeout, rerun=args.rerun, slurm=slurm)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
