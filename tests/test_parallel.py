import importlib.util

import numpy as np
import pytest

from knowable.parallel import map_jobs


def _draw(seed):
    return float(np.random.default_rng(seed).normal())


def test_local_backend_keeps_order_and_seeds():
    out = map_jobs(_draw, [3, 1, 2])
    assert out == [_draw(3), _draw(1), _draw(2)]


def test_unknown_backend_rejected():
    with pytest.raises(ValueError, match="backend"):
        map_jobs(_draw, [1], backend="dask")


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="Ray is installed")
def test_ray_backend_without_ray_says_how_to_install():
    with pytest.raises(ImportError, match=r"knowable\[ray\]"):
        map_jobs(_draw, [1], backend="ray")


def test_ray_backend_gives_the_local_results():
    """The Ray backend runs the jobs as Ray tasks (starting a local instance when none is
    running) and returns exactly the local results, in job order."""
    ray = pytest.importorskip("ray", reason="needs knowable[ray] (pip install 'knowable[ray]')")
    jobs = [3, 1, 2, 7, 0]
    # a lambda is shipped to the workers by value (this test module is not importable there)
    expected = map_jobs(lambda seed: float(np.random.default_rng(seed).normal()), jobs)
    assert not ray.is_initialized()
    try:
        out = map_jobs(
            lambda seed: float(np.random.default_rng(seed).normal()),
            jobs,
            backend="ray",
            ray_address=None,
        )
        assert ray.is_initialized()  # map_jobs started it
        assert out == expected == [_draw(j) for j in jobs]
        # options reach ray.remote; a task that sees its own worker id proves it ran remotely
        pids = map_jobs(
            lambda _: __import__("os").getpid(), [0, 1], backend="ray", ray_options={"num_cpus": 1}
        )
        assert __import__("os").getpid() not in pids
    finally:
        ray.shutdown()


def _discobax_round_job():
    """A job (shipped by value) that runs one DiscoBAX acquisition on a synthetic discovery pool
    with a random-feature Bayesian linear model; everything random comes from the job's seed."""

    def job(seed):
        from knowable.acquire import discobax
        from knowable.data import simulate_discovery
        from knowable.models import GaussianNoise, Posterior

        data = simulate_discovery("bumps", 300, random_state=seed)
        rng = np.random.default_rng([seed, 1])
        w = rng.normal(size=(2, 64)) / 0.1
        phi = np.cos(data.x @ w + rng.uniform(0, 2 * np.pi, 64))  # (n, 64) features
        lab = rng.choice(300, 40, replace=False)
        a = phi[lab].T @ phi[lab] / 0.05**2 + np.eye(64)
        cov = np.linalg.inv(a)
        mean = cov @ phi[lab].T @ data.y[lab] / 0.05**2
        coef = rng.multivariate_normal(mean, cov, size=16, method="cholesky")  # (16, 64)
        post = Posterior((coef @ phi.T)[:, :, None], GaussianNoise(0.05))
        res = discobax(post, 8, features=data.x, lengthscale=0.3, random_state=seed)
        return res.indices.tolist(), res.pool_scores.tolist()

    return job


def test_ray_backend_gives_the_local_discobax_rounds_and_run_jobs_records(tmp_path):
    """Seeded DiscoBAX rounds (the benchmark runner's unit of work) come back bit-identical
    from Ray tasks and from local processes, through map_jobs and through run_jobs."""
    ray = pytest.importorskip("ray", reason="needs knowable[ray] (pip install 'knowable[ray]')")
    from knowable.parallel import run_jobs

    job = _discobax_round_job()
    seeds = [0, 1, 2]
    local = map_jobs(job, seeds)
    assert len({tuple(i) for i, _ in local}) > 1  # different seeds, different batches
    try:
        remote = map_jobs(job, seeds, backend="ray", workers=2)
        assert remote == local
        keyed = {f"s{s}": s for s in seeds}
        rep = run_jobs(job, keyed, tmp_path / "ray", backend="ray", workers=2, log=None)
    finally:
        ray.shutdown()
    rep_local = run_jobs(job, keyed, tmp_path / "local", log=None)
    as_lists = [[list(i), list(s)] for i, s in local]
    assert [list(map(list, r)) for r in rep.results] == as_lists
    assert [list(map(list, r)) for r in rep_local.results] == as_lists


def test_ray_backend_refits_ensemble_members_and_proposes_the_same_batch(tmp_path):
    """UncertainRegressor.fit(backend="ray") and Campaign.propose(backend="ray"): the members
    trained as Ray tasks are the members trained here, so the proposal is the same."""
    ray = pytest.importorskip("ray", reason="needs knowable[ray] (pip install 'knowable[ray]')")
    import pandas as pd

    from knowable.campaign import Campaign
    from knowable.models import UncertainRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = X[:, 0] - X[:, 1] ** 2
    kw = dict(n_members=3, hidden_size=8, depth=1, max_epochs=4, random_state=1)
    try:
        local = UncertainRegressor(**kw).fit(X, y)
        remote = UncertainRegressor(**kw).fit(X, y, backend="ray", workers=2)
        np.testing.assert_array_equal(local.posterior(X).draws, remote.posterior(X).draws)
        pool = pd.DataFrame(X, columns=["a", "b", "c"]).assign(gene=[f"g{i}" for i in range(80)])
        batches = []
        for name, backend in (("local", "local"), ("ray", "ray")):
            camp = Campaign.create(
                f"sqlite:///{tmp_path / name}.sqlite", pool, id_column="gene",
                features=["a", "b", "c"], model_params={"n_members": 3, "max_epochs": 5},
            )  # fmt: skip
            first = camp.propose(20, "random")
            ids = first.table["gene"]
            camp.ingest(pd.DataFrame({"gene": ids, "y": y[ids.str[1:].astype(int).to_numpy()]}))
            batches.append(camp.propose(6, "power-bald", backend=backend, workers=2).table)
        pd.testing.assert_frame_equal(batches[0], batches[1])
    finally:
        ray.shutdown()
