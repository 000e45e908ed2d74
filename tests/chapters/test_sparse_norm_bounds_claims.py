"""Each claim of the sparse-network bounds chapter, checked with the chapter's own thresholds where it should
hold and where it must fail. The measurements are the library's; the identity checks use a small untrained
network (they do not depend on training), the bound ratio the chapter's quick network and recipe."""

from pathlib import Path

import pytest
import torch

from companion.core.claims import check
from companion.ml.training import mse_one_hot, train_classifier
from companion.science.bounds import filter_norm_bound, toeplitz_norm_bound
from companion.science.convnets import conv_frobenius_norm, conv_net, layers_with_weights, network_bounds

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "sparse-norm-bounds.md"


@pytest.fixture(scope="module")
def images(digits):
    x = digits[0].view(-1, 1, 8, 8)
    return len(x), (x.flatten(1) ** 2).sum(0).max().item(), (x**2).sum().item()


def identity_ratios(padding):
    torch.manual_seed(0)
    model = conv_net(3, 8, 8)
    ratios, side = [], 8
    for conv in [m for m in layers_with_weights(model) if isinstance(m, torch.nn.Conv2d)]:
        w = conv.weight.detach()
        out = side - 1 + 2 * padding
        ratios.append(conv_frobenius_norm(w, (conv.in_channels, side, side), padding) / (out * w.norm().item()))
        side -= 1
    return ratios


def test_toeplitz_identity_holds_without_padding_and_fails_with_it(claims):
    assert check(claims["toeplitz-identity"], max(abs(r - 1) for r in identity_ratios(0))).passed
    assert not check(claims["toeplitz-identity"], max(abs(r - 1) for r in identity_ratios(1))).passed


def test_padding_breaks_identity_holds_with_padding_and_fails_without(claims):
    assert check(claims["padding-breaks-identity"], max(identity_ratios(1))).passed
    assert not check(claims["padding-breaks-identity"], max(identity_ratios(0))).passed


@pytest.fixture(scope="module")
def trained(digits):
    """CONV-3-32 trained with the chapter's quick recipe."""
    x, y = digits[0].view(-1, 1, 8, 8), digits[1]
    torch.manual_seed(0)
    model = conv_net(3, 32, 8)
    train_classifier(model, x, y, lr=0.01, weight_decay=3e-3, batch_size=32, epochs=60, momentum=0.9,
                     milestones=(30, 45), loss_fn=mse_one_hot, log_every=60)
    return model


def test_filter_bound_tighter_holds_after_training_and_fails_when_the_weights_are_tiny(claims, images, trained):
    n, pixel, total = images
    b = network_bounds(trained, 8, n, pixel, total)
    assert check(claims["filter-bound-tighter"], b["toeplitz"] / b["filter"]).passed
    tiny = [1e-3] * 4  # rho ~ 1e-12: the floors and the additive terms dominate both bounds
    ratio = toeplitz_norm_bound(tiny, [49, 36, 25], n, 10, total) / filter_norm_bound(tiny, [4] * 3, n, 10, pixel)
    assert not check(claims["filter-bound-tighter"], ratio).passed


def test_ratio_grows_with_size_and_fails_when_the_size_is_held_fixed(claims, images):
    n, pixel, total = images

    def growth(side_of):
        ratios = []
        for side in (8, 16, 28):
            torch.manual_seed(0)
            b = network_bounds(conv_net(3, 32, side_of(side)), side_of(side), n, pixel, total)
            ratios.append(b["toeplitz"] / b["filter"])
        return min(b / a for a, b in zip(ratios[:-1], ratios[1:], strict=True))

    assert check(claims["ratio-grows-with-size"], growth(lambda side: side)).passed
    assert not check(claims["ratio-grows-with-size"], growth(lambda side: 8)).passed  # size held fixed
