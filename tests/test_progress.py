"""Progress output of network fits: the early-stopping state (issue 17, finding 3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from knowable.models import UncertainRegressor
from knowable.models._base import epoch_status
from knowable.models._training import EpochReport, TrainingConfig, train_module


def _scripted_fit(monkeypatch, losses: list[float], patience: int, max_epochs: int):
    """Train a one-weight module whose monitored loss follows ``losses`` epoch by epoch."""
    import knowable.models._training as training

    module = nn.Linear(1, 1)
    script = iter(losses)
    monkeypatch.setattr(training, "_mean_loss", lambda *args, **kwargs: next(script))

    def loss_fn(mod, batch):
        # training batches: a real loss so that the optimiser steps
        return ((mod(batch["x"]) - batch["y"]) ** 2).mean()

    reports: list[EpochReport] = []
    data = {"x": torch.zeros(8, 1), "y": torch.zeros(8, 1)}
    config = TrainingConfig(max_epochs=max_epochs, patience=patience, validation_fraction=0.5)
    history = train_module(module, loss_fn, data, config, 0, on_report=reports.append)
    return history, reports


def test_reports_follow_the_early_stopping_rule(monkeypatch):
    losses = [3.0, 2.0, 2.5, 1.5, 1.6, 1.7, 1.8, 0.1, 0.0]
    history, reports = _scripted_fit(monkeypatch, losses, patience=3, max_epochs=len(losses))
    # best at epoch 3 (1.5), then three epochs without improvement: stop after epoch 6
    assert len(reports) == len(history.train_loss) == 7
    assert [r.best_epoch for r in reports] == [0, 1, 1, 3, 3, 3, 3]
    assert [r.best_loss for r in reports] == [3.0, 2.0, 2.0, 1.5, 1.5, 1.5, 1.5]
    assert [r.patience_left for r in reports] == [3, 3, 2, 3, 2, 1, 0]
    assert [r.stopped for r in reports] == [False] * 6 + [True]
    assert reports[-1].best_epoch == history.best_epoch
    assert all(r.validated for r in reports)
    assert "stopped early at epoch 7" in epoch_status(0, 1, reports[-1])


def test_last_epoch_is_reported_as_stopped_with_patience_left(monkeypatch):
    _, reports = _scripted_fit(monkeypatch, [3.0, 2.0, 1.0], patience=5, max_epochs=3)
    assert [r.stopped for r in reports] == [False, False, True]
    assert reports[-1].patience_left == 5
    assert epoch_status(1, 4, reports[-1]) == (
        "member 2/4 · epoch 3 · best val loss 1 (epoch 3) · patience 5 left"
    )


def test_progress_bar_shows_the_early_stopping_state(monkeypatch):
    """A verbose fit feeds the bar one status per epoch: member, best loss, patience."""
    from rich.progress import Progress

    statuses: list[str] = []
    real_update = Progress.update

    def update(self, task_id, **kwargs):
        if kwargs.get("status"):
            statuses.append(kwargs["status"])
        return real_update(self, task_id, **kwargs)

    monkeypatch.setattr(Progress, "update", update)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=60)
    model = UncertainRegressor(
        "ensemble", n_members=2, max_epochs=3, hidden_size=8, random_state=0, verbose=True
    ).fit(X, y)
    assert len(statuses) == sum(len(h.train_loss) for h in model.history_) == 6
    assert statuses[0].startswith("member 1/2 · epoch 1 · best val loss ")
    assert statuses[-1].startswith("member 2/2 · epoch 3 · best val loss ")
    assert all("patience" in s for s in statuses)


def test_silent_fit_reports_nothing(monkeypatch):
    from rich.progress import Progress

    def fail(*args, **kwargs):
        raise AssertionError("a progress bar was drawn")

    monkeypatch.setattr(Progress, "__init__", fail)
    X = np.random.default_rng(1).normal(size=(30, 2))
    UncertainRegressor("ensemble", n_members=1, max_epochs=2, random_state=0).fit(X, X[:, 0])


@pytest.mark.parametrize("patience", [1, 2])
def test_one_report_per_epoch_run(monkeypatch, patience):
    """Patience counts epochs without improvement; each epoch run is reported once."""
    losses = [1.0, 1.1, 0.5, 0.6, 0.7, 0.8]
    history, reports = _scripted_fit(monkeypatch, losses, patience=patience, max_epochs=len(losses))
    expected = {1: 2, 2: 5}[patience]
    assert len(history.train_loss) == len(reports) == expected
