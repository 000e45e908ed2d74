"""Each claim of the HyperBF-transformer chapter, checked with the chapter's own thresholds where it should
hold and where it must fail. The models are trained with the chapter's quick settings, read from its data
cell; the full settings take one training step on the CPU."""

from pathlib import Path

import pytest
import torch

from companion.core.claims import check
from companion.ml.data import load_flat
from companion.ml.images import crop_and_flip
from companion.ml.training import select_on_validation, train_classifier
from companion.science.hyperbf_transformer import (
    RBFBlock,
    ViT,
    dead_fraction,
    dot_logits_with_key_bias,
    gaussian_logits,
    rbf_inputs,
    set_smallest_exponents,
)

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "hyperbf-transformer.md"


def layer_normed(n, width, seed=1):  # not 0: the centres are drawn from seed 0
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.layer_norm(torch.randn(n, width, generator=g), (width,))


def test_attention_identity_holds_with_the_key_bias_and_fails_without(claims):
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(3, 4, 17, 8, generator=g), torch.randn(3, 4, 17, 8, generator=g)
    gaussian = torch.softmax(gaussian_logits(q, k, 0.4), -1)
    with_bias = torch.softmax(dot_logits_with_key_bias(q, k, 0.4), -1)
    without = torch.softmax(2 * 0.4 * q @ k.transpose(-1, -2), -1)
    assert check(claims["attention-identity"], (gaussian - with_bias).abs().max().item()).passed
    assert not check(claims["attention-identity"], (gaussian - without).abs().max().item()).passed


def rbf_at_init(width, beta0):
    torch.manual_seed(0)
    return RBFBlock(width, 11, beta0), layer_normed(500, width)


def test_reference_init_dead_holds_at_beta_point_one_and_fails_at_one_over_2d(claims):
    block, x = rbf_at_init(768, 0.1)
    assert check(claims["reference-init-dead"], dead_fraction(block.activations(x))).passed
    block, x = rbf_at_init(768, 1 / (2 * 768))
    assert not check(claims["reference-init-dead"], dead_fraction(block.activations(x))).passed


def test_sound_init_alive_holds_for_one_over_2d_and_fails_for_the_reference_beta(claims):
    def smallest_median(beta0):
        medians = []
        for width in (16, 128, 1024):
            block, x = rbf_at_init(width, beta0(width))
            e = block.exponents(x, torch.float64).detach()
            medians += [torch.exp(-e.to(dtype)).double().median().item()
                        for dtype in (torch.float32, torch.bfloat16, torch.float16)]
        return min(medians)

    assert check(claims["sound-init-alive"], smallest_median(lambda d: 1 / (2 * d))).passed
    assert not check(claims["sound-init-alive"], smallest_median(lambda d: 0.1)).passed


def test_dead_gets_no_gradient_holds_for_a_dead_block_and_fails_for_a_live_one(claims):
    def largest_gradient(beta0):
        block, x = rbf_at_init(768, beta0)
        x.requires_grad_(True)
        out = block(x)
        (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(1))).sum().backward()
        grads = [p.grad.abs().max().item() for name, p in block.named_parameters() if name != "out.bias"]
        assert block.out.bias.grad.abs().max() > 0  # the bias learns either way
        return max(grads + [x.grad.abs().max().item()])

    assert check(claims["dead-gets-no-gradient"], largest_gradient(0.1)).passed
    assert not check(claims["dead-gets-no-gradient"], largest_gradient(1 / 64)).passed


