"""The exercises' self-checks: each passes the answer found by an independent route (a run, a simulation,
a brute-force count) or at least the solution's rounded value, fails a wrong one without printing the
expected number, defaults to the chapter's quick settings, and is called from its exercise's text."""

import functools
import inspect
import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.core import chapters
from companion.exercises import CHECKS, check, describe, expected
from companion.ml.models import mlp
from companion.science.alignment import agop, alignment
from companion.science.ardt import final_state_accuracy, fit_ardt, generate_states, parity, random_strings
from companion.science.compositional import levels_of
from companion.science.feedback import alignment as feedback_alignment
from companion.science.feedback import feedback_layers, feedback_mlp, impair_feedback
from companion.science.null_space import linear_problem, train_linear
from companion.science.stories import BOYS, GIRLS, corpus

BOOK = Path(__file__).resolve().parents[2] / "book"


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def default(label: str, name: str):
    return inspect.signature(CHECKS[label].expected).parameters[name].default


def exercises() -> dict[str, str]:
    """Every {exercise} block of the book (without its solution), by label."""
    out = {}
    for path in sorted(BOOK.glob("*.md")):
        for block in re.findall(r"^:::\{exercise\}\n(.*?)^:::$", path.read_text(), flags=re.S | re.M):
            out[re.search(r"^:label: (\S+)", block, flags=re.M).group(1)] = block
    return out


# ---------------------------------------------------------------- defaults and placement


def test_defaults_are_the_chapters_quick_settings():
    linear = chapters.settings("sgd-vs-gd", "LINEAR")["quick"]
    for label in ("ex-sgd-predict-batch", "ex-sgd-momentum"):
        assert (default(label, "lr"), default(label, "weight_decay")) == (linear["lr"], linear["weight_decay"])
    assert default("ex-sgd-predict-batch", "n") == linear["n"]
    recipe = chapters.settings("bio-circuit", "SETTINGS")["quick"]["recipe"]
    assert (default("ex-bio-momentum", "lr"), default("ex-bio-momentum", "weight_decay")) == \
        (recipe["lr"], recipe["weight_decay"])
    assert default("ex-bio-probe", "removed") == chapters.settings("bio-circuit", "PROBE")["removed"]
    assert default("ex-crh-nfa", "widths") == chapters.settings("canonical-representation", "MAIN")["quick"]["widths"]
    trees = chapters.settings("decision-trees-lm", "SETTINGS")["quick"]
    assert default("ex-ardt-window-short", "test_strings") == trees["automata"]["test"]
    snb = chapters.settings("sparse-norm-bounds", "SETTINGS")["quick"]
    assert (default("ex-snb-resolution", "small"), default("ex-snb-resolution", "depth"),
            default("ex-snb-resolution", "width")) == (snb["side"], snb["depth"], snb["width"])
    assert default("ex-snb-resolution", "large") in snb["sides"]
    assert default("ex-hbt-spread", "d") == chapters.settings("hyperbf-transformer", "SETTINGS")["quick"]["dim"]


def test_every_check_is_called_from_its_exercise_with_inputs_it_takes():
    blocks = exercises()
    for label in CHECKS:
        assert label in blocks, f"{label} is not the label of an exercise"
        calls = re.findall(r'check\("' + re.escape(label) + r'",([^`]*)\)`', blocks[label])
        assert calls, f"the exercise {label} does not show check(\"{label}\", ...)"
        assert "`from companion.exercises import check`" in blocks[label]
        accepted = inspect.signature(CHECKS[label].expected).parameters
        for name in re.findall(r"(\w+)=", calls[0]):
            assert name in accepted, f"{label}'s exercise passes {name}=, which the check does not take"


def test_unknown_label_lists_the_checks():
    with pytest.raises(ValueError) as err:
        check("ex-no-such-exercise", 1.0)
    assert all(label in str(err.value) for label in CHECKS)
    with pytest.raises(ValueError):
        expected("ex-no-such-exercise")


def test_wrong_inputs_and_shapes_are_clear_errors():
    with pytest.raises(ValueError, match="stride"):
        check("ex-snb-stride", 9, n1=8, k=2)
    with pytest.raises(ValueError, match="unexpected"):
        check("ex-sysid-units", 0.7, noise=1.0)
    with pytest.raises(ValueError, match="3 numbers"):
        check("ex-hbt-fp16", 87)
    with pytest.raises(ValueError, match="one number"):
        check("ex-sysid-units", (0.7, 0.7))
    assert all(describe(label).startswith("answer: ") for label in CHECKS)


