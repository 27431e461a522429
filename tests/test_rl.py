"""knowable.rl: VSOP's losses, shared dropout, the IMPALA networks, frame stacking and a smoke run."""

from __future__ import annotations

import importlib.util
import json
import math
import sys

import numpy as np
import pytest
import torch

from knowable._random import torch_generator
from knowable.rl import (
    ActorCritic,
    FrameStack,
    ImpalaActorCritic,
    ImpalaCNN,
    ImpalaCNN3D,
    OnPolicyConfig,
    clipped_surrogate_loss,
    dropout_weight_decay,
    gae,
    load_run,
    positive_advantage_loss,
    preset,
    train_agent,
    value_loss,
)
from knowable.rl._trainer import _optimizer


def test_positive_advantage_loss_is_the_formula_and_ignores_negative_advantages():
    log_prob = torch.tensor([-0.5, -1.0, -2.0, -0.1], requires_grad=True)
    adv = torch.tensor([1.5, -2.0, 0.0, 3.0])
    loss = positive_advantage_loss(log_prob, adv)
    expected = -(1.5 * -0.5 + 0.0 + 0.0 + 3.0 * -0.1) / 4
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    # d loss / d log_prob_i = -ReLU(A_i) / n: zero where the advantage is not positive.
    assert log_prob.grad.tolist() == pytest.approx([-1.5 / 4, 0.0, 0.0, -3.0 / 4])


def test_positive_advantage_loss_gradient_through_a_policy_is_zero_for_negative_units():
    gen = torch_generator(0)
    agent = ActorCritic(3, 2, 8, 1, 0.0, True, "relu", gen).eval()
    obs = torch.randn(6, 3, generator=gen)
    actions = torch.randn(6, 2, generator=gen)
    adv = torch.tensor([-1.0, -0.5, -3.0, -0.1, -2.0, -1.0])
    log_prob, _, _ = agent.evaluate(obs, actions)
    positive_advantage_loss(log_prob, adv).backward()
    for p in agent.parameters():
        assert p.grad is None or torch.count_nonzero(p.grad) == 0


def test_clipped_surrogate_matches_hand_computation():
    logp = torch.log(torch.tensor([1.5, 0.5, 1.0]))
    old = torch.zeros(3)
    adv = torch.tensor([2.0, 1.0, -1.0])
    loss = clipped_surrogate_loss(logp, old, adv, clip=0.2, normalize=False)
    # ratios 1.5, 0.5, 1.0 -> min(r A, clip(r) A) = 2.4, 0.5, -1.0
    assert loss.item() == pytest.approx(-(2.4 + 0.5 - 1.0) / 3)


def test_value_loss_plain_and_clipped():
    v, ret, old = torch.tensor([1.0, 3.0]), torch.tensor([2.0, 0.0]), torch.tensor([0.0, 2.9])
    assert value_loss(v, ret).item() == pytest.approx(0.5 * (1 + 9) / 2)
    # clipped values: 0 + clamp(1, -.2, .2) = 0.2 -> (1.8)^2 ; 2.9 + 0.1 = 3.0 -> 9
    assert value_loss(v, ret, old, 0.2).item() == pytest.approx(0.5 * (max(1, 1.8**2) + 9) / 2)
    with pytest.raises(ValueError, match="old_values"):
        value_loss(v, ret, clip=0.2)


def test_weight_decay_is_tied_to_dropout():
    assert dropout_weight_decay(0.025, 2048) == pytest.approx(0.975 / 4096)
    assert dropout_weight_decay(0.0, 1) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="dropout"):
        dropout_weight_decay(1.0, 10)
    cfg = preset("vsop")
    agent = ActorCritic(3, 1, 8, 1, cfg.dropout, True, "relu", torch_generator(0))
    opt = _optimizer(agent, cfg)
    assert isinstance(opt, torch.optim.AdamW)
    assert opt.param_groups[0]["weight_decay"] == pytest.approx((1 - 0.025) / (2 * 2048))
    assert type(_optimizer(agent, preset("ppo"))) is torch.optim.Adam


def test_one_dropout_mask_per_forward_shared_across_the_batch():
    agent = ActorCritic(4, 2, 64, 2, 0.3, False, "relu", torch_generator(1)).train()
    row = torch.randn(1, 4, generator=torch_generator(2))
    batch = row.repeat(32, 1)
    first = agent.value(batch)
    # every row went through the same sub-network ...
    assert torch.allclose(first, first[0].expand_as(first))
    # ... and the next forward pass samples a new one
    second = agent.value(batch)
    assert not torch.allclose(first[0], second[0])
    # evaluation mode: no dropout at all, deterministic
    agent.eval()
    assert torch.equal(agent.value(batch), agent.value(batch))


