"""Layers with a separate feedback pathway (`companion.science.feedback`): what each rule sends down and learns."""

import math

import pytest
import torch
from torch import nn

from companion.ml.resnet import resnet18
from companion.ml.training import train_classifier
from companion.science.feedback import (
    FeedbackLayer,
    alignment,
    feedback_layers,
    feedback_mlp,
    impair_feedback,
    mismatch,
    surviving_alignment,
    with_feedback,
)


def gradients(layer, x):
    x = x.clone().requires_grad_(True)
    out = layer(x)
    upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    (out * upstream).sum().backward()
    return x.grad, upstream


def test_circuit_linear_layer_sends_the_error_through_B_and_gives_B_the_weight_gradient():
    torch.manual_seed(0)
    layer = FeedbackLayer(nn.Linear(5, 3), "circuit")
    x = torch.randn(4, 5)
    grad_x, delta = gradients(layer, x)
    W, B = layer.layer.weight, layer.B
    assert torch.allclose(layer(x), x @ W.T + layer.layer.bias)  # the forward pass is W's
    assert torch.allclose(grad_x, delta @ B, atol=1e-6)  # the error goes down through B, not W
    assert not torch.allclose(grad_x, delta @ W, atol=1e-2)
    assert torch.allclose(W.grad, delta.T @ x, atol=1e-6)  # W's gradient is backprop's
    assert torch.allclose(B.grad, W.grad)  # and B gets the same


def test_circuit_convolution_sends_the_error_through_B():
    torch.manual_seed(0)
    layer = FeedbackLayer(nn.Conv2d(2, 3, 3, padding=1), "circuit")
    x = torch.randn(2, 2, 5, 5)
    grad_x, delta = gradients(layer, x)
    xb = x.clone().requires_grad_(True)
    expected = torch.autograd.grad((nn.functional.conv2d(xb, layer.B, padding=1) * delta).sum(), xb)[0]
    assert torch.allclose(grad_x, expected, atol=1e-5)
    reference = nn.Conv2d(2, 3, 3, padding=1)
    reference.load_state_dict(layer.layer.state_dict())
    (reference(x) * delta).sum().backward()
    assert torch.allclose(layer.layer.weight.grad, reference.weight.grad, atol=1e-5)
    assert torch.allclose(layer(x), reference(x), atol=1e-6)


def test_backprop_rule_is_the_plain_layer_and_the_others_use_their_own_feedback():
    torch.manual_seed(0)
    x = torch.randn(4, 5)
    bp = FeedbackLayer(nn.Linear(5, 3), "backprop")
    grad_x, delta = gradients(bp, x)
    assert torch.allclose(grad_x, delta @ bp.layer.weight, atol=1e-6)
    assert alignment(bp) == (1.0, 1.0) and mismatch(bp) == 0.0
    fa = FeedbackLayer(nn.Linear(5, 3), "feedback-alignment")
    assert "B" not in dict(fa.named_parameters()) and fa.B.shape == (3, 5)
    grad_x, delta = gradients(fa, x)
    assert torch.allclose(grad_x, delta @ fa.B, atol=1e-6)
    ss = FeedbackLayer(nn.Linear(5, 3), "sign-symmetry")
    W = ss.layer.weight
    assert torch.equal(ss.feedback(), torch.sign(W).detach() * W.abs().mean().detach())
    assert alignment(ss)[1] == 1.0  # same signs everywhere


def test_unknown_rule_is_rejected_with_the_valid_ones():
    with pytest.raises(ValueError, match="feedback-alignment"):
        feedback_mlp((4, 3), "target-prop")


def test_with_feedback_wraps_every_convolution_and_linear_layer_of_a_resnet():
    torch.manual_seed(0)
    model = with_feedback(resnet18(classes=10, head_width=8, base=4), "circuit")
    plain = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert len(feedback_layers(model)) == len(plain) == 20 + 2  # 17 convs + 3 shortcuts, 2 head layers
    out = model(torch.randn(2, 3, 32, 32))
    out.sum().backward()
    assert all(layer.B.grad is not None for layer in feedback_layers(model))


def test_circuit_mismatch_decays_by_one_minus_lr_times_decay_per_plain_sgd_step():
    torch.manual_seed(0)
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    model = feedback_mlp((6, 16, 3), "circuit")
    before = [mismatch(layer) for layer in feedback_layers(model)]
    h = train_classifier(model, x, y, lr=0.1, weight_decay=0.05, batch_size=16, epochs=5)
    steps = int(h["steps"])
    for start, layer in zip(before, feedback_layers(model), strict=True):
        assert math.log(mismatch(layer) / start) == pytest.approx(steps * math.log(1 - 0.1 * 0.05), abs=1e-4)


def test_impaired_feedback_keeps_removed_synapses_at_zero_and_rejects_bad_settings():
    torch.manual_seed(0)
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    model = feedback_mlp((6, 16, 3), "circuit")
    impair_feedback(model, removed=0.5, noise=1.0, seed=0)
    zero = [layer.B == 0 for layer in feedback_layers(model)]
    assert 0.3 < zero[0].float().mean() < 0.7
    train_classifier(model, x, y, lr=0.1, weight_decay=0.05, batch_size=16, epochs=3)
    assert all(torch.equal(layer.B == 0, z) for layer, z in zip(feedback_layers(model), zero, strict=True))
    with pytest.raises(ValueError, match="removed"):
        impair_feedback(model, removed=1.0)
    with pytest.raises(ValueError, match="only the circuit"):
        impair_feedback(feedback_mlp((6, 3), "feedback-alignment"), removed=0.5)


def test_strided_grouped_convolution_keeps_its_geometry_and_gives_B_the_weight_gradient():
    torch.manual_seed(0)
    layer = FeedbackLayer(nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, padding_mode="circular"), "circuit")
    x = torch.randn(2, 4, 7, 7)
    reference = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, padding_mode="circular")
    reference.load_state_dict(layer.layer.state_dict())
    assert torch.allclose(layer(x), reference(x), atol=1e-6)
    gradients(layer, x)
    assert torch.allclose(layer.B.grad, layer.layer.weight.grad)


def test_update_noise_is_seeded_and_changes_the_feedback():
    x, y = torch.randn(32, 6, generator=torch.Generator().manual_seed(2)), torch.arange(32) % 3

    def trained_B(noise, seed):
        torch.manual_seed(0)
        model = feedback_mlp((6, 8, 3), "circuit")
        impair_feedback(model, noise=noise, seed=seed)
        train_classifier(model, x, y, lr=0.1, weight_decay=0.0, batch_size=8, epochs=2)
        return feedback_layers(model)[1].B.detach()

    assert torch.equal(trained_B(1.0, 0), trained_B(1.0, 0))
    assert not torch.equal(trained_B(1.0, 0), trained_B(1.0, 1))
    assert not torch.equal(trained_B(1.0, 0), trained_B(0.0, 0))


def test_surviving_alignment_measures_the_kept_synapses_and_their_share_of_the_weights():
    torch.manual_seed(0)
    layer = FeedbackLayer(nn.Linear(8, 6), "circuit")
    mask = torch.rand(6, 8, generator=torch.Generator().manual_seed(0)) > 0.5
    W = layer.layer.weight.detach()
    with torch.no_grad():
        layer.B.copy_(W * mask)
    cos, share = surviving_alignment(layer)
    assert cos == pytest.approx(1.0)
    assert share == pytest.approx(float((W * mask).norm() ** 2 / W.norm() ** 2))
    assert alignment(layer)[0] == pytest.approx(share**0.5)  # a masked copy: cos over all entries
