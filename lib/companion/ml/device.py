"""Which device a run uses, and how small host tensors reach it."""

from __future__ import annotations

import os

import torch

from companion.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """Turn 'auto', 'cpu' or 'cuda' into a torch.device.

    'auto' takes the GPU when there is one and says so when it falls back to the CPU;
    'cuda' without a GPU is an error rather than a silent fallback, so a full run never
    quietly takes hours on a laptop.
    """
    if device not in DEVICES:
        raise ConfigError(f"unknown device {device!r}: expected one of {', '.join(DEVICES)}")
    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise ConfigError("device 'cuda' was asked for but torch sees no GPU; use device='auto' or 'cpu'")
    if device == "auto":
        if not has_cuda:
            print("device 'auto': no GPU found, running on the CPU")
        return torch.device("cuda" if has_cuda else "cpu")
    return torch.device(device)


def device_name(device: torch.device) -> str:
    """A human-readable name of the hardware behind `device`."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch thread(s))"


def to_device_async(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A small host tensor (random draws made on the CPU so that a seed gives the same ones on every device) on
    `device`, without the host waiting for the GPU's queue to drain: copied from pinned memory, asynchronously."""
    if device.type == "cuda":
        t = t.pin_memory()
    return t.to(device, non_blocking=True)
