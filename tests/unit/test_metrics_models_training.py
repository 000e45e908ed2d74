"""Numerical rank, the MLP builder and the shared training loop."""

import numpy as np
import pytest
import torch

from companion.ml.metrics import accuracy_difference, numerical_rank
from companion.ml.models import mlp, weight_matrices
from companion.ml.training import hidden_ranks, predict, select_on_validation, train_classifier


def test_numerical_rank_counts_singular_values_above_tolerance_of_normalised_matrix():
    U, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    W = U @ torch.diag(torch.tensor([1.0, 1.0, 1e-2, 1e-4, 1e-7, 0.0], dtype=torch.float64)) @ U.T
    assert numerical_rank(W, tol=1e-3) == 3
    assert numerical_rank(W, tol=1e-6) == 4
    assert numerical_rank(100 * W, tol=1e-3) == 3  # scale-free
    assert numerical_rank(torch.zeros(3, 3)) == 0


def test_numerical_rank_rejects_non_matrices():
    with pytest.raises(ValueError, match="2-D"):
        numerical_rank(torch.ones(3))


def test_mlp_without_bias_has_one_matrix_per_layer():
    model = mlp((5, 7, 7, 3))
    assert [tuple(W.shape) for W in weight_matrices(model)] == [(7, 5), (7, 7), (3, 7)]
    assert all(p.ndim == 2 for p in model.parameters())
    with pytest.raises(ValueError):
        mlp((5,))


def toy_data(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, generator=g)
    return x, (x[:, 0] > 0).long()


def test_train_classifier_is_deterministic_and_counts_updates():
    x, y = toy_data()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(train_classifier(mlp((6, 16, 16, 2)), x, y, lr=0.1, weight_decay=0.0, batch_size=10, epochs=3))
    assert int(runs[0]["steps"]) == 3 * (64 // 10)
    assert np.array_equal(runs[0]["loss"], runs[1]["loss"])
    assert runs[0]["loss"][-1] < runs[0]["loss"][0]
    assert len(hidden_ranks(runs[0])) == 1


def test_fluctuation_is_the_size_of_the_regularised_gradient():
    x, y = toy_data()
    torch.manual_seed(0)
    model = mlp((6, 2))
    W = model[0].weight.detach().clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(x @ W.T, y)
    expected = torch.linalg.norm(torch.autograd.grad(loss, W)[0] + 0.1 * W).item()
    h = train_classifier(model, x, y, lr=0.01, weight_decay=0.1, batch_size=64, epochs=1)
    assert h["fluctuation"][0] == pytest.approx(expected, rel=1e-4)


def test_train_classifier_rejects_a_non_positive_learning_rate():
    x, y = toy_data(8)
    with pytest.raises(ValueError, match="lr must be positive"):
        train_classifier(mlp((6, 2)), x, y, lr=0.0, weight_decay=0.0, batch_size=8, epochs=1)


def test_training_that_diverges_says_so_instead_of_failing_inside_an_svd():
    x, y = toy_data(8)
    with pytest.raises(FloatingPointError, match="training diverged.*lower learning rate"):
        train_classifier(mlp((6, 2)), x * 1e30, y, lr=1e30, weight_decay=0.0, batch_size=8, epochs=2)


def test_train_classifier_rejects_a_batch_larger_than_the_data():
    x, y = toy_data(8)
    with pytest.raises(ValueError, match="batch_size"):
        train_classifier(mlp((6, 2)), x, y, lr=0.1, weight_decay=0.0, batch_size=9, epochs=1)


def test_adamw_takes_decoupled_steps_and_an_unknown_optimizer_is_rejected():
    x, y = toy_data(8)
    torch.manual_seed(0)
    model = mlp((6, 2))
    w0 = model[0].weight.detach().clone()
    train_classifier(model, x, y, lr=0.01, weight_decay=0.5, batch_size=8, epochs=1, optimizer="adamw")
    # Adam's first step moves every weight by lr (sign of the gradient), decay shrinks by (1 - lr * wd) first
    step = model[0].weight.detach() - w0 * (1 - 0.01 * 0.5)
    assert torch.allclose(step.abs(), torch.full_like(step, 0.01), atol=1e-4)
    with pytest.raises(ValueError, match="optimizer must be"):
        train_classifier(mlp((6, 2)), x, y, lr=0.1, weight_decay=0.0, batch_size=8, epochs=1, optimizer="lbfgs")


def test_precision_runs_the_forward_pass_under_autocast():
    x, y = toy_data(8)
    seen = []
    model = mlp((6, 2))
    model.register_forward_hook(lambda mod, inputs, out: seen.append(out.dtype))
    train_classifier(model, x, y, lr=0.1, weight_decay=0.0, batch_size=8, epochs=1, precision=torch.bfloat16)
    assert torch.bfloat16 in seen  # the training step
    assert seen[0] == torch.float32  # the evaluation at epoch 0 runs in full precision


def test_select_on_validation_keeps_the_best_validation_epoch_and_its_weights():
    x, y = toy_data(64)
    torch.manual_seed(0)
    model = mlp((6, 16, 2))
    states = []
    on_epoch, selection = select_on_validation(model, x[:32], y[:32], x[32:], y[32:])

    def record(epoch):
        on_epoch(epoch)
        states.append({k: v.clone() for k, v in model.state_dict().items()})

    train_classifier(model, x[32:], y[32:], lr=0.5, weight_decay=0.0, batch_size=8, epochs=6, on_epoch=record)
    assert len(selection.val) == len(selection.test) == 7
    assert selection.best_epoch == int(np.argmax(selection.val))  # the earliest of ties
    assert all(torch.equal(selection.best_state[k], states[selection.best_epoch][k]) for k in states[0])
    assert selection.test_at_best() == selection.test[selection.best_epoch]


def test_matrix_only_decay_leaves_norms_and_biases_undecayed():
    x, y = toy_data(8)

    def one_step(decay, weight_decay):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.LayerNorm(6), torch.nn.Linear(6, 2))
        train_classifier(model, x, y, lr=0.1, weight_decay=weight_decay, batch_size=8, epochs=1, decay=decay)
        return model

    matrices, none, everything = one_step("matrices", 5.0), one_step("all", 0.0), one_step("all", 5.0)
    assert torch.equal(matrices[0].weight, none[0].weight) and torch.equal(matrices[1].bias, none[1].bias)
    assert torch.equal(matrices[1].weight, everything[1].weight)
    assert not torch.equal(matrices[1].weight, none[1].weight)
    with pytest.raises(ValueError, match="decay must be"):
        one_step("biases", 1.0)


def test_predict_returns_the_argmax_labels_in_chunks():
    x, _ = toy_data(10)
    torch.manual_seed(0)
    model = mlp((6, 3))
    assert torch.equal(predict(model, x, chunk=3), model(x).argmax(1))


def test_accuracy_difference_uses_the_per_example_differences():
    a = torch.tensor([True, True, False, True])
    b = torch.tensor([True, False, False, False])
    diff, se = accuracy_difference(a, b)
    assert diff == pytest.approx(0.5)
    assert se == pytest.approx(np.std([0, 1, 0, 1], ddof=1) / 2)
    assert accuracy_difference(a, a) == (0.0, 0.0)
    with pytest.raises(ValueError, match="two"):
        accuracy_difference(a, b[:3])