def test_gae_matches_the_recursive_definition():
    rng = np.random.default_rng(0)
    rewards = torch.tensor(rng.normal(size=(5, 2)), dtype=torch.float32)
    values = torch.tensor(rng.normal(size=(5, 2)), dtype=torch.float32)
    dones = torch.tensor([[0, 0], [0, 1], [0, 0], [1, 0], [0, 0]], dtype=torch.float32)
    next_value, next_done = torch.tensor([0.3, -0.2]), torch.tensor([0.0, 1.0])
    gamma, lam = 0.9, 0.7
    adv, ret = gae(rewards, values, dones, next_value, next_done, gamma, lam)
    for e in range(2):
        for t in range(5):
            total, discount = 0.0, 1.0
            for k in range(t, 5):
                nxt_done = dones[k + 1, e] if k < 4 else next_done[e]
                nxt_val = values[k + 1, e] if k < 4 else next_value[e]
                delta = rewards[k, e] + gamma * nxt_val * (1 - nxt_done) - values[k, e]
                total += discount * delta
                if nxt_done:
                    break
                discount *= gamma * lam
            assert adv[t, e].item() == pytest.approx(float(total), abs=1e-5)
    assert torch.allclose(ret, adv + values)


def test_impala_3d_with_one_frame_and_temporal_kernel_one_equals_2d():
    gen = torch_generator(3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net2d, net3d = ImpalaCNN(3, 16, 1), ImpalaCNN3D(3, 16, 1, temporal_kernel=1)
    state3d = {k: (v.unsqueeze(2) if v.ndim == 4 else v) for k, v in net2d.state_dict().items()}
    net3d.load_state_dict(state3d)
    frames = torch.randint(0, 256, (4, 16, 16, 3), generator=gen).float()
    out2d = net2d(frames)
    out3d = net3d(frames[:, None])
    assert net2d.out_features == net3d.out_features == out2d.shape[1]
    assert torch.allclose(out2d, out3d, atol=1e-5)


def test_impala_3d_shapes_and_actor_critic_heads():
    net = ImpalaCNN3D(3, 16, width=2, temporal_kernel=3)
    model = ImpalaActorCritic(
        net, n_actions=15, hidden_size=32, dropout=0.1, generator=torch_generator(0)
    )
    logits, values = model(torch.zeros(5, 4, 16, 16, 3))
    assert logits.shape == (5, 15) and values.shape == (5,)
    with pytest.raises(ValueError, match="odd"):
        ImpalaCNN3D(temporal_kernel=2)


def test_frame_stack_order_and_reset():
    stack = FrameStack(3)
    frames = [np.full((2, 1), float(k)) for k in range(4)]
    out = stack.reset(frames[0])
    assert out[:, :, 0].tolist() == [[0, 0, 0], [0, 0, 0]]
    out = stack.step(frames[1], np.array([False, False]))
    out = stack.step(frames[2], np.array([False, True]))
    assert out[:, :, 0].tolist() == [[0, 1, 2], [2, 2, 2]]
    out = stack.step(frames[3], np.array([False, False]))
    assert out[:, :, 0].tolist() == [[1, 2, 3], [2, 2, 3]]
    with pytest.raises(ValueError, match="one row per environment"):
        stack.step(np.zeros((3, 1)), np.zeros(3, bool))
    with pytest.raises(RuntimeError, match="reset"):
        FrameStack(2).step(frames[0], np.zeros(2, bool))


def test_presets_and_config_validation():
    assert preset("vsop").positive_advantages and preset("vsop").ratio_clip is None
    assert preset("ppo").ratio_clip == 0.2 and preset("ppo").dropout == 0.0
    assert not preset("vsop-no-relu").positive_advantages
    assert not preset("vsop-no-spectral").spectral_norm
    assert preset("vsop-no-dropout").dropout == 0.0
    assert preset("vsop", num_steps=64).num_steps == 64
    with pytest.raises(ValueError, match="algorithm must be one of"):
        preset("sac")
    with pytest.raises(ValueError, match="unknown OnPolicyConfig field"):
        preset("vsop", learning_rte=1.0)
    with pytest.raises(ValueError, match="divisible"):
        OnPolicyConfig(num_steps=100, num_minibatches=32)
    with pytest.raises(ValueError, match="dropout"):
        OnPolicyConfig(dropout=1.0)


def test_missing_gymnasium_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    with pytest.raises(ImportError, match=r"knowable\[rl\]"):
        train_agent("InvertedPendulum-v5", total_steps=10)


needs_mujoco = pytest.mark.skipif(
    importlib.util.find_spec("gymnasium") is None or importlib.util.find_spec("mujoco") is None,
    reason="the MuJoCo environments need the extra knowable[rl] (gymnasium[mujoco])",
)


def _tiny() -> OnPolicyConfig:
    return preset("vsop", num_steps=64, num_minibatches=4, update_epochs=2, hidden_size=16)


@needs_mujoco
def test_training_is_deterministic_and_leaves_the_global_rng_alone(tmp_path):
    state = torch.random.get_rng_state()
    first = train_agent("InvertedPendulum-v5", _tiny(), total_steps=128, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)
    second = train_agent("InvertedPendulum-v5", _tiny(), total_steps=128, seed=7)
    cols = ["policy_loss", "value_loss", "approx_kl"]
    np.testing.assert_array_equal(first.updates[cols].to_numpy(), second.updates[cols].to_numpy())
    other = train_agent("InvertedPendulum-v5", _tiny(), total_steps=128, seed=8)
    assert not np.array_equal(first.updates[cols].to_numpy(), other.updates[cols].to_numpy())


@needs_mujoco
def test_checkpoint_round_trip_and_tampering(tmp_path):
    run = train_agent("InvertedPendulum-v5", _tiny(), total_steps=64, seed=0)
    folder = run.save(tmp_path / "run")
    loaded = load_run(folder)
    np.testing.assert_allclose(loaded.obs_mean, run.obs_mean)
    for key, value in run.agent.state_dict().items():
        assert torch.equal(loaded.agent.state_dict()[key], value)
    np.testing.assert_array_equal(loaded.evaluate(1), run.evaluate(1))
    config = json.loads((folder / "config.json").read_text())
    config["config"]["hidden_size"] = 32
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="expected"):
        load_run(folder)
    (folder / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"not a knowable\.rl run"):
        load_run(folder)


