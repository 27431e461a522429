"""Last-layer Laplace: one MAP network, a Gaussian posterior over its final layers.

The network is trained as usual (one member). Afterwards the ``laplace-torch``
library fits a Laplace approximation to the posterior of the parameters of the
network's *final* linear layers that produce its prediction (the regression mean,
the class logits, the factual outcome of a CATE network), with a full
generalised Gauss-Newton Hessian, and tunes the prior precision by the marginal
likelihood. ``n_draws`` parameter draws of those layers are taken once, seeded,
and every prediction runs the network with each draw, so draws are joint across
inputs and identical across chunks, saves and loads.

Which layers count as final is found from the network, not from its class: a
linear layer is final when no other linear layer reads its output, and it is
used when the prediction depends on it (a noise-scale or propensity layer is
final but does not move the prediction, so a Laplace posterior over it would be
its prior, and it is left at its trained value).

Needs the optional extra ``knowable[laplace]`` (``laplace-torch``, installed
without its torchvision requirement; see the installation notes).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from ..._random import torch_generator
from ._contract import UncertaintyMethod, register_uncertainty

__all__ = ["LastLayerLaplace"]


class _PredictionView(nn.Module):
    """The member as ``laplace-torch`` sees it: inputs to one prediction tensor.

    A binary treatment, when the member needs it to pick the factual outcome,
    travels as the last input column.
    """

    def __init__(self, member: nn.Module, with_treatment: bool) -> None:
        super().__init__()
        self.member = member
        self.with_treatment = with_treatment

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_treatment:
            out = self.member(x[:, :-1])
            return out.outcome.select(x[:, -1]).mean  # factual outcome, (n, 1)
        out = self.member(x)
        if hasattr(out, "probs"):  # categorical: the logits
            return out.logits
        return out.mean  # Gaussian mean or mixture mean, (n, k)


def _final_prediction_layers(view: _PredictionView, x: torch.Tensor) -> list[nn.Linear]:
    """Linear layers whose output no other linear layer reads and the prediction uses."""
    linears = [m for m in view.modules() if isinstance(m, nn.Linear)]
    inputs: dict[int, torch.Tensor] = {}
    outputs: dict[int, torch.Tensor] = {}

    def record(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        inputs[id(module)] = args[0]
        outputs[id(module)] = out

    hooks = [m.register_forward_hook(record) for m in linears]
    try:
        with torch.enable_grad():
            prediction = view(x)
    finally:
        for h in hooks:
            h.remove()
    seen = [m for m in linears if id(m) in outputs]

    def depends(target: torch.Tensor, source: torch.Tensor) -> bool:
        if not target.requires_grad:
            return False
        (grad,) = torch.autograd.grad(target.sum(), source, retain_graph=True, allow_unused=True)
        return grad is not None and bool(grad.abs().sum() > 0)

    final = []
    for layer in seen:
        out = outputs[id(layer)]
        feeds_another = any(depends(inputs[id(other)], out) for other in seen if other is not layer)
        if not feeds_another and depends(prediction, out):
            final.append(layer)
    return final


def _parameter_indices(view: nn.Module, layers: list[nn.Linear]) -> torch.Tensor:
    """Positions of the layers' parameters in ``parameters_to_vector(view.parameters())``."""
    wanted = {id(p) for layer in layers for p in layer.parameters()}
    indices, start = [], 0
    for p in view.parameters():
        if id(p) in wanted:
            indices.append(torch.arange(start, start + p.numel()))
        start += p.numel()
    return torch.cat(indices).long()


