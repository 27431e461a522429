"""The one training loop: minibatch Adam, validation split, early stopping.

Seeded end to end: the validation split and the minibatch order come from the
``seed`` argument, dropout masks from a generator attached to the module, and
the best-validation weights are restored at the end.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .._random import torch_generator
from ._layers import attach_generator

__all__ = ["EpochReport", "TrainingConfig", "TrainingHistory", "resolve_device", "train_module"]

LossFn = Callable[[nn.Module, Mapping[str, torch.Tensor]], torch.Tensor]


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings shared by every model.

    Parameters
    ----------
    max_epochs : int
        Upper limit on passes over the training split.
    batch_size : int
        Minibatch size.
    learning_rate : float
        Adam step size.
    weight_decay : float
        Adam (L2) weight decay.
    patience : int
        Epochs without validation improvement before stopping.
    validation_fraction : float
        Share of the data held out for early stopping (0 disables it: the
        training loss is then monitored and all epochs run unless it stalls).
    device : torch.device
        Where to train.
    min_steps_per_epoch : int
        On small data an "epoch" is at least this many minibatch steps (drawn
        with replacement), so that early stopping is not dominated by noise.
    """

    max_epochs: int = 500
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 20
    validation_fraction: float = 0.2
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    min_steps_per_epoch: int = 0


@dataclass(frozen=True)
class EpochReport:
    """Early-stopping state after one epoch (what a progress bar shows).

    Parameters
    ----------
    epoch : int
        The epoch just finished (0-based).
    train_loss : float
        Its mean training loss.
    valid_loss : float
        Its monitored loss (validation, or training when there is no validation split).
    best_loss : float
        The best monitored loss so far (the weights that will be kept).
    best_epoch : int
        The epoch of ``best_loss``.
    patience_left : int
        Epochs without improvement still allowed before stopping (0: stops now).
    stopped : bool
        Whether training stops after this epoch (patience exhausted or the last epoch).
    validated : bool
        Whether the monitored loss is a validation loss (False: the training loss).
    """

    epoch: int
    train_loss: float
    valid_loss: float
    best_loss: float
    best_epoch: int
    patience_left: int
    stopped: bool
    validated: bool = True


@dataclass
class TrainingHistory:
    """Per-epoch losses and the epoch whose weights were kept."""

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; other values pass through.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...

    Returns
    -------
    torch.device
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:i]', got {device!r}.") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was requested but CUDA is not available; use device='auto' or 'cpu'."
        )
    return resolved


def _split_indices(
    n: int, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    perm = rng.permutation(n)
    n_valid = round(n * fraction) if fraction > 0 else 0
    if fraction > 0 and (n_valid < 1 or n - n_valid < 1):
        raise ValueError(
            f"validation_fraction={fraction} leaves an empty training or validation split for n={n}."
        )
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])


def _mean_loss(
    module: nn.Module, loss_fn: LossFn, data: Mapping[str, torch.Tensor], batch_size: int
) -> float:
    n = next(iter(data.values())).shape[0]
    total = 0.0
    with torch.no_grad():
        for start in range(0, n, max(batch_size, 1024)):
            batch = {k: v[start : start + max(batch_size, 1024)] for k, v in data.items()}
            total += float(loss_fn(module, batch)) * next(iter(batch.values())).shape[0]
    return total / n


