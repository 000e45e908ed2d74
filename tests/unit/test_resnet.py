"""The CIFAR ResNet-18 and the full-profile training options, on tiny sizes on the CPU."""

import pytest
import torch

from companion.ml.images import crop_and_flip
from companion.ml.resnet import calibrate_batch_norm, resnet18
from companion.ml.training import evaluate, train_classifier
from companion.science.alignment import alignments, measure


def test_resnet18_maps_images_to_logits_and_exposes_its_head():
    model = resnet18(classes=10, head_width=16, base=4)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert model[-1][0].in_features == 32 and model[-1][0].out_features == 16
    # the standard width has the usual 11 million parameters (plus the 512 x 512 head)
    assert 11.0e6 < sum(p.numel() for p in resnet18().parameters()) < 11.5e6


def test_full_profile_training_path_runs_one_step_on_cpu():
    """One step of the full recipe (momentum, cosine, augmentation, measurements) on a tiny ResNet."""
    torch.manual_seed(0)
    model = resnet18(head_width=8, base=2)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    track = {}

    def on_epoch(epoch):
        track[epoch] = alignments(measure(model, model[-1][0], x, y))

    before = [p.detach().clone() for p in model.parameters()]
    h = train_classifier(model, x, y, lr=0.1, weight_decay=5e-4, batch_size=8, epochs=1, momentum=0.9,
                         cosine=True, augment=crop_and_flip, on_epoch=on_epoch)
    assert int(h["steps"]) == 1 and sorted(track) == [0, 1]
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert model.training  # measurements and evaluation leave the model in train mode


def test_evaluate_in_chunks_matches_one_pass_and_leaves_batch_norm_statistics_alone():
    torch.manual_seed(0)
    model = resnet18(head_width=8, base=2)
    x, y = torch.randn(10, 3, 32, 32), torch.randint(0, 10, (10,))
    stats = model[1].running_mean.clone()
    whole, chunked = evaluate(model, x, y), evaluate(model, x, y, chunk=3)
    assert whole == pytest.approx(chunked, rel=1e-5)
    assert torch.equal(stats, model[1].running_mean)


def test_calibrate_batch_norm_sets_running_statistics_without_changing_parameters():
    torch.manual_seed(0)
    model = resnet18(head_width=8, base=2)
    x = torch.randn(40, 3, 32, 32) * 3 + 1
    params = [p.detach().clone() for p in model.parameters()]
    model.eval()
    calibrate_batch_norm(model, x, batch_size=20, batches=2)
    assert not model.training
    stem = model[1]
    expected = model[0](x).mean(dim=(0, 2, 3))  # the stem's batch norm sees the stem convolution's output
    assert torch.allclose(stem.running_mean, expected, atol=1e-4)
    assert stem.momentum == 0.1
    assert all(torch.equal(a, b) for a, b in zip(params, model.parameters(), strict=True))


def test_train_classifier_stops_after_max_updates_inside_an_epoch():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    x, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
    h = train_classifier(model, x, y, lr=0.1, weight_decay=0.0, batch_size=4, epochs=10, max_updates=12)
    assert int(h["steps"]) == 12  # two full epochs of 5 updates and two of the third
    assert list(h["log_epochs"]) == [0, 1, 2, 3]
    assert len(h["fluctuation"]) == 3