def test_checks_leave_the_random_state_alone():
    state = torch.get_rng_state()
    expected("ex-crh-nfa")
    expected("ex-snb-resolution")
    assert torch.equal(state, torch.get_rng_state())


# ---------------------------------------------------------------- wrong answers fail, and say only which way

WRONG = [  # (label, a wrong answer, inputs): typical slips
    ("ex-sgd-predict-batch", 137, {}),  # one epoch short of the target
    ("ex-sgd-predict-batch", 1380, {}),  # updates, not epochs
    ("ex-sgd-momentum", 0.95, {}),  # first-order root, invalid for complex roots
    ("ex-sgd-momentum", 0.995, {}),  # plain SGD's factor
    ("ex-bio-momentum", 0.999, {}),  # plain SGD's factor
    ("ex-bio-momentum", math.sqrt(0.9), {}),  # the modulus of complex roots, but these are real
    ("ex-bio-sign", (0.5, 0.8), {}),
    ("ex-bio-sign", (0.87, 0.64), {}),
    ("ex-bio-probe", 0.5, {"removed": 0.5}),  # the kept share, not its square root
    ("ex-crh-nfa", 3, {}),  # the fourth linear layer counted among the linear layers only
    ("ex-crh-nfa", 7, {}),
    ("ex-cs-lipschitz", 16, {}),  # the sharper bound of the solution, not the proposition's
    ("ex-cs-lipschitz", 1 + math.pi / 2, {}),
    ("ex-ardt-window-short", 1.0, {}),
    ("ex-ardt-window-short", 0.25, {}),
    ("ex-ardt-ordinal", 6, {}),  # the one-hot depth
    ("ex-ardt-ordinal", 4, {}),
    ("ex-hbt-spread", math.sqrt(1.5 / 32), {"d": 32}),  # the standard deviation, not the variance
    ("ex-hbt-fp16", (87, 464, 530), {}),
    ("ex-hbt-fp16", (8.7, 46.4, 52.0), {"beta0": 0.1}),
    ("ex-hbt-decay", (0.82, 0.91, 0.5), {}),
    ("ex-hbt-decay", (0.91, 0.82, 0.68), {}),
    ("ex-lrb-nuclear", (2.0, 2.0 * math.sqrt(3), 6.0), {"r": 3, "s": 2.0}),
    ("ex-snb-stride", 49, {"n1": 8, "k": 2, "stride": 2}),  # stride one's count
    ("ex-snb-resolution", 8, {}),
    ("ex-snb-resolution", 169, {}),
    ("ex-sysid-units", 0.5, {}),
]


@pytest.mark.parametrize(("label", "answer", "given"), WRONG)
def test_a_wrong_answer_fails_without_revealing_the_expected_value(label, answer, given, capsys):
    assert check(label, answer, **given) is False
    verdict = capsys.readouterr().out
    assert verdict.startswith(f"{label}: not yet")
    targets = CHECKS[label].expected(**given)
    names = [t.name for t in (targets if isinstance(targets, tuple) else (targets,))]
    rest = verdict[len(label):]
    for name in names:
        rest = rest.replace(name, "")
    assert not re.search(r"\d", rest), f"the verdict mentions a number: {verdict!r}"


def test_every_numeric_check_can_fail():
    assert {label for label, _, _ in WRONG} | {"ex-cs-parity", "ex-ardt-names"} == set(CHECKS)


# ---------------------------------------------------------------- right answers, by independent routes


def test_sgd_predict_batch_passes_the_epoch_a_run_reaches():
    L = chapters.settings("sgd-vs-gd", "LINEAR")["quick"]
    X, Y, W0 = linear_problem(L["d"], L["n"], L["k"], seed=0)
    run = train_linear(X, Y, W0, lr=L["lr"], weight_decay=L["weight_decay"], batch_size=2, epochs=L["epochs"],
                       rank_every=10**6)
    w = run["w_perp"]
    first = int(np.argmax(w < 1e-3 * w[0]))
    assert first > 0 and check("ex-sgd-predict-batch", first)
    assert check("ex-sgd-predict-batch", 138)  # the solution's value