def train_module(
    module: nn.Module,
    loss_fn: LossFn,
    data: Mapping[str, torch.Tensor],
    config: TrainingConfig,
    seed: int,
    *,
    parameter_groups: list[dict] | None = None,
    on_epoch: Callable[[int, float, float], None] | None = None,
    validation: Mapping[str, torch.Tensor] | None = None,
    on_report: Callable[[EpochReport], None] | None = None,
) -> TrainingHistory:
    """Train ``module`` in place by minimising ``loss_fn`` with early stopping.

    Parameters
    ----------
    module : torch.nn.Module
        The network, already on ``config.device``.
    loss_fn : callable
        ``loss_fn(module, batch) -> scalar tensor``: the mean loss of a batch
        (a dict of tensors with the same keys as ``data``).
    data : mapping of str to torch.Tensor
        Training tensors, all with ``n`` rows, on ``config.device``.
    config : TrainingConfig
        Optimisation settings.
    seed : int
        Seed of the validation split, minibatch order and dropout masks.
    parameter_groups : list of dict, optional
        Adam parameter groups (e.g. a larger learning rate for a GP head);
        default: all parameters with ``config.learning_rate``.
    on_epoch : callable, optional
        ``on_epoch(epoch, train_loss, valid_loss)``, e.g. to advance a progress bar.
    validation : mapping of str to torch.Tensor, optional
        A separate early-stopping set with the keys of ``data``. When given,
        every row of ``data`` is trained on and ``config.validation_fraction``
        is ignored.
    on_report : callable, optional
        ``on_report(EpochReport)`` after every epoch's early-stopping update
        (best loss so far, patience left, whether training stops).

    Returns
    -------
    TrainingHistory
    """
    n = next(iter(data.values())).shape[0]
    rng = np.random.default_rng(seed)
    device = config.device
    if validation is not None:
        if set(validation) != set(data):
            raise ValueError(f"validation has keys {sorted(validation)}, expected {sorted(data)}.")
        train_idx = np.arange(n)
        train_data = dict(data)
        valid_data: dict[str, torch.Tensor] | None = dict(validation)
    else:
        train_idx, valid_idx = _split_indices(n, config.validation_fraction, rng)
        train_data = {k: v[torch.as_tensor(train_idx, device=v.device)] for k, v in data.items()}
        valid_data = (
            {k: v[torch.as_tensor(valid_idx, device=v.device)] for k, v in data.items()}
            if len(valid_idx)
            else None
        )

    gen = torch_generator(int(rng.integers(2**62)), device="cpu")
    attach_generator(module, torch_generator(int(rng.integers(2**62)), device=device))
    groups = (
        parameter_groups
        if parameter_groups is not None
        else [{"params": list(module.parameters())}]
    )
    # foreach: one fused kernel per op over all parameters (torch defaults to the per-tensor
    # loop on CPU, which dominated small-model steps); same arithmetic
    optimiser = torch.optim.Adam(
        groups, lr=config.learning_rate, weight_decay=config.weight_decay, foreach=True
    )

    n_train = len(train_idx)
    batch_size = min(config.batch_size, n_train)
    natural_steps = int(np.ceil(n_train / batch_size))
    resample = config.min_steps_per_epoch > natural_steps
    steps = config.min_steps_per_epoch if resample else natural_steps
    history = TrainingHistory()
    best_loss, best_state, since_best = float("inf"), copy.deepcopy(module.state_dict()), 0
    for epoch in range(config.max_epochs):
        module.train()
        if resample:  # small data: a fixed number of minibatches drawn with replacement
            order = torch.randint(0, n_train, (steps * batch_size,), generator=gen)
        else:
            order = torch.randperm(n_train, generator=gen)
        running = 0.0
        for step in range(steps):
            idx = order[step * batch_size : (step + 1) * batch_size].to(device)
            batch = {k: v[idx] for k, v in train_data.items()}
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(module, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"training loss became {loss.item()} at epoch {epoch}; lower learning_rate or check the inputs."
                )
            loss.backward()
            optimiser.step()
            running += loss.item() * idx.numel()
        train_loss = running / len(order)
        module.eval()
        monitored = (
            _mean_loss(module, loss_fn, valid_data, batch_size)
            if valid_data is not None
            else train_loss
        )
        history.train_loss.append(train_loss)
        history.valid_loss.append(monitored)
        if on_epoch is not None:
            on_epoch(epoch, train_loss, monitored)
        threshold = best_loss - 1e-6 * abs(best_loss) if np.isfinite(best_loss) else np.inf
        stop = False
        if monitored < threshold:
            best_loss, since_best, history.best_epoch = monitored, 0, epoch
            best_state = copy.deepcopy(module.state_dict())
        else:
            since_best += 1
            stop = since_best >= config.patience
        if on_report is not None:
            on_report(
                EpochReport(
                    epoch=epoch,
                    train_loss=train_loss,
                    valid_loss=monitored,
                    best_loss=best_loss,
                    best_epoch=history.best_epoch,
                    patience_left=max(config.patience - since_best, 0),
                    stopped=stop or epoch == config.max_epochs - 1,
                    validated=valid_data is not None,
                )
            )
        if stop:
            break
    module.load_state_dict(best_state)
    module.eval()
    return history
