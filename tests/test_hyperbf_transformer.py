"""Gaussian attention, the HyperBF MLP block and the small ViT of `companion.hyperbf_transformer`."""

import pytest
import torch

from companion.hyperbf_transformer import RBFBlock, ViT, dead_fraction, dot_logits_with_key_bias, gaussian_logits


def test_gaussian_attention_is_dot_attention_plus_a_key_norm_bias():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 5, 8, generator=g, dtype=torch.float64)
    k = torch.randn(2, 7, 8, generator=g, dtype=torch.float64)
    gaussian = torch.softmax(gaussian_logits(q, k, 0.3), dim=-1)
    dot = torch.softmax(dot_logits_with_key_bias(q, k, 0.3), dim=-1)
    assert torch.allclose(gaussian, dot, atol=1e-12)
    # without the key-norm bias the two differ
    assert not torch.allclose(gaussian, torch.softmax(2 * 0.3 * q @ k.transpose(-1, -2), dim=-1), atol=1e-3)


def test_gaussian_logits_with_a_metric_use_the_metric_distance():
    q, k = torch.tensor([[[1.0, 0.0]]]), torch.tensor([[[0.0, 1.0]]])
    M = torch.diag(torch.tensor([4.0, 1.0]))
    assert gaussian_logits(q, k, 1.0, M).item() == pytest.approx(-(4.0 + 1.0))


def test_reference_initialisation_kills_every_rbf_unit_in_a_wide_layer_and_the_sound_one_does_not():
    torch.manual_seed(0)
    x = torch.nn.functional.layer_norm(torch.randn(64, 768), (768,))
    dead = RBFBlock(768, 11, beta0=0.1).activations(x)
    alive = RBFBlock(768, 11, beta0=1 / (2 * 768)).activations(x)
    assert dead_fraction(dead) == 1.0
    assert dead_fraction(alive) == 0.0 and alive.median() > 0.1


def test_rbf_exponent_is_computed_in_float32_under_bfloat16_autocast():
    torch.manual_seed(0)
    block = RBFBlock(32, 5, beta0=1 / 64)
    x = torch.randn(4, 3, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert block.activations(x).dtype == torch.float32
        assert block(x).shape == (4, 3, 32)


@pytest.mark.parametrize(("attention", "mlp"), [("dot", "relu"), ("gaussian", "rbf"), ("gaussian", "none"),
                                                ("dot", "none")])
def test_vit_variants_map_images_to_logits_and_train(attention, mlp):
    torch.manual_seed(0)
    model = ViT(image_size=8, patch=2, channels=1, dim=16, depth=2, heads=4, classes=10, attention=attention,
                mlp=mlp)
    images, labels = torch.randn(6, 1, 8, 8), torch.randint(0, 10, (6,))
    assert model.tokens(images).shape == (6, 16, 4)
    loss = torch.nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_vit_rejects_bad_shapes_and_kinds():
    with pytest.raises(ValueError, match="multiple of the patch"):
        ViT(image_size=9, patch=2, channels=1, dim=16, depth=1, heads=4, classes=10)
    with pytest.raises(ValueError, match="attention kind"):
        ViT(image_size=8, patch=2, channels=1, dim=16, depth=1, heads=4, classes=10, attention="linear")
    with pytest.raises(ValueError, match="mlp must be"):
        ViT(image_size=8, patch=2, channels=1, dim=16, depth=1, heads=4, classes=10, mlp="gelu")
