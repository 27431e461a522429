"""knowable.circuits: the five hypothesis tests and the edge-masked transformer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy import stats

from knowable._random import torch_generator
from knowable.circuits import (
    EdgeMaskedTransformer,
    TransformerSpec,
    equivalence_test,
    hsic,
    independence_test,
    minimality_test,
    partial_necessity_test,
    sufficiency_test,
)


def test_equivalence_test_has_its_nominal_size_at_the_null_boundary():
    # P(Δ > 0) = 1/2 + ε lies on the null's boundary: rejections must be at most α.
    rng = np.random.default_rng(0)
    n, eps, alpha, reps = 300, 0.1, 0.05, 1500
    rejections = 0
    for _ in range(reps):
        delta = np.where(rng.random(n) < 0.5 + eps, 1.0, -1.0)
        rejections += equivalence_test(delta, np.zeros(n), eps, alpha).reject
    tolerance = 3 * math.sqrt(alpha * (1 - alpha) / reps)
    assert rejections / reps <= alpha + tolerance


def test_equivalence_test_has_power_when_the_circuit_is_equivalent():
    rng = np.random.default_rng(1)
    n, reps = 600, 200
    power = np.mean(
        [equivalence_test(rng.normal(size=n), np.zeros(n), 0.1, 0.05).holds for _ in range(reps)]
    )
    assert power > 0.9
    # a circuit that is better on 80 % of examples is not equivalent
    delta = np.r_[np.ones(480), -np.ones(120)]
    assert not equivalence_test(delta, np.zeros(600)).holds


def test_equivalence_test_refuses_the_degenerate_case():
    with pytest.raises(ValueError, match="degenerate"):
        equivalence_test(np.ones(10), np.ones(10))
    with pytest.raises(ValueError, match="epsilon"):
        equivalence_test(np.ones(3), np.zeros(3), epsilon=0.5)
    with pytest.raises(ValueError, match="NaN"):
        equivalence_test([np.nan, 1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="same length"):
        equivalence_test([1.0, 2.0], [0.0])


def test_hsic_equals_the_matrix_formula():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=12), rng.normal(size=12)

    def gram(v):
        d = np.abs(v[:, None] - v[None, :])
        sigma = np.median(d[np.triu_indices(12, 1)])
        return np.exp(-(d**2) / (2 * sigma**2))

    h = np.eye(12) - 1 / 12
    expected = np.trace(gram(x) @ h @ gram(y) @ h) / 11**2
    assert hsic(x, y) == pytest.approx(expected, rel=1e-10)


def test_independence_p_values_are_uniform_under_independence_and_small_under_dependence():
    rng = np.random.default_rng(3)
    p_values = [
        independence_test(
            rng.normal(size=30), rng.normal(size=30), n_permutations=99, random_state=k
        ).p_value
        for k in range(200)
    ]
    # the permutation p-value is discrete on {1/100, ..., 1}: jitter within its cell
    jittered = np.array(p_values) - rng.uniform(0, 0.01, size=200)
    assert stats.kstest(jittered, "uniform").pvalue > 0.01
    x = rng.normal(size=40)
    dependent = independence_test(x, x**2 + 0.1 * rng.normal(size=40), 199, random_state=0)
    assert dependent.p_value <= 0.01 and dependent.reject and not dependent.holds


def test_sufficiency_and_partial_necessity_decisions():
    random_metrics = np.linspace(1.0, 2.0, 100)
    good = sufficiency_test(0.1, random_metrics)
    assert good.statistic == 100 and good.holds
    empty = sufficiency_test(5.0, random_metrics)
    assert empty.statistic == 0 and not empty.holds
    # beating 90 of 100 random circuits is not evidence of beating more than q* = 0.9
    borderline = sufficiency_test(random_metrics[10] - 1e-9, random_metrics)
    assert borderline.statistic == 90 and not borderline.holds
    assert partial_necessity_test(3.0, random_metrics).holds
    assert not partial_necessity_test(1.5, random_metrics).holds


def test_minimality_flags_an_edge_no_better_than_random_and_corrects_with_holm():
    reference = np.linspace(0.0, 1.0, 200)
    effects = np.array([5.0, 6.0, 0.3])
    result = minimality_test(effects, reference)
    assert result.details["not_minimal_edges"] == [2]
    assert not result.holds
    raw = np.array(result.details["raw_p_values"])
    order = np.argsort(raw)
    holm = np.maximum.accumulate(np.minimum(1, (3 - np.arange(3)) * raw[order]))
    np.testing.assert_allclose(np.array(result.details["p_values"])[order], holm)
    assert minimality_test(effects[:2], reference).holds
    with pytest.raises(ValueError, match="correction"):
        minimality_test(effects, reference, correction="fdr")


def _model(d_mlp: int = 8, causal: bool = True) -> EdgeMaskedTransformer:
    spec = TransformerSpec(
        vocab_size=7,
        n_ctx=6,
        d_model=8,
        n_layers=2,
        n_heads=2,
        d_head=4,
        d_mlp=d_mlp,
        causal=causal,
    )
    model = EdgeMaskedTransformer(spec)
    gen = torch_generator(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen))
    return model.double()


def _reference_logits(model: EdgeMaskedTransformer, tokens: torch.Tensor) -> torch.Tensor:
    s = model.spec
    seq = tokens.shape[1]
    resid = model.W_E[tokens] + model.W_pos[:seq]
    for layer in range(s.n_layers):
        heads = []
        for h in range(s.n_heads):
            q = resid @ model.W_Q[layer, h] + model.b_Q[layer, h]
            k = resid @ model.W_K[layer, h] + model.b_K[layer, h]
            v = resid @ model.W_V[layer, h] + model.b_V[layer, h]
            att = q @ k.transpose(1, 2) / math.sqrt(s.d_head)
            if s.causal:
                att = att.masked_fill(torch.triu(torch.ones(seq, seq, dtype=bool), 1), -torch.inf)
            heads.append(torch.softmax(att, -1) @ v @ model.W_O[layer, h])
        resid = resid + sum(heads) + model.b_O[layer]
        if s.d_mlp:
            hidden = torch.relu(resid @ model.W_in[layer] + model.b_in[layer])
            resid = resid + hidden @ model.W_out[layer] + model.b_out[layer]
    return resid @ model.W_U


@pytest.mark.parametrize("d_mlp,causal", [(8, True), (0, True), (8, False)])
def test_full_circuit_is_the_ordinary_transformer(d_mlp, causal):
    model = _model(d_mlp, causal)
    tokens = torch.randint(0, 7, (3, 6), generator=torch_generator(1))
    with torch.no_grad():
        reference = _reference_logits(model, tokens)
        torch.testing.assert_close(model(tokens), reference)
        torch.testing.assert_close(model(tokens, model.edges), reference)
        # resample ablation towards the same input changes nothing
        torch.testing.assert_close(model(tokens, [], corrupted=tokens), reference)


def test_empty_circuit_and_knockouts():
    model = _model()
    tokens = torch.randint(0, 7, (2, 5), generator=torch_generator(2))
    with torch.no_grad():
        assert torch.count_nonzero(model(tokens, [])) == 0  # zero ablation: out reads nothing
        torch.testing.assert_close(model(tokens, model.edges, invert=True), model(tokens, []))
        torch.testing.assert_close(model(tokens, [], invert=True), model(tokens))
        direct = model(tokens, [("embed", "out")])
        torch.testing.assert_close(direct, (model.W_E[tokens] + model.W_pos[:5]) @ model.W_U)
    assert len(model.edges) == len(set(model.edges))
    # 2 layers x 2 heads x 3 inputs over the nodes before them, MLP inputs, and the output
    n_q = 3 * 2 * 1 + 3 * 2 * 4
    assert len(model.edges) == n_q + (3 + 6) + 7
    with pytest.raises(ValueError, match="not an edge"):
        model(tokens, [("m1", "a0.h0.q")])


def _planted_model() -> EdgeMaskedTransformer:
    """Two layers of four heads: head a0.h0 copies the current token into the dimensions
    the unembedding reads; every other head and the embedding write elsewhere. The task
    path is embed -> a0.h0.v and a0.h0 -> out (its query and key only shape the pattern)."""
    spec = TransformerSpec(
        vocab_size=3,
        n_ctx=4,
        d_model=6,
        n_layers=2,
        n_heads=4,
        d_head=3,
        d_vocab_out=3,
        causal=True,
    )
    model = EdgeMaskedTransformer(spec).double()
    gen = torch_generator(5)
    with torch.no_grad():
        model.W_E.zero_()
        model.W_E[:, :3] = torch.eye(3)
        model.W_pos.normal_(0, 0.1, generator=gen)
        model.W_pos[:, 3:] = 0
        model.W_Q.normal_(0, 0.3, generator=gen)
        model.W_K.normal_(0, 0.3, generator=gen)
        model.W_Q[:, :, 3:] = 0
        model.W_K[:, :, 3:] = 0
        model.W_V.zero_()
        model.W_V[:, :, :3, :] = torch.eye(3)
        model.W_O.zero_()
        model.W_O[:, :, :, :3] = 0.5 * torch.eye(3)  # every head writes an unread subspace
        model.W_O[0, 0, :, :3] = 0
        model.W_O[0, 0, :, 3:] = 4 * torch.eye(3)  # ... but a0.h0 writes the read one
        model.W_U.zero_()
        model.W_U[3:, :] = torch.eye(3)
    return model.eval()


def _planted_scores(model):
    tokens = torch.randint(0, 3, (60, 4), generator=torch_generator(6))

    def score(circuit, invert):
        with torch.no_grad():
            logits = torch.log_softmax(model(tokens, circuit, invert), -1)
        return logits.gather(-1, tokens[..., None]).squeeze(-1).mean(1).numpy()

    return score


def test_support_circuit_finds_the_planted_path():
    from knowable.circuits import support_circuit

    model = _planted_model()
    circuit = support_circuit(model)
    assert ("a0.h0", "out") in circuit and ("embed", "a0.h0.v") in circuit
    assert ("a0.h1", "out") not in circuit and ("embed", "out") not in circuit
    assert not any(receiver.startswith("a1.") for _, receiver in circuit)


def test_planted_circuit_passes_sufficiency_and_necessity_and_empty_circuit_fails():
    from knowable.circuits import run_circuit_tests, support_circuit

    model = _planted_model()
    score = _planted_scores(model)
    circuit = support_circuit(model)
    results = run_circuit_tests(
        score, model.edges, circuit, n_random=60, n_permutations=99, random_state=0
    )
    assert results["equivalence"].details.get("degenerate")  # exact circuit: Δ ≡ 0
    assert results["sufficiency"].holds
    # about 1 random 4-edge knockout in 10 also cuts the single task path (a tie), so with
    # q* = 0.9 necessity is not significant here; the candidate still beats >= 80 % of them
    assert results["partial_necessity"].statistic >= 0.8 * 60
    empty = run_circuit_tests(
        score, model.edges, [], tests=["sufficiency"], n_random=60, random_state=0
    )
    assert not empty["sufficiency"].holds
    # a redundant edge (into the unread head) makes the circuit not minimal
    padded = [*circuit, ("embed", "a1.h2.v")]
    minimal = run_circuit_tests(
        score, model.edges, padded, tests=["minimality"], n_random=60, random_state=0
    )
    assert len(padded) - 1 in minimal["minimality"].details["not_minimal_edges"]
    with pytest.raises(ValueError, match="tests must be among"):
        run_circuit_tests(score, model.edges, circuit, tests=["faithfulness"])


needs_tracr = pytest.mark.skipif(
    __import__("importlib").util.find_spec("tracr") is None,
    reason="the Tracr tasks need the extra knowable[circuits] (tracr-pypi, JAX)",
)


@needs_tracr
@pytest.mark.parametrize("task", ["tracr-reverse", "tracr-proportion"])
def test_tracr_canonical_circuit_passes_and_random_circuits_fail(task):
    from knowable.circuits import canonical_circuit, run_circuit_tests, tracr_task

    t = tracr_task(task)
    circuit = canonical_circuit(t)
    torch.testing.assert_close(
        torch.as_tensor(t.scores(circuit)), torch.as_tensor(t.scores()), rtol=0, atol=1e-5
    )
    res = run_circuit_tests(
        t.scores,
        t.model.edges,
        circuit,
        tests=["minimality", "sufficiency"],
        n_random=100,
        random_state=0,
    )
    assert res["minimality"].holds and res["sufficiency"].holds
    rng = np.random.default_rng(1)
    edges = t.model.edges
    random_circuit = [edges[i] for i in rng.choice(len(edges), len(circuit), replace=False)]
    rand = run_circuit_tests(
        t.scores, edges, random_circuit, tests=["sufficiency"], n_random=100, random_state=0
    )
    assert not rand["sufficiency"].holds


def test_tracr_without_the_extra_names_it(monkeypatch):
    import sys

    from knowable.circuits import tracr_task

    monkeypatch.setitem(sys.modules, "tracr", None)
    monkeypatch.setitem(sys.modules, "tracr.compiler", None)
    with pytest.raises(ImportError, match=r"knowable\[circuits\]"):
        tracr_task("tracr-reverse")


def test_equivalence_treats_float_noise_as_ties():
    with pytest.raises(ValueError, match="degenerate"):
        equivalence_test(np.full(6, 1.0 + 1e-9), np.ones(6))
    assert equivalence_test(np.full(6, 1.0 + 1e-9), np.ones(6), atol=0).statistic == 6


def test_cli_rejects_bad_options_before_loading_anything(tmp_path):
    from typer.testing import CliRunner

    from knowable.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["circuits", "test", "--task", "gpt2-ioi", "--out", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 1 and "--task must be one of" in result.output
    result = runner.invoke(app, ["circuits", "test", "--task", "tracr-reverse", "--tests", "faith"])
    assert result.exit_code == 1 and "unknown test" in result.output


@needs_tracr
def test_cli_runs_the_tests_on_tracr_proportion(tmp_path):
    from typer.testing import CliRunner

    from knowable.cli import app

    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        app,
        [
            "circuits",
            "test",
            "--task",
            "tracr-proportion",
            "--circuit",
            "empty",
            "--tests",
            "sufficiency",
            "--n-random",
            "30",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["results"]["sufficiency"]["holds"] is False
    assert out.with_suffix(".png").exists()


def test_minimality_is_undefined_for_the_full_and_the_empty_circuit():
    from knowable.circuits import run_circuit_tests

    model = _planted_model()
    score = _planted_scores(model)
    for circuit in (model.edges, []):
        res = run_circuit_tests(score, model.edges, circuit, tests=["minimality"], n_random=5)
        assert "not defined" in res["minimality"].details["undefined"]
        assert not res["minimality"].holds


def test_hsic_treats_floating_point_noise_as_constant():
    rng = np.random.default_rng(4)
    y = rng.normal(size=30)
    noise = 1e-17 * rng.normal(size=30)
    assert hsic(noise, y) == 0.0
    assert independence_test(noise, y, n_permutations=49, random_state=0).p_value == 1.0