def measured_factor(lr: float, weight_decay: float, momentum: float) -> float:
    """Spectral radius of torch's SGD map on a parameter with no data gradient (the null-space part),
    from the (parameter, momentum buffer) states it produces."""
    p = nn.Parameter(torch.tensor([1.0, 0.3], dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, weight_decay=weight_decay)
    states = []
    for _ in range(6):
        p.grad = torch.zeros_like(p)
        opt.step()
        states.append(torch.stack([p.detach().clone(), opt.state[p]["momentum_buffer"].clone()]))
    before = torch.cat(states[:-1], dim=1).numpy()
    after = torch.cat(states[1:], dim=1).numpy()
    return float(np.abs(np.linalg.eigvals(after @ np.linalg.pinv(before))).max())


def test_momentum_checks_pass_torchs_own_rate():
    L = chapters.settings("sgd-vs-gd", "LINEAR")["quick"]
    assert check("ex-sgd-momentum", measured_factor(L["lr"], L["weight_decay"], 0.9))
    assert check("ex-sgd-momentum", math.sqrt(0.9))  # the solution's modulus
    recipe = chapters.settings("bio-circuit", "SETTINGS")["quick"]["recipe"]
    assert check("ex-bio-momentum", measured_factor(recipe["lr"], recipe["weight_decay"], 0.9))
    assert check("ex-bio-momentum", 1 - recipe["lr"] * recipe["weight_decay"] / (1 - 0.9))  # first order
    assert check("ex-bio-momentum", measured_factor(0.1, 0.05, 0.9), lr=0.1, weight_decay=0.05)  # complex


def test_bio_sign_passes_a_fresh_layer():
    torch.manual_seed(0)
    uniform = nn.Linear(256, 256).weight.detach()
    gaussian = torch.randn(256, 256)

    def cos(W):
        return float(W.abs().sum() / (math.sqrt(W.numel()) * W.norm()))

    assert check("ex-bio-sign", (cos(uniform), cos(gaussian)))
    assert check("ex-bio-sign", (0.87, 0.80))  # the solution's values


@pytest.mark.parametrize("removed", [0.25, 0.5, 0.75, 0.9])
def test_bio_probe_passes_a_masked_copy(removed):
    torch.manual_seed(0)
    model = feedback_mlp((40, 256, 256, 10), "circuit")
    for handle in impair_feedback(model, removed=removed, seed=1):
        handle.remove()
    layer = feedback_layers(model)[1]
    with torch.no_grad():
        layer.B.copy_(layer.layer.weight * (layer.B != 0))  # survivors copy W, which ignores the mask
    assert check("ex-bio-probe", feedback_alignment(layer)[0], removed=removed)


def test_crh_nfa_passes_the_layer_where_agop_is_w_t_w():
    widths = chapters.settings("canonical-representation", "MAIN")["quick"]["widths"]
    torch.manual_seed(0)
    model = mlp(widths, bias=True)
    x = torch.randn(128, widths[0])
    alphas = {i: alignment(agop(model, m, x, outputs=widths[-1]), (m.weight.T @ m.weight).detach())
              for i, m in enumerate(model) if isinstance(m, nn.Linear)}
    ones = [i for i, a in alphas.items() if a > 1 - 1e-9]
    assert len(ones) == 1 and max(a for i, a in alphas.items() if i not in ones) < 0.999
    assert check("ex-crh-nfa", ones[0])


def solution_parity_network(n: int) -> tuple[nn.Linear, nn.Linear]:
    """The solution's g(s) = relu(s) + 2 sum_{j=1}^{n-1} (-1)^j relu(s - j), as torch layers."""
    hidden, out = nn.Linear(n, n), nn.Linear(n, 1, bias=False)
    with torch.no_grad():
        hidden.weight.fill_(1.0)
        hidden.bias.copy_(-torch.arange(n, dtype=torch.float32))
        out.weight.copy_(torch.tensor([[1.0] + [2.0 * (-1) ** j for j in range(1, n)]]))
    return hidden, out


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_cs_parity_passes_the_solutions_network(n):
    hidden, out = solution_parity_network(n)
    bits = torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)))
    assert torch.equal(out(torch.relu(hidden(bits))).squeeze(1), bits.sum(1) % 2)  # it computes parity
    assert check("ex-cs-parity", (hidden.weight, hidden.bias, out.weight[0]), n=n)
    assert np.allclose(expected("ex-cs-parity", n=n)[2], out.weight[0].detach().numpy())


