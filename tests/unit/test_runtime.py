"""Run parameters: profiles, devices and seeding."""

import os

import pytest
import torch

from companion.core.runtime import check_profile, seed_everything, start_run
from companion.errors import ConfigError
from companion.ml.device import resolve_device


def test_unknown_profile_error_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="expected one of quick, full"):
        check_profile("fast")


def test_unknown_device_error_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="expected one of auto, cpu, cuda"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_gpu_is_an_error_and_auto_falls_back_loudly(capsys):
    with pytest.raises(ConfigError, match="no GPU"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"
    assert "running on the CPU" in capsys.readouterr().out


def test_negative_or_non_integer_seed_is_rejected():
    with pytest.raises(ConfigError):
        seed_everything(-1)
    with pytest.raises(ConfigError):
        seed_everything(1.5)


def test_start_run_seeds_torch_and_uses_one_cpu_thread():
    run = start_run("x", "quick", 3, "cpu")
    first = torch.rand(3)
    start_run("x", "quick", 3, "cpu")
    assert torch.equal(first, torch.rand(3))
    assert torch.get_num_threads() == 1
    assert (run.profile, run.seed, run.device.type) == ("quick", 3, "cpu")


def test_cpu_runs_use_one_blas_thread(monkeypatch):
    from threadpoolctl import threadpool_info

    from companion.core.runtime import BLAS_THREAD_VARIABLES, start_run

    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.setenv(name, "4")  # restored after the test
    start_run("demo", "quick", 0, "cpu")
    assert all(os.environ[name] == "1" for name in BLAS_THREAD_VARIABLES)
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)
