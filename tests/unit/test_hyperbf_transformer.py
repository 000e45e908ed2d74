"""Gaussian attention, the HyperBF MLP block and the small ViT of `companion.science.hyperbf_transformer`."""

import math

import pytest
import torch

from companion.science.hyperbf_transformer import (
    Attention,
    RBFBlock,
    ViT,
    dead_fraction,
    dead_units,
    dot_logits_with_key_bias,
    gaussian_logits,
    rbf_blocks,
    rbf_inputs,
    set_smallest_exponents,
    smallest_positive,
)


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


def test_gaussian_attention_projects_through_its_factor_and_scores_by_metric_distance():
    torch.manual_seed(0)
    attention = Attention(8, 2, "gaussian")
    with torch.no_grad():
        attention.factor.copy_(torch.randn(4, 4))
        attention.scale.fill_(0.7)
    x = torch.randn(3, 5, 8)
    q, k, v = attention.project(x)
    raw = attention.qkv(x).view(3, 5, 3, 2, 4).permute(2, 0, 3, 1, 4)
    M = attention.factor @ attention.factor.T
    diff = raw[0][:, :, :, None] - raw[1][:, :, None]
    expected = -0.7 * torch.einsum("bhtsi,ij,bhtsj->bhts", diff, M, diff)
    assert torch.allclose(attention.logits(q, k), expected, atol=1e-4)
    weights = torch.softmax(expected, -1)
    manual = attention.out((weights @ raw[2]).transpose(1, 2).reshape(3, 5, 8))
    assert torch.allclose(attention(x), manual, atol=1e-5)


def test_rbf_inputs_returns_each_block_with_the_input_it_saw_and_leaves_no_hooks():
    torch.manual_seed(0)
    model = ViT(image_size=8, patch=2, channels=1, dim=16, depth=3, heads=4, classes=10, attention="gaussian",
                mlp="rbf")
    model.train()
    images = torch.randn(4, 1, 8, 8)
    seen = rbf_inputs(model, images)
    assert [b for b, _ in seen] == [blk.mlp for blk in model.blocks] == rbf_blocks(model)
    assert all(x.shape == (4, 17, 16) for _, x in seen)
    x0 = model.blocks[0].norm2(model.embedded(images) + model.blocks[0].attention(
        model.blocks[0].norm1(model.embedded(images))))
    assert torch.allclose(seen[0][1], x0, atol=1e-6)
    assert model.training and all(not b._forward_hooks for b, _ in seen)
    assert rbf_inputs(ViT(8, 2, 1, 16, 1, 4, 10, mlp="relu"), images) == []


def test_exponents_in_float64_agree_with_float32_and_give_the_activations():
    torch.manual_seed(0)
    block = RBFBlock(16, 5, beta0=1 / 32)
    x = torch.randn(2, 3, 16)
    e64, e32 = block.exponents(x, torch.float64), block.exponents(x)
    assert e64.dtype == torch.float64 and e64.shape == (2, 3, 5)
    assert torch.allclose(e64.float(), e32, rtol=1e-5)
    assert torch.allclose(block.activations(x), torch.exp(-e32))


def test_dead_units_counts_units_zero_on_every_input():
    a = torch.tensor([[[0.0, 0.3, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    assert dead_units(a) == pytest.approx(2 / 3)
    assert dead_fraction(a) == pytest.approx(11 / 12)


@pytest.mark.parametrize(("dtype", "bits"), [(torch.float32, -149), (torch.bfloat16, -133), (torch.float16, -24)])
def test_smallest_positive_is_the_smallest_subnormal_and_exp_underflows_past_half_of_it(dtype, bits):
    assert smallest_positive(dtype) == 2.0**bits
    edge = -math.log(smallest_positive(dtype) / 2)
    e = torch.tensor([edge - 1, edge + 1], dtype=torch.float64).to(dtype)  # bfloat16 rounds 93 to 0.5
    assert torch.exp(-e)[0] > 0 and torch.exp(-e)[1] == 0


def test_key_bias_form_with_a_metric_gives_the_gaussian_attention_of_that_metric():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 5, 4, generator=g, dtype=torch.float64)
    k = torch.randn(2, 6, 4, generator=g, dtype=torch.float64)
    L = torch.randn(4, 4, generator=g, dtype=torch.float64)
    M = L @ L.T
    gaussian = torch.softmax(gaussian_logits(q, k, 0.5, M), -1)
    assert torch.allclose(gaussian, torch.softmax(dot_logits_with_key_bias(q, k, 0.5, M), -1), atol=1e-12)
    assert torch.allclose(gaussian, torch.softmax(gaussian_logits(q @ L, k @ L, 0.5), -1), atol=1e-12)


def test_squared_distances_broadcast_over_leading_axes_and_default_to_the_identity():
    from companion.science.hyperbf import squared_distances

    g = torch.Generator().manual_seed(0)
    x, t = torch.randn(3, 5, 4, generator=g), torch.randn(3, 2, 4, generator=g)
    batched = squared_distances(x, t)
    for i in range(3):
        assert torch.allclose(batched[i], torch.cdist(x[i], t[i]) ** 2, atol=1e-5)
        assert torch.allclose(batched[i], squared_distances(x[i], t[i], torch.eye(4)), atol=1e-5)


def test_distances_stay_in_float32_under_bfloat16_autocast():
    torch.manual_seed(0)
    block, attention = RBFBlock(32, 5, beta0=1 / 64), Attention(32, 4, "gaussian")
    x = torch.randn(4, 3, 32)
    plain = block.exponents(x)
    q, k, _ = attention.project(x)
    logits = attention.logits(q, k)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(block.exponents(x), plain)
        assert torch.equal(attention.logits(q, k), logits)


def test_set_smallest_exponents_kills_every_block_on_its_images():
    torch.manual_seed(0)
    model = ViT(image_size=8, patch=2, channels=1, dim=16, depth=2, heads=4, classes=10, attention="gaussian",
                mlp="rbf")
    images = torch.randn(20, 1, 8, 8)
    set_smallest_exponents(model, images, 120.0)
    for block, x in rbf_inputs(model, images):
        e = block.exponents(x, torch.float64)
        assert e.min().item() == pytest.approx(120.0, rel=1e-6)
        assert dead_fraction(block.activations(x)) == 1.0