@register_uncertainty
class LastLayerLaplace(UncertaintyMethod):
    """Last-layer Laplace approximation (Daxberger et al., 2021) via ``laplace-torch``.

    Regression heads use a Gaussian likelihood whose noise is the trained
    network's root-mean-square predicted noise scale; classification heads a
    categorical likelihood; CATE networks the factual outcome. The prior
    precision is tuned by the Laplace marginal likelihood.
    """

    name: ClassVar[str] = "laplace"
    requires: ClassVar[tuple[str, ...]] = ("laplace",)
    install_hint: ClassVar[str] = (
        "pip install 'knowable[laplace]' (the laplace-torch library; see the installation "
        "notes for installing it without torchvision)."
    )

    def finish(
        self, model: Any, members: list[nn.Module], data: Mapping[str, torch.Tensor]
    ) -> None:
        import laplace

        member = members[0]
        member.eval()
        with_treatment = "t" in data and data["t"].ndim == 1 and "y" in data
        x = data["x"].cpu()
        if with_treatment:
            x = torch.cat([x, data["t"].cpu().float().unsqueeze(-1)], dim=1)
        y = data["y"].cpu()
        view = _PredictionView(member, with_treatment)
        for p in view.parameters():
            p.requires_grad_(True)
        layers = _final_prediction_layers(view, x[:64])
        indices = _parameter_indices(view, layers)
        classification = y.dtype == torch.int64  # class codes; regression targets are float
        if not classification and y.ndim == 1:
            y = y.unsqueeze(-1)
        sigma = 1.0 if classification else self._noise_scale(member, x, with_treatment)
        la = laplace.Laplace(
            view,
            "classification" if classification else "regression",
            subset_of_weights="subnetwork",
            hessian_structure="full",
            subnetwork_indices=indices,
            sigma_noise=sigma,
        )
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x, y.float() if not classification else y),
            batch_size=256,
        )
        la.fit(loader, progress_bar=False)
        with warnings.catch_warnings():  # laplace-torch warns on every classification tuning
            warnings.filterwarnings("ignore", message="By default `link_approx`")
            la.optimize_prior_precision(pred_type="glm", method="marglik", link_approx="probit")
        samples = la.sample(
            model.resolved_params_["n_draws"],
            generator=torch_generator(model.prediction_seed_),
        )
        model.laplace_indices_ = indices
        model.laplace_samples_ = samples[:, indices].float().detach()
        model.laplace_prior_precision_ = float(la.prior_precision.mean())
        model.laplace_sigma_noise_ = float(sigma)

    @staticmethod
    def _noise_scale(member: nn.Module, x: torch.Tensor, with_treatment: bool) -> float:
        """Root-mean-square predicted noise scale on the training inputs (standardised units).

        The outcome head of a CATE network, the Gaussian or mixture head otherwise.
        """
        with torch.no_grad():
            out = member(x[:, :-1] if with_treatment else x)
        scale = getattr(getattr(out, "outcome", out), "scale", None)
        return 1.0 if scale is None else float(scale.double().pow(2).mean().sqrt())

    def outputs(self, model: Any, x: torch.Tensor) -> list[Any]:
        member = model.members_[0]
        member.eval()
        params = list(member.parameters())
        flat = torch.nn.utils.parameters_to_vector(params).detach()
        outs = []
        try:
            with torch.no_grad():
                for draw in model.laplace_samples_:
                    vector = flat.clone()
                    vector[model.laplace_indices_] = draw
                    torch.nn.utils.vector_to_parameters(vector, params)
                    outs.append(member(x))
        finally:
            with torch.no_grad():
                torch.nn.utils.vector_to_parameters(flat, params)
        return outs

    def state_tensors(self, model: Any) -> dict[str, torch.Tensor]:
        return {"indices": model.laplace_indices_, "samples": model.laplace_samples_}

    def restore_state(self, model: Any, tensors: dict[str, torch.Tensor]) -> None:
        if set(tensors) != {"indices", "samples"}:
            raise ValueError(
                "the weights lack the Laplace tensors 'laplace.indices' and 'laplace.samples'."
            )
        indices, samples = tensors["indices"].long(), tensors["samples"].float()
        n_params = sum(p.numel() for p in model.members_[0].parameters())
        if (
            indices.ndim != 1
            or samples.ndim != 2
            or samples.shape[1] != indices.shape[0]
            or samples.shape[0] != model.resolved_params_["n_draws"]
            or bool((indices < 0).any() | (indices >= n_params).any())
        ):
            raise ValueError(
                "tensors 'laplace.indices' and 'laplace.samples' do not fit the model."
            )
        model.laplace_indices_, model.laplace_samples_ = indices, samples
