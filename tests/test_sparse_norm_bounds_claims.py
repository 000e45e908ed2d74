"""Each claim of the sparse-network bounds chapter, checked with the chapter's own thresholds where it should
hold and where it must fail. The measurements are the library's, on the chapter's quick settings."""

import math
from pathlib import Path

import pytest
import torch

from companion.bounds import filter_norm_bound, leading_ratio, toeplitz_norm_bound
from companion.claims import check, declared
from companion.convnets import conv_frobenius_norm, conv_net, layers_with_weights, network_bounds

CHAPTER = Path(__file__).resolve().parents[1] / "book" / "sparse-norm-bounds.md"


@pytest.fixture(scope="module")
def claims():
    return {c.id: c for c in declared(CHAPTER)}


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


def test_ratio_matches_analysis_holds_for_the_network_and_fails_when_its_weights_are_tiny(claims, images):
    n, pixel, total = images
    torch.manual_seed(0)
    b = network_bounds(conv_net(3, 32, 8), 8, n, pixel, total)
    assert check(claims["ratio-matches-analysis"], b["toeplitz"] / b["filter"] / b["leading_ratio"]).passed
    tiny = [1e-3] * 4  # rho ~ 1e-12: the +1 and the additive terms dominate both bounds
    ratio = toeplitz_norm_bound(tiny, [49, 36, 25], n, 10, total) / filter_norm_bound(tiny, [4] * 3, n, 10, pixel)
    assert not check(claims["ratio-matches-analysis"], ratio / b["leading_ratio"]).passed


def test_ratio_grows_with_size_for_convolutions_and_fails_without_them(claims, images):
    n, pixel, total = images

    def growth(ratio_at):
        ratios = [ratio_at(side) for side in (8, 16, 28)]
        return min(b / a for a, b in zip(ratios[:-1], ratios[1:], strict=True))

    def convolutional(side):
        torch.manual_seed(0)
        b = network_bounds(conv_net(3, 8, side), side, n, pixel, total)
        return b["toeplitz"] / b["filter"]

    def dense(side):  # one output position per layer whatever the image: nothing grows
        return leading_ratio([1, 1, 1], [4] * 3, 4, 10, total, pixel) * (side > 0)

    assert check(claims["ratio-grows-with-size"], growth(convolutional)).passed
    assert not check(claims["ratio-grows-with-size"], growth(dense)).passed
    assert math.isclose(growth(dense), 1.0)
