"""AMM / SAMM: an adversarially learned mixture model (ALI with a categorical and a continuous latent).

Jesson, Low-Kam, Nair, Soudan, Chandelier & Chapados, "Adversarially Learned
Mixture Model", arXiv 1807.05344. The method notes mark the architecture as
recollection, not checked against the paper; what is built here:

Generative joint ``p(x, y, z) = p(y) p(z | y) p(x | y, z)``:
``p(y) = Cat(1/K)``; ``p(z | y) = N(mu_y, diag sigma_y^2)`` with a learned mean
and log-scale per class (chosen over a generator from ``(y, eps)``: fewer
parameters, and the class structure of ``z`` stays explicit); ``x = G(y, z)``
an MLP (deterministic decoder, as in ALI).

Inference joint ``q(x, y, z) = q(x) q(y | x) q(z | x, y)``: ``q(x)`` the data;
``q(y | x)`` an MLP classifier, sampled with the straight-through Gumbel-softmax
(forward pass one-hot, backward pass the relaxed sample; temperature
``gumbel_temperature``); ``q(z | x, y)`` a Gaussian encoder of ``[x, y]``,
reparameterised.

One discriminator ``D(x, y, z)`` (an MLP of the concatenated tuple, or with
``discriminator="fused"`` ALI-style branches for ``x`` and ``(y, z)`` joined by
a head) separates inference tuples (label 1) from generative tuples (label 0)::

    L_D  = softplus(-D(x, y^, z^)) + softplus(D(x~, y, z))          (= BCE)
    L_GE = softplus(D(x, y^, z^)) + softplus(-D(x~, y, z))          (labels swapped)

``L_GE`` is the non-saturating form used by ALI for the generator and the
encoders. SAMM adds ``semi_supervised_weight`` times the cross-entropy of
``q(y | x)`` on the labelled rows, and feeds the true label (not a sample) to
``q(z | x, y)`` there. Clusters are read off ``argmax q(y | x)``.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from torch import nn

from .._random import check_random_state, spawn_seeds, torch_generator
from .._validation import (
    check_array,
    check_consistent_length,
    check_in_options,
    check_is_fitted,
    check_positive_int,
    check_real,
    mean_and_scale,
)

__all__ = ["AdversarialMixture", "discriminator_loss", "generator_loss", "gumbel_softmax_st"]


def discriminator_loss(
    logit_inference: torch.Tensor, logit_generative: torch.Tensor
) -> torch.Tensor:
    """Discriminator loss: inference tuples are "real" (1), generative tuples "fake" (0).

    Parameters
    ----------
    logit_inference : torch.Tensor of shape (n,)
        ``D(x, y^, z^)`` on data with inferred latents.
    logit_generative : torch.Tensor of shape (m,)
        ``D(x~, y, z)`` on prior latents with generated data.

    Returns
    -------
    torch.Tensor
        Scalar ``mean softplus(-l_q) + mean softplus(l_p)``; small when the
        discriminator scores inference tuples high and generative ones low.
    """
    return F.softplus(-logit_inference).mean() + F.softplus(logit_generative).mean()


def generator_loss(logit_inference: torch.Tensor, logit_generative: torch.Tensor) -> torch.Tensor:
    """Generator/encoder loss: the discriminator's labels swapped (non-saturating).

    Parameters
    ----------
    logit_inference : torch.Tensor of shape (n,)
        ``D(x, y^, z^)``.
    logit_generative : torch.Tensor of shape (m,)
        ``D(x~, y, z)``.

    Returns
    -------
    torch.Tensor
        Scalar ``mean softplus(l_q) + mean softplus(-l_p)``; small when the
        discriminator is fooled both ways.
    """
    return F.softplus(logit_inference).mean() + F.softplus(-logit_generative).mean()


def gumbel_softmax_st(
    logits: torch.Tensor, temperature: float, generator: torch.Generator
) -> torch.Tensor:
    """Straight-through Gumbel-softmax sample drawn from an explicit generator.

    Parameters
    ----------
    logits : torch.Tensor of shape (n, k)
        Unnormalised log-probabilities.
    temperature : float
        Relaxation temperature (> 0).
    generator : torch.Generator
        Source of the Gumbel noise.

    Returns
    -------
    torch.Tensor of shape (n, k)
        One-hot rows in the forward pass; gradients of the relaxed sample.
    """
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
    gumbel = -torch.log((-torch.log(u.clamp_min(1e-10))).clamp_min(1e-10))
    soft = torch.softmax((logits + gumbel) / temperature, dim=-1)
    hard = F.one_hot(soft.argmax(-1), logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


def _mlp(
    n_in: int, hidden: int, n_out: int, depth: int, generator: torch.Generator
) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, nn.Linear):
            bound = 1.0 / np.sqrt(m.in_features)
            with torch.no_grad():
                m.weight.uniform_(-bound, bound, generator=generator)
                m.bias.uniform_(-bound, bound, generator=generator)
    return net


class _AMMNets(nn.Module):
    def __init__(
        self,
        d: int,
        k: int,
        dz: int,
        hidden: int,
        depth: int,
        gen: torch.Generator,
        fused: bool = False,
    ):
        super().__init__()
        self.fused = fused
        self.k, self.dz = k, dz
        self.prior_mu = nn.Parameter(torch.randn(k, dz, generator=gen))
        self.prior_logstd = nn.Parameter(torch.full((k, dz), -1.0))
        self.decoder = _mlp(k + dz, hidden, d, depth, gen)
        self.classifier = _mlp(d, hidden, k, depth, gen)
        self.encoder = _mlp(d + k, hidden, 2 * dz, depth, gen)
        if fused:
            # ALI-style: embed x and (y, z) separately, then a joint head on both embeddings
            self.discriminator: nn.Module = nn.ModuleDict(
                {
                    "x": nn.Sequential(*_mlp(d, hidden, hidden, 1, gen), nn.LeakyReLU(0.2)),
                    "yz": nn.Sequential(*_mlp(k + dz, hidden, hidden, 1, gen), nn.LeakyReLU(0.2)),
                    "joint": _mlp(2 * hidden, hidden, 1, 1, gen),
                }
            )
        else:
            self.discriminator = _mlp(d + k + dz, hidden, 1, depth, gen)

    def gen_params(self) -> list[nn.Parameter]:
        return [
            self.prior_mu,
            self.prior_logstd,
            *self.decoder.parameters(),
            *self.classifier.parameters(),
            *self.encoder.parameters(),
        ]

    def encode_z(self, x: torch.Tensor, y1h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.encoder(torch.cat([x, y1h], 1))
        return out[:, : self.dz], out[:, self.dz :].clamp(-6.0, 2.0)

    def sample_prior(
        self, n: int, gen: torch.Generator, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if y is None:
            y = torch.randint(0, self.k, (n,), generator=gen)
        y1h = F.one_hot(y, self.k).to(self.prior_mu.dtype)
        eps = torch.randn(n, self.dz, generator=gen)
        z = self.prior_mu[y] + self.prior_logstd[y].exp() * eps
        x = self.decoder(torch.cat([y1h, z], 1))
        return x, y1h, z

    def disc(
        self,
        x: torch.Tensor,
        y1h: torch.Tensor,
        z: torch.Tensor,
        gen: torch.Generator | None = None,
        dropout: float = 0.0,
    ) -> torch.Tensor:
        def run(net: nn.Module, h: torch.Tensor) -> torch.Tensor:
            for layer in net.children():
                h = layer(h)
                if gen is not None and dropout > 0 and isinstance(layer, nn.LeakyReLU):
                    # dropout with an explicit generator (nn.Dropout would use the global RNG)
                    keep = torch.rand(h.shape, generator=gen) >= dropout
                    h = h * keep / (1.0 - dropout)
            return h

        if self.fused:
            parts = cast(nn.ModuleDict, self.discriminator)
            hx = run(parts["x"], x)
            hyz = run(parts["yz"], torch.cat([y1h, z], 1))
            return run(parts["joint"], torch.cat([hx, hyz], 1)).squeeze(-1)
        return run(self.discriminator, torch.cat([x, y1h, z], 1)).squeeze(-1)


class AdversarialMixture(BaseEstimator):
    """Adversarially learned mixture model (AMM; SAMM with partial labels).

    Parameters
    ----------
    n_clusters : int
        Number of mixture components ``K`` (categories of ``y``).
    latent_dim : int
        Dimension of the continuous latent ``z``.
    hidden_size : int
        Width of every MLP (decoder, classifier, encoder, discriminator).
    depth : int
        Hidden layers per MLP.
    n_epochs : int
        Passes over the data.
    batch_size : int
        Minibatch size.
    learning_rate : float
        Adam learning rate (betas 0.5, 0.999 as in ALI).
    lr_schedule : {"constant", "linear"}
        ``"linear"`` decays both learning rates linearly to zero over the
        ``n_epochs * ceil(n / batch_size)`` steps; ``"constant"`` keeps them.
    gumbel_temperature : float
        Temperature of the straight-through Gumbel-softmax for ``q(y | x)``.
    semi_supervised_weight : float
        Weight of the cross-entropy on labelled rows (SAMM); unused without labels.
    discriminator_dropout : float
        Dropout rate after each hidden layer of the discriminator during
        training (ALI regularises its discriminator with dropout 0.2).
    discriminator : {"concat", "fused"}
        ``"concat"``: one MLP on ``[x, y, z]``. ``"fused"``: ALI-style, ``x``
        and ``(y, z)`` embedded by separate one-hidden-layer branches whose
        outputs a joint one-hidden-layer head scores (``depth`` unused there).
    random_state : None or int
        Seed of initialisation, minibatch order and all sampling.

    Attributes
    ----------
    n_features_in_ : int
        Input dimension ``d``.
    x_mean_, x_scale_ : numpy.ndarray of shape (d,)
        Centring per feature and one common scale (the overall standard
        deviation, so that rarely-on pixels are not inflated), learned in ``fit``.
    loss_history_ : numpy.ndarray of shape (n_epochs, 2)
        Mean discriminator and generator/encoder loss per epoch.
    nets_ : torch.nn.Module
        The trained networks.
    """

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        latent_dim: int = 8,
        hidden_size: int = 128,
        depth: int = 2,
        n_epochs: int = 400,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        lr_schedule: str = "constant",
        gumbel_temperature: float = 0.5,
        semi_supervised_weight: float = 1.0,
        discriminator_dropout: float = 0.2,
        discriminator: str = "concat",
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.hidden_size = hidden_size
        self.depth = depth
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.gumbel_temperature = gumbel_temperature
        self.semi_supervised_weight = semi_supervised_weight
        self.discriminator_dropout = discriminator_dropout
        self.discriminator = discriminator
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> AdversarialMixture:
        """Train AMM (``y`` None) or SAMM (``y`` with ``-1`` for unlabelled rows).

        Parameters
        ----------
        X : array-like of shape (n, d)
            Data.
        y : array-like of int, shape (n,), optional
            Partial labels in ``{-1, 0, ..., n_clusters - 1}``; ``-1`` marks an
            unlabelled row.

        Returns
        -------
        AdversarialMixture
            ``self``.
        """
        k = check_positive_int(self.n_clusters, "n_clusters", minimum=2)
        dz = check_positive_int(self.latent_dim, "latent_dim")
        hidden = check_positive_int(self.hidden_size, "hidden_size")
        depth = check_positive_int(self.depth, "depth")
        n_epochs = check_positive_int(self.n_epochs, "n_epochs")
        bs = check_positive_int(self.batch_size, "batch_size")
        lr = check_real(self.learning_rate, "learning_rate", low=0.0, low_inclusive=False)
        tau = check_real(
            self.gumbel_temperature, "gumbel_temperature", low=0.0, low_inclusive=False
        )
        drop = check_real(
            self.discriminator_dropout,
            "discriminator_dropout",
            low=0.0,
            high=1.0,
            high_inclusive=False,
        )
        check_in_options(self.discriminator, "discriminator", ("concat", "fused"))
        check_in_options(self.lr_schedule, "lr_schedule", ("constant", "linear"))
        w_sup = check_real(self.semi_supervised_weight, "semi_supervised_weight", low=0.0)
        Xa = check_array(X, "X", ndim=2)
        n, d = Xa.shape
        if n < 2:
            raise ValueError(f"X must have at least 2 rows to fit a mixture, got {n}.")
        labels = np.full(n, -1, dtype=np.int64)
        if y is not None:
            ya = check_array(y, "y", ndim=1, dtype=None)
            check_consistent_length(X=Xa, y=ya)
            if np.any(np.mod(ya, 1) != 0) or ya.min() < -1 or ya.max() >= k:
                raise ValueError(
                    f"y must hold integers in {{-1, 0, ..., {k - 1}}} (-1 = unlabelled); "
                    f"got values in [{ya.min()}, {ya.max()}]."
                )
            labels = ya.astype(np.int64)

        # per-feature centring, one global scale: rare pixels are not blown up
        mean, _ = mean_and_scale(Xa, "X")
        spread = float(np.std(Xa - mean))
        scale = np.full(d, spread if spread > 0 else 1.0)
        self.x_mean_, self.x_scale_ = mean, scale
        self.n_features_in_ = d
        rng = check_random_state(self.random_state)
        init_seed, train_seed = spawn_seeds(rng, 2)
        with torch.random.fork_rng(devices=[]):
            nets = _AMMNets(
                d, k, dz, hidden, depth, torch_generator(init_seed), self.discriminator == "fused"
            )
        gen = torch_generator(train_seed)
        xt = torch.as_tensor((Xa - mean) / scale, dtype=torch.float32)
        lt = torch.as_tensor(labels)
        opt_d = torch.optim.Adam(nets.discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
        opt_g = torch.optim.Adam(nets.gen_params(), lr=lr, betas=(0.5, 0.999))
        history = np.zeros((n_epochs, 2))
        total_steps = n_epochs * (-(-n // bs))
        step = 0
        for epoch in range(n_epochs):
            perm = torch.randperm(n, generator=gen)
            sums, steps = np.zeros(2), 0
            for start in range(0, n, bs):
                idx = perm[start : start + bs]
                if idx.numel() < 2:
                    continue
                if self.lr_schedule == "linear":
                    for opt in (opt_d, opt_g):
                        for group in opt.param_groups:
                            group["lr"] = lr * (1.0 - step / total_steps)
                step += 1
                xb, lb = xt[idx], lt[idx]
                logits = nets.classifier(xb)
                y_hat = gumbel_softmax_st(logits, tau, gen)
                has = lb >= 0
                if has.any():
                    true1h = F.one_hot(lb.clamp_min(0), k).to(y_hat.dtype)
                    y_hat = torch.where(has[:, None], true1h, y_hat)
                z_mu, z_logstd = nets.encode_z(xb, y_hat)
                z_hat = z_mu + z_logstd.exp() * torch.randn(z_mu.shape, generator=gen)
                x_gen, y_gen, z_gen = nets.sample_prior(idx.numel(), gen)

                # discriminator step (detached tuples)
                l_q = nets.disc(xb, y_hat.detach(), z_hat.detach(), gen, drop)
                l_p = nets.disc(x_gen.detach(), y_gen, z_gen.detach(), gen, drop)
                loss_d = discriminator_loss(l_q, l_p)
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()

                # generator + encoders step
                loss_g = generator_loss(
                    nets.disc(xb, y_hat, z_hat, gen, drop),
                    nets.disc(x_gen, y_gen, z_gen, gen, drop),
                )
                if has.any() and w_sup > 0:
                    loss_g = loss_g + w_sup * F.cross_entropy(logits[has], lb[has])
                opt_g.zero_grad()
                loss_g.backward()
                opt_g.step()
                sums += (loss_d.item(), loss_g.item())
                steps += 1
            history[epoch] = sums / max(steps, 1)
        nets.eval()
        self.nets_ = nets
        self.loss_history_ = history
        return self

    def _inputs(self, X: Any) -> torch.Tensor:
        check_is_fitted(self, "nets_")
        Xa = check_array(X, "X", ndim=2)
        if Xa.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {Xa.shape[1]} features but the model was fitted on {self.n_features_in_}."
            )
        return torch.as_tensor((Xa - self.x_mean_) / self.x_scale_, dtype=torch.float32)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Cluster probabilities ``q(y | x)``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Data.

        Returns
        -------
        numpy.ndarray of shape (n, n_clusters)
        """
        xt = self._inputs(X)
        with torch.no_grad():
            return torch.softmax(self.nets_.classifier(xt), -1).numpy().astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Cluster index ``argmax_y q(y | x)``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Data.

        Returns
        -------
        numpy.ndarray of int, shape (n,)
        """
        return self.predict_proba(X).argmax(1)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit, then predict on ``X``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Data.
        y : array-like of int, shape (n,), optional
            Partial labels (``-1`` = unlabelled).

        Returns
        -------
        numpy.ndarray of int, shape (n,)
        """
        return self.fit(X, y).predict(X)

    def transform(self, X: Any) -> np.ndarray:
        """Mean of ``q(z | x, y)`` at the most probable cluster.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Data.

        Returns
        -------
        numpy.ndarray of shape (n, latent_dim)
        """
        xt = self._inputs(X)
        with torch.no_grad():
            y = self.nets_.classifier(xt).argmax(-1)
            mu, _ = self.nets_.encode_z(xt, F.one_hot(y, self.nets_.k).float())
        return mu.numpy().astype(np.float64)

    def sample(
        self, n_samples: int, *, cluster: int | None = None, random_state: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``x ~ p(x | y, z)`` with ``z ~ p(z | y)``, optionally for one cluster.

        Parameters
        ----------
        n_samples : int
            Number of samples.
        cluster : int, optional
            Fix ``y`` to this cluster; otherwise ``y ~ Cat(1/K)``.
        random_state : None or int
            Seed of the draw.

        Returns
        -------
        X : numpy.ndarray of shape (n_samples, d)
            Samples on the input scale.
        y : numpy.ndarray of int, shape (n_samples,)
            Their clusters.
        """
        check_is_fitted(self, "nets_")
        m = check_positive_int(n_samples, "n_samples")
        k = self.nets_.k
        gen = torch_generator(spawn_seeds(check_random_state(random_state), 1)[0])
        y = None
        if cluster is not None:
            c = check_positive_int(cluster, "cluster", minimum=0)
            if c >= k:
                raise ValueError(f"cluster must be in [0, {k - 1}], got {c}.")
            y = torch.full((m,), c, dtype=torch.long)
        with torch.no_grad():
            x, y1h, _ = self.nets_.sample_prior(m, gen, y)
        xs = x.numpy().astype(np.float64) * self.x_scale_ + self.x_mean_
        return xs, y1h.argmax(1).numpy()
