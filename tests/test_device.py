"""CUDA paths: fits on the GPU agree with fits on the CPU (run where CUDA exists).

A member is built on the CPU from the fit's seeds and then moved to the device, so
CPU and CUDA fits start from the same weights; float32 reductions run in another
order on the GPU, so after training they agree to a tolerance, not bit for bit.
Members come back to the CPU after training, and predictions run there. MC dropout
draws its training masks from a generator on the training device, and CUDA's Philox
stream is not the CPU's, so a dropout fit on CUDA is another draw of the same
procedure: it is checked for shape and finiteness here, and statistically (against
the CPU's seed-to-seed spread) by ``benchmarks/gpu_agreement.py``.
"""

import numpy as np
import pytest
import torch

from knowable.effects import DoseResponse, DragonNet, TARNet
from knowable.models import UncertainClassifier, UncertainRegressor, uncertainty_methods

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (run on a GPU machine)"
)

FAST = dict(n_members=2, n_draws=8, hidden_size=16, depth=1, max_epochs=3, n_inducing=8)
METHODS = uncertainty_methods(installed_only=True)
TOLERANCE = 1e-3  # relative to the prediction's scale, after three epochs
DEVICE_RANDOM_TRAINING = ("dropout",)  # training randomness drawn on the device


def _data(n=160, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = (rng.uniform(size=n) < 0.5).astype(int)
    y = x[:, 0] + t * (1 + x[:, 1]) + 0.1 * rng.normal(size=n)
    return x, t, y


def _predict(est, x):
    if isinstance(est, UncertainClassifier):
        return est.predict_proba(x)
    if isinstance(est, UncertainRegressor):
        return est.predict(x)
    if isinstance(est, DoseResponse):
        return est.dose_response(np.linspace(0.1, 0.9, 5)).mean
    return est.effect(x)


def _fit(cls, method, device, x, t, y, **extra):
    kw = dict(FAST, random_state=3, device=device, **extra)
    if cls is UncertainClassifier:
        return cls(method, **kw).fit(x, (y > 0).astype(int))
    if cls is UncertainRegressor:
        return cls(method, **kw).fit(x, y)
    if cls is DoseResponse:
        dose = (x[:, 2] - x[:, 2].min()) / np.ptp(x[:, 2])
        return cls(method, n_components=2, head_hidden_size=8, **kw).fit(x[:, :2], dose, y)
    return cls(uncertainty=method, **kw).fit(x, t, y)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "cls", [UncertainRegressor, UncertainClassifier, TARNet, DragonNet, DoseResponse]
)
def test_cuda_fit_agrees_with_cpu_fit(cls, method, tmp_path):
    x, t, y = _data()
    cpu = _fit(cls, method, "cpu", x, t, y)
    gpu = _fit(cls, method, "cuda", x, t, y)
    a, b = _predict(cpu, x), _predict(gpu, x)
    assert b.shape == a.shape and np.all(np.isfinite(b))
    if method not in DEVICE_RANDOM_TRAINING:
        scale = float(np.max(np.abs(a))) + 1e-12
        np.testing.assert_allclose(b, a, rtol=0, atol=TOLERANCE * scale)
    assert all(p.device.type == "cpu" for m in gpu.members_ for p in m.parameters())
    loaded = type(gpu).load(gpu.save(tmp_path / "m"))
    np.testing.assert_array_equal(_predict(loaded, x), b)


def test_cuda_parallel_members_match_serial_members():
    x, _, y = _data(seed=1)
    kw = dict(n_members=3, hidden_size=8, depth=1, max_epochs=4, random_state=2, device="cuda")
    serial = UncertainRegressor(**kw).fit(x, y)
    parallel = UncertainRegressor(**kw).fit(x, y, workers=2)
    np.testing.assert_allclose(
        parallel.posterior(x).draws, serial.posterior(x).draws, rtol=1e-5, atol=1e-6
    )
