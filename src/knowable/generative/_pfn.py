"""A prior-fitted network (PFN): a small transformer trained here to be a posterior predictive.

Context tokens embed ``(x, y)``, query tokens embed ``x``; context tokens attend to each other and
to a learned null token, queries attend to the context (and the null token) only, never to each
other, so each query's prediction is ``p(y | x, D)`` alone. A Gaussian head gives the mean and
standard deviation. Trained on tasks drawn from a :class:`BayesianPolynomialRegression` prior
(Mueller et al.'s PFN recipe; the in-context learner of the hallucination-rate paper's synthetic
experiments), so its exact target is that oracle's Student-t predictive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._persistence import read_module_file, save_module_file
from .._random import check_random_state, torch_generator
from .._validation import check_positive_int, check_real
from ._cgm import ConditionalGenerativeModel
from ._oracles import BayesianPolynomialRegression

__all__ = [
    "PFNRegression",
    "load_pfn_module",
    "save_pfn_module",
    "shipped_weights",
    "train_pfn",
]

WEIGHTS_FILE = "pfn_poly3.safetensors"
CONFIG_FILE = "pfn_poly3.json"


def shipped_weights() -> Path:
    """Path of the PFN shipped in ``knowable/generative/weights`` (trained by scripts/train_pfn.py)."""
    return Path(__file__).resolve().parent / "weights" / WEIGHTS_FILE


def _module_class():
    import torch
    from torch import nn

    class PFNModule(nn.Module):
        """Transformer encoder over [null; context; queries] with a query-to-context mask."""

        def __init__(self, d_model: int = 64, n_layers: int = 3, n_heads: int = 4, ff: int = 128):
            super().__init__()
            self.embed_ctx = nn.Linear(2, d_model)
            self.embed_query = nn.Linear(1, d_model)
            self.null = nn.Parameter(torch.zeros(1, 1, d_model))
            layer = nn.TransformerEncoderLayer(
                d_model, n_heads, ff, dropout=0.0, batch_first=True, norm_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, 2)

        def forward(self, x_ctx, y_ctx, x_q):
            """Mean and sd of y at ``x_q`` (B, q, 1) given ``x_ctx`` (B, n, 1), ``y_ctx`` (B, n)."""
            b, n, q = x_ctx.shape[0], x_ctx.shape[1], x_q.shape[1]
            ctx = self.embed_ctx(torch.cat([x_ctx, y_ctx[..., None]], dim=-1))
            tokens = torch.cat([self.null.expand(b, 1, -1), ctx, self.embed_query(x_q)], dim=1)
            t = n + 1 + q
            mask = torch.ones(t, t, dtype=torch.bool)  # True = may not attend
            mask[:, : n + 1] = False
            mask[n + 1 :, n + 1 :] = ~torch.eye(q, dtype=torch.bool)
            h = self.norm(self.encoder(tokens, mask=mask))[:, n + 1 :]
            out = self.head(h)
            return out[..., 0], torch.nn.functional.softplus(out[..., 1]) + 1e-3

    return PFNModule


def _init_weights(module: Any, generator: Any) -> None:
    """Initialise a PFN's weights from ``generator`` only (torch's schemes, explicit stream).

    Linear layers as :func:`knowable.models.init_parameters` (Kaiming-uniform);
    attention input projections Xavier-uniform with zero biases, as
    ``torch.nn.MultiheadAttention`` does; layer norms and the null token keep
    their constant initial values. Each encoder layer gets its own draw.
    """
    from torch import nn

    from ..models import init_parameters

    init_parameters(module, generator)
    for sub in module.modules():
        if isinstance(sub, nn.MultiheadAttention):
            nn.init.xavier_uniform_(sub.in_proj_weight, generator=generator)
            nn.init.zeros_(sub.in_proj_bias)
            nn.init.zeros_(sub.out_proj.bias)


@dataclass(frozen=True)
class _PFNState:
    x: np.ndarray  # (B, n, 1)
    y: np.ndarray  # (B, n)


def save_pfn_module(module: Any, config: dict[str, Any], path: str | Path) -> Path:
    """Save a PFN as ``path`` (safetensors weights) plus ``path.with_suffix(".json")`` (config).

    Parameters
    ----------
    module : torch.nn.Module
        From :func:`train_pfn`.
    config : dict
        Its config.
    path : str or Path
        The ``.safetensors`` file to write.

    Returns
    -------
    pathlib.Path
        The weights file.
    """
    return save_module_file(module, config, path)


def load_pfn_module(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """The PFN torch module and its config from ``path`` (``.safetensors`` + ``.json`` beside it).

    Parameters
    ----------
    path : str or Path
        Weights file written by :func:`save_pfn_module`.

    Returns
    -------
    module : torch.nn.Module
    config : dict
    """
    state, config = read_module_file(path, "PFN weights", "scripts/train_pfn.py")
    module = _module_class()(**config["architecture"])
    module.load_state_dict(state)
    module.eval()
    return module, config


def train_pfn(
    *,
    n_steps: int = 3000,
    batch_size: int = 64,
    max_context: int = 160,
    n_queries: int = 32,
    learning_rate: float = 1e-3,
    architecture: dict[str, int] | None = None,
    prior: BayesianPolynomialRegression | None = None,
    random_state: int = 0,
    progress: Any = None,
) -> tuple[Any, dict[str, Any]]:
    """Train a PFN on tasks from a polynomial-regression prior (deterministic for a seed on CPU).

    Each step draws ``batch_size`` tasks ``f ~ prior``, a context size uniform on
    ``0 .. max_context`` and ``n_queries`` queries; the loss is the Gaussian negative log
    likelihood of the query responses. The global torch RNG is left untouched.

    Parameters
    ----------
    n_steps, batch_size, max_context, n_queries : int
        Training budget and task shapes.
    learning_rate : float
        Adam step size (cosine decay to 0).
    architecture : dict, optional
        ``d_model``, ``n_layers``, ``n_heads``, ``ff``.
    prior : BayesianPolynomialRegression, optional
        Task prior (default: cubic, the class defaults).
    random_state : int
        Seed of the tasks and of the initialisation.
    progress : callable, optional
        Called as ``progress(step, loss)`` after every step.

    Returns
    -------
    module : torch.nn.Module
    config : dict
        Architecture, prior parameters and training settings (saved beside the weights).
    """
    import torch

    n_steps = check_positive_int(n_steps, "n_steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    max_context = check_positive_int(max_context, "max_context")
    n_queries = check_positive_int(n_queries, "n_queries")
    lr = check_real(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    arch = {"d_model": 64, "n_layers": 3, "n_heads": 4, "ff": 128, **(architecture or {})}
    prior = prior if prior is not None else BayesianPolynomialRegression(3)
    rng = check_random_state(random_state)
    # torch's default initialisation draws from the global RNG: build under fork_rng (the
    # caller's stream is left as it was), then draw every weight from the run's own generator
    with torch.random.fork_rng(devices=[]):
        module = _module_class()(**arch)
    _init_weights(module, torch_generator(int(random_state)))
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, n_steps)
    state = prior.prior_state(batch_size)
    for step in range(n_steps):
        n = int(rng.integers(0, max_context + 1))
        x = prior.sample_x(state, n + n_queries, rng)
        y = prior.sample_mechanism(state, x, 1, rng).sample(rng)[:, 0]
        xt = torch.from_numpy(x).float()
        yt = torch.from_numpy(y).float()
        mean, sd = module(xt[:, :n], yt[:, :n], xt[:, n:])
        loss = -torch.distributions.Normal(mean, sd).log_prob(yt[:, n:]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None:
            progress(step, float(loss.detach()))
    module.eval()
    config = {
        "architecture": arch,
        "prior": {k: v for k, v in prior.get_params().items()},
        "training": {
            "n_steps": n_steps,
            "batch_size": batch_size,
            "max_context": max_context,
            "n_queries": n_queries,
            "learning_rate": lr,
            "random_state": int(random_state),
        },
    }
    return module, config


class PFNRegression(ConditionalGenerativeModel):
    """A trained PFN as a CGM for 1-d regression (default: the network shipped with knowable).

    Queries come from the training prior's p(x) (uniform on [x_low, x_high] of the config);
    responses from the network's Gaussian predictive. Contexts longer than the training
    ``max_context`` are accepted but leave the training distribution.

    Parameters
    ----------
    weights : str or Path, optional
        A ``.safetensors`` file with its ``.json`` config (from :func:`save_pfn_module`);
        default: the shipped network (:func:`shipped_weights`; its config records the
        architecture, prior and training settings, and the NLL gap it reached).
    """

    n_classes = None

    def __init__(self, weights: str | Path | None = None) -> None:
        self.weights = weights

    @property
    def n_features(self) -> int:
        """Input dimension (1)."""
        return 1

    def _net(self):
        cached = getattr(self, "_cache", None)
        if cached is None or cached[0] != self.weights:
            path = shipped_weights() if self.weights is None else self.weights
            module, config = load_pfn_module(path)
            cached = (self.weights, module, config)
            self._cache = cached
        return cached[1], cached[2]

    @property
    def config(self) -> dict[str, Any]:
        """Architecture, prior and training settings of the network."""
        return self._net()[1]

    def condition(self, x: np.ndarray, y: np.ndarray) -> _PFNState:
        """The state is the raw context, ``x`` (B, n, 1), ``y`` (B, n)."""
        if x.ndim != 3 or x.shape[2] != 1 or y.shape != x.shape[:2]:
            raise ValueError(f"context must be (B, n, 1) and (B, n); got {x.shape}, {y.shape}.")
        return _PFNState(np.asarray(x, float), np.asarray(y, float))

    def context_of(self, state: _PFNState) -> tuple[np.ndarray, np.ndarray]:
        """The raw context."""
        return state.x, state.y

    def _predict(self, state: _PFNState, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        module, _ = self._net()
        with torch.no_grad():
            mean, sd = module(
                torch.from_numpy(state.x).float(),
                torch.from_numpy(state.y).float(),
                torch.from_numpy(np.asarray(x, float)).float(),
            )
        return mean.double().numpy(), sd.double().numpy()

    def sample_x(self, state: _PFNState, n: int, rng: np.random.Generator) -> np.ndarray:
        """Queries from the training prior's p(x), shape (B, n, 1)."""
        p = self.config["prior"]
        lo, hi = p["x_low"], p["x_high"]
        return lo + (hi - lo) * rng.random((state.x.shape[0], n, 1))

    def sample_y(
        self,
        state: _PFNState,
        x: np.ndarray,
        rng: np.random.Generator,
        n_samples: int | None = None,
    ) -> np.ndarray:
        """Gaussian predictive draws, shape (B, q) or (B, q, K)."""
        mean, sd = self._predict(state, x)
        if n_samples is None:
            return mean + sd * rng.standard_normal(mean.shape)
        return mean[..., None] + sd[..., None] * rng.standard_normal((*mean.shape, n_samples))

    def log_prob_y(self, state: _PFNState, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Gaussian predictive log density, shape of ``y``."""
        from scipy import stats

        mean, sd = self._predict(state, x)
        if np.ndim(y) == 3:
            mean, sd = mean[..., None], sd[..., None]
        return stats.norm.logpdf(y, mean, sd)