@pytest.fixture(scope="module")
def trained(settings):
    """Four of the chapter's quick models, trained with its recipe, and HyperBF-dead once more with
    weight decay 0.5 on every parameter ('HyperBF-dead, all decayed'): the per-epoch test accuracy (0 =
    untrained) with the epoch the validation split picks, and the share of zero RBF activations per
    block on validation images at the start and at that checkpoint."""
    torch.set_num_threads(1)
    S, data = settings["quick"], load_flat("digits", n_val=settings["quick"]["n_val"])
    x, x_val, x_test = (torch.tensor(data[k]).reshape(-1, 1, 8, 8) for k in ("x_train", "x_val", "x_test"))
    y, y_val, y_test = (torch.tensor(data[k]) for k in ("y_train", "y_val", "y_test"))
    d, out = S["dim"], {}
    specs = {"ViT": dict(attention="dot", mlp="relu"),
             "HyperBF": dict(attention="gaussian", mlp="rbf", beta0=1 / (2 * d)),
             "HyperBF-dead": dict(attention="gaussian", mlp="rbf"),
             "HyperBF-dead, all decayed": dict(attention="gaussian", mlp="rbf"),
             "attention only": dict(attention="gaussian", mlp="none")}
    for name, spec in specs.items():
        torch.manual_seed(0)
        model = ViT(S["image"], S["patch"], S["channels"], d, S["depth"], S["heads"], classes=10,
                    hidden=S["hidden"], centres=S["centres"], **spec)
        if name.startswith("HyperBF-dead"):
            set_smallest_exponents(model, x, 134.0)  # about the reference's smallest at width 768
        start = [dead_fraction(b.activations(i)) for b, i in rbf_inputs(model, x_val)]
        recipe = S["recipe"] | ({"decay": "all", "weight_decay": 0.5} if name.endswith("all decayed") else {})
        on_epoch, selection = select_on_validation(model, x_val, y_val, x_test, y_test)
        train_classifier(model, x, y, **recipe, seed=0, on_epoch=on_epoch, log_every=100)
        model.load_state_dict(selection.best_state)
        zeros = [dead_fraction(b.activations(i)) for b, i in rbf_inputs(model, x_val)]
        out[name] = (selection, zeros, start)
    return out


@pytest.mark.parametrize(("claim", "pair"), [("hyperbf-matches-vit", ("HyperBF", "ViT")),
                                             ("control-matches-vit", ("attention only", "ViT")),
                                             ("dead-start-matches-control", ("HyperBF-dead", "attention only"))])
def test_accuracy_claims_hold_for_trained_models_and_fail_for_one_trained_a_single_epoch(claims, trained, claim,
                                                                                        pair):
    a, b = (trained[name][0] for name in pair)
    assert check(claims[claim], abs(a.test_at_best() - b.test_at_best())).passed
    # the same comparison with the first model stopped after one epoch
    assert not check(claims[claim], abs(a.test[1] - b.test_at_best())).passed


def test_dead_start_stays_dead_holds_without_decay_on_the_units_and_fails_when_every_parameter_decays(claims,
                                                                                                      trained):
    for name in ("HyperBF-dead", "HyperBF-dead, all decayed"):
        assert trained[name][2] == [1.0, 1.0]  # both start with every activation exactly zero
    assert check(claims["dead-start-stays-dead"], min(trained["HyperBF-dead"][1])).passed
    assert not check(claims["dead-start-stays-dead"], min(trained["HyperBF-dead, all decayed"][1])).passed
    assert max(trained["HyperBF-dead, all decayed"][1]) < 0.5  # most activations came alive


def test_full_profile_recipe_takes_a_bfloat16_step_on_the_cpu(settings):
    S = settings["full"]
    torch.manual_seed(0)
    model = ViT(S["image"], S["patch"], S["channels"], S["dim"], S["depth"], S["heads"], classes=10,
                hidden=S["hidden"], centres=S["centres"], attention="gaussian", mlp="rbf", beta0=0.2)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    before = model.blocks[0].mlp.out.bias.detach().clone()
    recipe = S["recipe"] | {"batch_size": 4, "epochs": 1}
    h = train_classifier(model, x, y, **recipe, max_updates=1, augment=lambda b, g: crop_and_flip(b, g, pad=4),
                         precision=getattr(torch, S["precision"]), log_every=1)
    assert int(h["steps"]) == 1
    assert not torch.equal(before, model.blocks[0].mlp.out.bias)