def test_cs_parity_fails_wrong_or_too_large_networks(capsys):
    W, b, a = expected("ex-cs-parity", n=5)
    assert not check("ex-cs-parity", (W, b, np.ones(5)), n=5)
    assert not check("ex-cs-parity", (W, b, a, 0.5), n=5)
    wider = (np.vstack([W, np.ones(5)]), np.append(b, -9.0), np.append(a, 1.0))  # one unit that never fires
    assert not check("ex-cs-parity", wider, n=5)
    verdicts = capsys.readouterr().out
    assert "not yet" in verdicts and "hidden units" in verdicts
    assert str(list(a)) not in verdicts and "-2" not in verdicts
    with pytest.raises(ValueError):
        check("ex-cs-parity", 5, n=5)


def test_cs_lipschitz_passes_the_error_of_a_tree_that_attains_the_bound():
    d, L, delta = 32, 1 + math.pi / 2, 1e-6
    x = torch.zeros(d, dtype=torch.float64)

    def root(noise: float) -> float:  # constituents L (a + b) / 2, Lipschitz L in the max norm
        v = x
        while len(v) > 1:
            v = L * (v[0::2] + v[1::2]) / 2 + noise
        return float(v[0])

    assert levels_of(d) == 5
    assert check("ex-cs-lipschitz", (root(delta) - root(0.0)) / delta)
    assert check("ex-cs-lipschitz", 71)  # the solution's value


def test_ardt_window_short_passes_a_run():
    automaton, n = parity(), 8
    train = random_strings(automaton, 300, n, seed=1)
    test = random_strings(automaton, 1000, n, seed=2)
    tree = fit_ardt(automaton, train, window=n)
    accuracy = final_state_accuracy(automaton, test, generate_states(tree, automaton, test, window=n))
    assert check("ex-ardt-window-short", accuracy, test_strings=len(test))
    full = fit_ardt(automaton, train)
    assert not check("ex-ardt-window-short", final_state_accuracy(automaton, test,
                                                                  generate_states(full, automaton, test)))


@functools.cache
def isolating_depth(states: int, symbols: int) -> int:
    """Brute force: the least depth of threshold splits on (state id, symbol id) that isolates every cell."""
    if states * symbols == 1:
        return 0
    splits = [max(isolating_depth(c, symbols), isolating_depth(states - c, symbols)) for c in range(1, states)]
    splits += [max(isolating_depth(states, c), isolating_depth(states, symbols - c)) for c in range(1, symbols)]
    return 1 + min(splits)


@pytest.mark.parametrize(("states", "symbols"), [(5, 3), (2, 2), (7, 3), (8, 5), (3, 9)])
def test_ardt_ordinal_passes_a_brute_force_depth(states, symbols):
    assert check("ex-ardt-ordinal", isolating_depth(states, symbols), states=states, symbols=symbols)
    assert check("ex-ardt-ordinal", isolating_depth(5, 3))  # the chapter's automaton


def test_ardt_names_passes_the_shortest_window_that_always_sees_a_name():
    stories = corpus(200, seed=0)
    names = set(GIRLS + BOYS)

    def sees_every_previous_name(window: int) -> bool:
        return all(names & set(s[max(i - window, 0):i])
                   for s in stories for i in [i for i, t in enumerate(s) if t in names][1:])

    shortest = next(w for w in itertools.count(1) if sees_every_previous_name(w))
    assert check("ex-ardt-names", shortest, stories=stories)
    assert not check("ex-ardt-names", shortest - 1, stories=stories)


@pytest.mark.parametrize("d", [8, 32])
def test_hbt_spread_passes_monte_carlo(d):
    g = torch.Generator().manual_seed(0)
    x = F.layer_norm(torch.randn(d, generator=g, dtype=torch.float64), (d,), eps=0.0)
    t = torch.randn(200_000, d, generator=g, dtype=torch.float64)
    assert check("ex-hbt-spread", float(((x - t) ** 2).sum(1).var() / (2 * d) ** 2), d=d)


def test_hbt_fp16_passes_the_first_width_that_underflows():
    def first_dead(dtype: torch.dtype, beta0: float = 0.1) -> int:
        return next(d for d in itertools.count(1)
                    if torch.tensor(math.exp(-2 * d * beta0), dtype=torch.float64).to(dtype).item() == 0)

    assert check("ex-hbt-fp16", tuple(first_dead(t) for t in (torch.float16, torch.bfloat16, torch.float32)))
    assert check("ex-hbt-fp16", (87, 464, 520))  # the solution's values