@needs_mujoco
def test_unknown_or_discrete_environment_is_refused():
    with pytest.raises(ValueError, match="unknown Gymnasium environment"):
        train_agent("NoSuchEnv-v0", _tiny(), total_steps=64)
    with pytest.raises(ValueError, match="discrete action space"):
        train_agent("CartPole-v1", _tiny(), total_steps=64)


@needs_mujoco
def test_vsop_smoke_run_on_inverted_pendulum_learns():
    run = train_agent("InvertedPendulum-v5", preset("vsop"), total_steps=20_480, seed=0)
    assert run.meta["total_steps"] == 20_480
    assert np.isfinite(run.updates[["policy_loss", "value_loss"]].to_numpy()).all()
    returns = run.episodes["return"].to_numpy()
    # 20k steps take a random policy's ~10-step episodes to hundreds of steps
    assert returns[-5:].mean() > 10 * returns[:5].mean()
    assert math.isfinite(run.evaluate(1)[0])


@needs_mujoco
def test_cli_train_and_evaluate(tmp_path):
    from typer.testing import CliRunner

    from knowable.cli import app

    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "rl",
            "train",
            "--env",
            "InvertedPendulum-v5",
            "--steps",
            "2048",
            "--out",
            str(out),
            "--eval-episodes",
            "2",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    for name in ("weights.safetensors", "config.json", "episodes.csv", "curve.png"):
        assert (out / name).exists()
    evaluation = json.loads((out / "evaluation.json").read_text())
    result = runner.invoke(app, ["rl", "evaluate", "--run", str(out), "--episodes", "2"])
    assert result.exit_code == 0, result.output
    assert f"{evaluation['mean_return']:.1f}" in result.output


def test_cli_rejects_unknown_algorithm(tmp_path):
    from typer.testing import CliRunner

    from knowable.cli import app

    result = CliRunner().invoke(
        app, ["rl", "train", "--env", "Hopper-v5", "--algo", "sac", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "--algo must be one of" in result.output


@pytest.mark.skipif(
    importlib.util.find_spec("procgen") is None,
    reason="ProcGen needs the procgen2 wheel (knowable[procgen], installed as docs/rl.md says)",
)
@pytest.mark.parametrize("network", ["3d", "2d"])
def test_procgen_smoke_run_on_coinrun(network):
    from knowable.rl import train_procgen

    run = train_procgen("coinrun", network, total_steps=64, num_envs=2, num_steps=16, frames=2)
    assert run.steps == 64
    assert all(torch.isfinite(p).all() for p in run.model.parameters())


def test_procgen_without_the_wheel_names_the_extra(monkeypatch):
    from knowable.rl import train_procgen

    monkeypatch.setitem(sys.modules, "procgen", None)
    with pytest.raises(ImportError, match=r"knowable\[procgen\]"):
        train_procgen("coinrun", "2d", total_steps=8)
