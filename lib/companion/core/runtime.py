"""Run settings shared by every chapter: profiles, seeding, torch and BLAS threads, and the CPU platform."""

from __future__ import annotations

import os
import platform
import random
import re
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from companion.errors import ConfigError
from companion.ml.device import device_name, resolve_device

PROFILES = ("quick", "full")


def check_profile(profile: str) -> str:
    """Return `profile` if it is one of PROFILES, else raise ConfigError listing the valid ones."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}")
    return profile


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a run prints the same numbers every time on the same device."""
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class Run:
    """What a chapter was run with: its name, profile, seed and resolved device."""

    chapter: str
    profile: str
    seed: int
    device: torch.device
    started: float = field(default_factory=time.perf_counter, compare=False)

    @property
    def device_name(self) -> str:
        return device_name(self.device)


def start_run(chapter: str, profile: str = "quick", seed: int = 0, device: str = "auto") -> Run:
    """Check the papermill parameters of a chapter, seed everything and set torch threads.

    Small models run 10-40x faster on a 2-core CPU with one torch thread than with the
    default pool, so CPU runs use one thread, and so do NumPy's and SciPy's BLAS: with two
    chapters running at once on two cores, BLAS threads that busy-wait for each other made
    one SVD take minutes instead of milliseconds. One thread also gives the same digits
    whatever else the machine is doing.
    """
    check_profile(profile)
    seed_everything(seed)
    dev = resolve_device(device)
    if dev.type == "cpu":
        torch.set_num_threads(1)
        single_threaded_blas()
    return Run(chapter=chapter, profile=profile, seed=seed, device=dev)


def single_threaded_blas() -> None:
    """One thread for the BLAS libraries loaded now (threadpoolctl) and for those loaded later (their
    environment variables are read when they load)."""
    from threadpoolctl import threadpool_limits

    for name in BLAS_THREAD_VARIABLES:
        os.environ[name] = "1"
    threadpool_limits(limits=1)


BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# Environment variables that choose a CPU kernel path, and with it the rounding of floating-point results.
KERNEL_VARIABLES = ("ATEN_CPU_CAPABILITY", "NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE", "MKL_ENABLE_INSTRUCTIONS",
                    "MKL_CBWR", "ONEDNN_MAX_CPU_ISA")


def cpu_platform() -> dict[str, object]:
    """What decides how a CPU run rounds: the processor, torch's kernel path (ATen's CPU capability) and its
    BLAS, NumPy's SIMD loops, the BLAS libraries loaded (with the core type OpenBLAS chose), and the
    variables set that select any of these."""
    from threadpoolctl import threadpool_info

    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return {
        "machine": platform.machine(),
        "processor": _processor_name(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_blas": blas.group(1) if blas else "unknown",
        "numpy_simd": _numpy_simd(),
        "blas": [{k: lib.get(k) for k in ("internal_api", "version", "architecture")} for lib in threadpool_info()
                 if lib.get("user_api") == "blas"],
        "variables": {name: os.environ[name] for name in KERNEL_VARIABLES if name in os.environ},
    }


def machine() -> dict[str, object]:
    """What run times were measured on: processor, cores, Python and torch."""
    return {"processor": _processor_name(), "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__}


def _processor_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _numpy_simd() -> list[str]:
    """NumPy's SIMD targets in use here (beyond its baseline), from its private registry (empty if it moved)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:
        return []
    return [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