def test_hbt_decay_passes_a_scan_in_float32():
    d, beta0, steps = 768, 0.1, 200 * 50_000 // 128
    f = 1.0
    for _ in range(steps):
        f *= 1 - 5e-4 * 0.01
    grid = np.arange(0.5, 1.0, 1e-4)

    def last_alive(exponent: np.ndarray) -> float:
        alive = torch.exp(-torch.tensor(exponent, dtype=torch.float32)) > 0
        return float(grid[alive.numpy()].max())

    crossings = (last_alive(2 * d * beta0**grid * grid**4), last_alive(2 * d * beta0 * grid**4))
    assert check("ex-hbt-decay", (*crossings, f))
    assert check("ex-hbt-decay", (0.82, 0.91, 0.68))  # the solution's values


def test_hbt_decay_solution_quotes_the_exponents_at_f_after_the_run():
    f = expected("ex-hbt-decay")[2]
    text = (BOOK / "hyperbf-transformer.md").read_text()
    solution = text[text.index(":::{solution} ex-hbt-decay"):]
    quoted = re.search(r"an exponent near (\d+) in \(a\) and (\d+) in \(b\)", solution)
    assert quoted, "the solution no longer quotes the two exponents"
    assert (int(quoted[1]), int(quoted[2])) == (round(1536 * 0.1**f * f**4), round(153.6 * f**4))


def test_lrb_nuclear_passes_the_attained_suprema():
    r, s = 3, 2.0
    g = torch.Generator().manual_seed(0)
    U = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))[0]
    V = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))[0]
    A = s * U[:, :r] @ V[:, :r].T
    attained = (float((A / A.norm() * A).sum()),  # Frobenius ball
                float((torch.outer(U[:, 0], V[:, 0]) * A).sum()),  # nuclear-norm ball: u1 v1^T
                float((U[:, :r] @ V[:, :r].T * A).sum()))  # rank r, spectral norm 1
    for _ in range(50):  # nothing in the sets does better
        W = torch.randn(8, 6, generator=g, dtype=torch.float64)
        assert float((W / W.norm() * A).sum()) <= attained[0] + 1e-9
        assert float((W / torch.linalg.matrix_norm(W, "nuc") * A).sum()) <= attained[1] + 1e-9
    assert check("ex-lrb-nuclear", attained, r=r, s=s)
    assert check("ex-lrb-nuclear", (math.sqrt(r) * s, s, r * s), r=r, s=s)  # the solution's formulas


@pytest.mark.parametrize(("n1", "n2", "k", "stride"), [(8, 8, 2, 2), (9, 7, 3, 2), (10, 10, 3, 3), (8, 8, 2, 1)])
def test_snb_stride_passes_the_norm_of_a_strided_convolution(n1, n2, k, stride):
    w = torch.randn(1, 1, k, k, dtype=torch.float64)
    basis = torch.eye(n1 * n2, dtype=torch.float64).view(-1, 1, n1, n2)
    T = F.conv2d(basis, w, stride=stride).flatten(1).T
    assert check("ex-snb-stride", round(float(T.norm() ** 2 / w.norm() ** 2)), n1=n1, n2=n2, k=k, stride=stride)


def test_snb_resolution_passes_the_count_of_output_positions():
    def root_positions(side: int, depth: int = 3) -> int:  # sqrt(P_l) = side - l for 2x2 filters
        return math.prod(side - layer for layer in range(1, depth + 1))

    assert check("ex-snb-resolution", root_positions(16) / root_positions(8))
    assert check("ex-snb-resolution", 13)  # the solution's value


@pytest.mark.parametrize("noise_sd", [1.0, 0.5])
def test_sysid_units_passes_monte_carlo(noise_sd):
    rng = np.random.default_rng(0)
    signal = rng.standard_normal(400_000)
    prediction = signal + rng.standard_normal(signal.size)
    recording = signal + noise_sd * rng.standard_normal(signal.size)
    shrink = np.corrcoef(prediction, recording)[0, 1] / np.corrcoef(prediction, signal)[0, 1]
    assert check("ex-sysid-units", shrink, noise_sd=noise_sd)


def test_right_verdicts_say_so(capsys):
    assert check("ex-snb-stride", 16, n1=8, k=2, stride=2)
    assert capsys.readouterr().out.startswith("ex-snb-stride: right")
    assert expected("ex-snb-stride", n1=8, k=2, stride=2) == 16
