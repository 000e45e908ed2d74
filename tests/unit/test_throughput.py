"""The throughput comparison of the book's training loop with a DataLoader loop, on the CPU with a tiny model."""

import pytest
import torch
from torch import nn

from companion.runs.throughput import compare, flops_per_image, peak_flops, workload


def test_both_loops_are_timed_on_the_same_model_and_data():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(256, 20, generator=g), torch.randint(0, 3, (256,), generator=g)
    result = compare(lambda: nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3)), x, y,
                     torch.device("cpu"), epochs=4, batch_size=32, lr=0.1, weight_decay=1e-3)
    assert result["book_images_per_s"] > 0 and result["dataloader_images_per_s"] > 0
    assert result["ratio"] == pytest.approx(result["book_images_per_s"] / result["dataloader_images_per_s"])
    # forward 2(20*16 + 16*3); backward the same for the weight gradients, plus the gradient of the hidden
    # layer's input (the data's own gradient is not computed)
    assert result["flops_per_image"] == 2 * 2 * (20 * 16 + 16 * 3) + 2 * 16 * 3
    assert result["peak_tflops"] is None and result["fraction_of_peak"] is None  # no known peak on a CPU
    with pytest.raises(ValueError, match="at least 3"):
        compare(lambda: nn.Linear(20, 3), x, y, torch.device("cpu"), epochs=2, batch_size=32, lr=0.1,
                weight_decay=0.0)


def test_the_two_workloads_build_the_chapters_models():
    make, recipe = workload("sgd-mlp")
    assert sum(p.numel() for p in make().parameters()) == 3072 * 512 + 3 * 512 * 512 + 512 * 10  # no biases
    make, recipe = workload("hyperbf-transformer")
    assert recipe["precision"] == torch.bfloat16 and recipe["optimizer"] == "adamw"
    x = torch.randn(2, 3, 32, 32)
    assert flops_per_image(make(), x, torch.tensor([0, 1]), None) > 1e8
    assert peak_flops(torch.device("cpu"), None) is None
    with pytest.raises(ValueError, match="unknown workload"):
        workload("resnet")
