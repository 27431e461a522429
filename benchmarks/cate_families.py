"""Semi-synthetic CATE benchmark families on shipped real covariates, with known CATE.

Covariates are real and shipped with the package: the 25 IHDP covariates of
Hill's 747 units (``load_ihdp``) and the 28 covariates of the raw 985-unit
IHDP table (``load_ihdp_raw``). Treatment and outcomes are simulated, so the
CATE is known exactly. Each *family* is a distribution over outcome and
treatment-assignment designs; replication ``r`` of a family draws its own
coefficients, treatment, noise and 70/30 train/test split from the seed
``(family seed, r)``, so a replication is the same on every machine.

Evaluation families (reported; never used to choose a setting):

* ``linear``: IHDP-25, n = 747; linear outcome and linear heterogeneous effect
  (effect sd 1); good overlap.
* ``nonlinear``: raw IHDP-28, n = 985; non-linear outcome and effect
  (sigmoid and interaction terms); moderate overlap.
* ``overlap``: IHDP-25, n = 747; strong confounding, propensities in
  [0.02, 0.98]; non-linear effect.
* ``large``: raw IHDP-28 resampled to n = 2,000 (rows drawn with replacement,
  continuous columns jittered by 0.1 sd); non-linear outcome and effect.
* ``homogeneous``: raw IHDP-28, n = 985; constant effect 2 (no heterogeneity).

Tuning family (``tuning``; used only by ``--families tuning`` for choosing
hyper-parameters, never reported as evaluation): raw IHDP-28, n = 985, outcome
and effect drawn as random one-hidden-layer tanh networks of the covariates,
logistic propensity; its own seed stream.

Methods, in the same run and the same worker pool (each worker single-threaded):
``due`` (the default ``TARNet()``), ``ensemble``, ``dropout``,
``due-conformal`` (:class:`knowable.effects.ConformalCATE` around the default,
weighted split conformal) and ``causalforestdml`` (EconML, optional ``[peers]``
extra; reported as unavailable otherwise).

Usage::

    python benchmarks/cate_families.py --quick          # 2 families x 2 reps, short training
    python benchmarks/cate_families.py                  # 5 evaluation families x 10 reps
    python benchmarks/cate_families.py --families tuning --set n_inducing=50 --suffix _tune_m50

Writes ``benchmarks/results/cate_families{suffix}.json`` and ``.md``; jobs
resume from ``cate_families{suffix}.jobs/`` (:func:`knowable.parallel.run_jobs`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowable.parallel import add_runner_arguments, parse_range

RESULTS = Path(__file__).parent / "results"
TEST_FRACTION = 0.3
NOISE_SD = 1.0


@dataclass(frozen=True)
class Family:
    name: str
    covariates: str  # "ihdp25" or "ihdp_raw"
    n: int
    design: str
    seed: int
    overlap: float  # scale of the propensity logit
    clip: float  # propensities clipped to [clip, 1 - clip]


FAMILIES: dict[str, Family] = {
    "linear": Family("linear", "ihdp25", 747, "linear", 101, 0.8, 0.05),
    "nonlinear": Family("nonlinear", "ihdp_raw", 985, "nonlinear", 202, 1.0, 0.05),
    "overlap": Family("overlap", "ihdp25", 747, "nonlinear", 303, 3.0, 0.02),
    "large": Family("large", "ihdp_raw", 2000, "nonlinear", 404, 1.0, 0.05),
    "homogeneous": Family("homogeneous", "ihdp_raw", 985, "homogeneous", 505, 1.0, 0.05),
    "tuning": Family("tuning", "ihdp_raw", 985, "random_net", 909, 1.0, 0.05),
    # error against n: the "large" design at three sizes (benchmarks/cate_scaling.py)
    "scale1k": Family("scale1k", "ihdp_raw", 1_000, "nonlinear", 606, 1.0, 0.05),
    "scale4k": Family("scale4k", "ihdp_raw", 4_000, "nonlinear", 606, 1.0, 0.05),
    "scale16k": Family("scale16k", "ihdp_raw", 16_000, "nonlinear", 606, 1.0, 0.05),
}
SCALING = ("scale1k", "scale4k", "scale16k")
EVALUATION = ("linear", "nonlinear", "overlap", "large", "homogeneous")
METHODS = ("due", "ensemble", "dropout", "due-conformal", "causalforestdml")
EXTRA_METHODS = ("due-conformal-split",)
QUICK_EPOCHS = 20


# ---------------------------------------------------------------- designs
def _covariates(source: str) -> tuple[np.ndarray, int]:
    """Real covariates ``(N, d)`` with the continuous columns standardised; and their count."""
    from knowable.data import load_ihdp, load_ihdp_raw

    if source == "ihdp25":
        x = np.asarray(load_ihdp(1).x, dtype=float)
    else:
        x = load_ihdp_raw().drop(columns=["treat"]).to_numpy(dtype=float)
    n_cont = 6  # bw, b.head, preterm, birth.o, nnhealth, momage in both tables
    x = x.copy()
    x[:, :n_cont] = (x[:, :n_cont] - x[:, :n_cont].mean(0)) / x[:, :n_cont].std(0)
    return x, n_cont


def _standardise(v: np.ndarray, sd: float = 1.0) -> np.ndarray:
    return (v - v.mean()) / max(v.std(), 1e-12) * sd


def simulate(family: Family, rep: int) -> dict[str, np.ndarray]:
    """One replication: ``x, t, y, cate`` and a fixed train/test split (``test`` mask).

    The scaling families are nested samples of one population: the first ``n``
    units of the largest one (same functions, same noise), with their own split.
    """
    if family.name in SCALING and family.name != SCALING[-1]:
        full = simulate(FAMILIES[SCALING[-1]], rep)
        part = {k: v[: family.n] for k, v in full.items() if k != "test"}
        test = np.zeros(family.n, dtype=bool)
        split = np.random.default_rng([family.seed, rep, family.n]).permutation(family.n)
        test[split[: round(TEST_FRACTION * family.n)]] = True
        return {**part, "test": test}
    rng = np.random.default_rng([family.seed, rep])
    base, n_cont = _covariates(family.covariates)
    rows = rng.choice(len(base), size=family.n, replace=family.n > len(base))
    x = base[rows].copy()
    if family.n > len(base):  # resampled rows: jitter the continuous columns
        x[:, :n_cont] += 0.1 * rng.normal(size=(family.n, n_cont))
    n, d = x.shape
    c = x[:, :n_cont]
    if family.design == "linear":
        mu0 = _standardise(x @ (rng.normal(size=d) * (rng.random(d) < 0.5)), 1.5)
        cate = 1.0 + _standardise(x @ (rng.normal(size=d) * (rng.random(d) < 0.3)))
        logit = x @ rng.normal(size=d)
    elif family.design == "nonlinear":
        a, b = rng.permutation(n_cont)[:2]
        k = rng.integers(n_cont, d)
        mu0 = _standardise(
            np.exp(0.5 * np.clip(c @ rng.normal(size=n_cont) / 2, -3, 3))
            + np.sin(2 * c[:, a])
            + x[:, k] * c[:, b],
            1.5,
        )
        cate = 1.0 + _standardise(2.0 / (1 + np.exp(-3 * c[:, a])) + 0.8 * x[:, k] * (c[:, b] > 0))
        logit = c @ rng.normal(size=n_cont) + 0.5 * x[:, k]
    elif family.design == "homogeneous":
        mu0 = _standardise(
            np.sin(c @ rng.normal(size=n_cont) / 2) + x @ rng.normal(size=d) / 4, 1.5
        )
        cate = np.full(n, 2.0)
        logit = c @ rng.normal(size=n_cont)
    elif family.design == "random_net":

        def net(scale: float) -> np.ndarray:
            w = rng.normal(size=(d, 20)) / np.sqrt(d) * 2
            return _standardise(np.tanh(x @ w + rng.normal(size=20)) @ rng.normal(size=20), scale)

        mu0 = net(1.5)
        cate = 1.0 + net(float(rng.uniform(0.5, 1.5)))
        logit = x @ rng.normal(size=d)
    else:
        raise ValueError(family.design)
    e = 1 / (1 + np.exp(-family.overlap * _standardise(logit)))
    e = np.clip(e, family.clip, 1 - family.clip)
    t = (rng.random(n) < e).astype(float)
    mu1 = mu0 + cate
    y = np.where(t == 1, mu1, mu0) + NOISE_SD * rng.normal(size=n)
    test = np.zeros(n, dtype=bool)
    test[rng.permutation(n)[: round(TEST_FRACTION * n)]] = True
    return {"x": x.astype(np.float32), "t": t, "y": y, "cate": cate, "e": e, "test": test}


# ---------------------------------------------------------------- methods
def _knowable(method: str, overrides: dict[str, Any], seed: int, max_epochs: int | None) -> Any:
    from knowable.effects import ConformalCATE, TARNet

    kw: dict[str, Any] = {} if max_epochs is None else {"max_epochs": max_epochs}
    kw.update(overrides)
    if method == "due":
        return TARNet("due", device="cpu", random_state=seed, **kw)
    if method == "ensemble":
        return TARNet("ensemble", device="cpu", random_state=seed, **kw)
    if method == "dropout":
        return TARNet("dropout", device="cpu", random_state=seed, **kw)
    if method in ("due-conformal", "due-conformal-split"):
        inner = TARNet("due", device="cpu", random_state=seed, **kw)
        weighting = "propensity" if method == "due-conformal" else "none"
        return ConformalCATE(inner, weighting=weighting, random_state=seed)
    raise ValueError(method)


def run_one(job: tuple[str, str, int, int | None, dict[str, Any]]) -> dict[str, Any]:
    """Fit one method on one replication of one family; score it on the test units."""
    family, method, rep, max_epochs, overrides = job
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    data = simulate(FAMILIES[family], rep)
    te = data["test"]
    xtr, ttr, ytr = data["x"][~te], data["t"][~te], data["y"][~te]
    xte, cate = data["x"][te], data["cate"][te]
    seed = 1000 * FAMILIES[family].seed + rep
    with threadpool_limits(1):
        if method == "causalforestdml":
            from econml.dml import CausalForestDML
            from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

            est = CausalForestDML(
                model_y=GradientBoostingRegressor(random_state=seed),
                model_t=GradientBoostingClassifier(random_state=seed),
                discrete_treatment=True,
                n_jobs=1,
                random_state=seed,
            )
            c0, w0 = time.process_time(), time.perf_counter()
            est.fit(ytr, ttr.astype(int), X=xtr)
            fit_cpu, fit_s = time.process_time() - c0, time.perf_counter() - w0
            tau = np.ravel(est.effect(xte))
            lo, hi = (np.ravel(v) for v in est.effect_interval(xte, alpha=0.05))
            alo, ahi = (float(np.ravel(v)[0]) for v in est.ate_interval(xte, alpha=0.05))
        else:
            est = _knowable(method, overrides, seed, max_epochs)
            c0, w0 = time.process_time(), time.perf_counter()
            est.fit(xtr, ttr, ytr)
            fit_cpu, fit_s = time.process_time() - c0, time.perf_counter() - w0
            tau = est.effect(xte)
            lo, hi = est.effect_interval(xte, alpha=0.05)
            alo, ahi = est.ate_interval(xte, alpha=0.05)
    true_ate = float(cate.mean())
    sd = (hi - lo) / (2 * 1.959963984540054)
    ok = np.isfinite(sd) & (sd > 0)
    row: dict[str, Any] = {
        "family": family,
        "method": method,
        "rep": rep,
        "n_train": int((~te).sum()),
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu,
        "pehe": float(np.sqrt(np.mean((tau - cate) ** 2))),
        "ate_err": float(abs(tau.mean() - true_ate)),
        "cover95": float(np.mean((cate >= lo) & (cate <= hi))),
        "width95": float(np.median(hi - lo)),
        "infinite95": float(np.mean(~np.isfinite(hi - lo))),
        "ate_cover95": float(alo <= true_ate <= ahi),
        "ate_width95": float(ahi - alo),
        # root mean squared standardised error: 1 when the interval's sd matches the error
        "rms_z": float(np.sqrt(np.mean(((tau[ok] - cate[ok]) / sd[ok]) ** 2)))
        if ok.any()
        else None,
    }
    if method.startswith("due-conformal"):
        # what the conformal guarantee is about: the individual effect Y(1) - Y(0)
        rng = np.random.default_rng([FAMILIES[family].seed, rep, 7])
        ite = cate + NOISE_SD * (rng.normal(size=cate.shape) - rng.normal(size=cate.shape))
        row["ite_cover95"] = float(np.mean((ite >= lo) & (ite <= hi)))
    return row


# ---------------------------------------------------------------- summary
def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cf = {(r["family"], r["rep"]): r for r in rows if r["method"] == "causalforestdml"}
    for fam in dict.fromkeys(r["family"] for r in rows):
        out[fam] = {}
        for method in dict.fromkeys(r["method"] for r in rows if r["family"] == fam):
            sub = [r for r in rows if r["family"] == fam and r["method"] == method]
            s: dict[str, Any] = {"n_reps": len(sub)}
            for key in (
                "pehe",
                "ate_err",
                "cover95",
                "width95",
                "ate_cover95",
                "ate_width95",
                "fit_s",
                "fit_cpu_s",
                "infinite95",
                "rms_z",
                "ite_cover95",
            ):
                if key not in sub[0] or any(r.get(key) is None for r in sub):
                    continue
                v = np.array([r[key] for r in sub], dtype=float)
                s[f"{key}_mean"] = float(v.mean())
                s[f"{key}_sd"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
                s[f"{key}_min"] = float(v.min())
                s[f"{key}_max"] = float(v.max())
            for unit in ("fit_s", "fit_cpu_s"):
                ratios = [r[unit] / cf[(fam, r["rep"])][unit] for r in sub if (fam, r["rep"]) in cf]
                if ratios:
                    s[f"{unit}_ratio_cf_median"] = float(np.median(ratios))
            out[fam][method] = s
    return out


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# CATE benchmark families",
        "",
        f"Command: `{result['command']}`  ",
        f"Families: {', '.join(result['families'])}; replications {result['reps']}  ",
        f"Training: {result['training']}  ",
        f"Machine: {result['machine']}; load average at start {result['loadavg_start']}, "
        f"at end {result['loadavg_end']}; wall {result['wall_s'] / 60:.1f} min  ",
        f"Versions: {result['versions']}; peers: {result['peers_status']}  ",
        f"Jobs: {result.get('jobs_total', '-')}, of which {result.get('jobs_resumed', 0)} resumed "
        "from the job store (a resumed job's CPU and wall seconds are those of the run that "
        "did it; the load averages above are this command's)  ",
        f"Not run: {result['not_run'] or 'none'}",
        "",
        "Cells are mean ± sd over replications [min, max]. cover95: share of test units whose "
        "true CATE lies in the 95 % CATE interval. ATE cover: share of replications whose 95 % "
        "ATE interval (over the test units) holds the test units' true mean CATE. "
        "fit/CF: median over replications of fit time ÷ CausalForestDML's fit time on the same "
        "replication, in CPU seconds of the single-threaded worker (wall seconds are "
        "distorted by the load of the shared machine; both are given). width95: median "
        "interval width over test units (mean over replications); rms z: root mean square of "
        "(estimate − true CATE) / (interval half-width / 1.96) over test units, mean over "
        "replications (1 = intervals as wide as the errors; 2 = errors twice the claimed sd); (inf): share of test units "
        "whose interval is infinite. Conformal rows: the ATE interval is the inner "
        "estimator's own (fitted on 75 % of the training units), not conformalised.",
        "",
    ]
    for fam, methods in result["summary"].items():
        lines += [
            f"## {fam}",
            "",
            "| method | reps | √PEHE | cover95 | rms z | width95 (inf) | ATE cover | ATE err | "
            "fit CPU s | fit/CF CPU | fit/CF wall |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for method, s in methods.items():

            def g(key: str, s: dict[str, Any] = s, fmt: str = ".3f") -> str:
                if f"{key}_mean" not in s:
                    return "-"
                return (
                    f"{s[f'{key}_mean']:{fmt}} ± {s[f'{key}_sd']:{fmt}} "
                    f"[{s[f'{key}_min']:{fmt}}, {s[f'{key}_max']:{fmt}}]"
                )

            def ratio(key: str, s: dict[str, Any] = s) -> str:
                return "-" if key not in s else f"{s[key]:.2f}"

            lines.append(
                f"| {method} | {s['n_reps']} | {g('pehe')} | {g('cover95')} | "
                f"{ratio('rms_z_mean')} | "
                f"{s['width95_mean']:.2f} ({s['infinite95_mean']:.2f}) | "
                f"{s['ate_cover95_mean']:.2f} | {s['ate_err_mean']:.3f} | "
                f"{s['fit_cpu_s_mean']:.1f} | {ratio('fit_cpu_s_ratio_cf_median')} | "
                f"{ratio('fit_s_ratio_cf_median')} |"
            )
        for name in ("due-conformal", "due-conformal-split"):
            conf = methods.get(name)
            if conf and "ite_cover95_mean" in conf:
                lines += [
                    "",
                    f"{name}: coverage of the individual effect Y(1) − Y(0) (what its "
                    f"guarantee is about): {conf['ite_cover95_mean']:.3f} ± "
                    f"{conf['ite_cover95_sd']:.3f}.",
                ]
        lines.append("")
    return "\n".join(lines) + "\n"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "-"


def _key(job: tuple[str, str, int, int | None, dict[str, Any]]) -> str:
    family, method, rep, max_epochs, overrides = job
    tag = f"{family}-{method}-r{rep}"
    if max_epochs is not None and method != "causalforestdml":
        tag += f"-e{max_epochs}"
    if overrides and method != "causalforestdml":
        text = json.dumps(overrides, sort_keys=True).encode()
        tag += "-set" + hashlib.sha256(text).hexdigest()[:8]
    return tag


def _parse_overrides(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = json.loads(value)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from knowable.parallel import run_jobs, runner_options

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"2 families x 2 reps, max_epochs={QUICK_EPOCHS}"
    )
    parser.add_argument("--families", default=",".join(EVALUATION))
    parser.add_argument("--reps", default="0-9")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--suffix", default="")
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="cap the training epochs of every knowable method alike (a compute cap, "
        "not a tuned setting; default: the library defaults)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="override a TARNet parameter for every knowable method (tuning family only)",
    )
    parser.add_argument(
        "--confirm",
        action="store_true",
        help="allow --set on evaluation families, to confirm a setting chosen on the tuning family",
    )
    add_runner_arguments(parser, workers=max(1, (os.cpu_count() or 1)))
    args = parser.parse_args(argv)
    families = ["linear", "nonlinear"] if args.quick else args.families.split(",")
    reps = [0, 1] if args.quick else parse_range(args.reps)
    for f in families:
        if f not in FAMILIES:
            raise SystemExit(f"unknown family {f!r}; choose from {sorted(FAMILIES)}")
    overrides = _parse_overrides(args.set)
    if overrides and not args.confirm and any(f != "tuning" for f in families):
        raise SystemExit(
            "--set is for the tuning family only (choose settings there, not here); "
            "--confirm runs a setting already chosen on the tuning family on evaluation families."
        )
    methods = [m for m in args.methods.split(",") if m]
    import sklearn
    import torch

    import knowable

    versions = [f"knowable {knowable.__version__}", f"torch {torch.__version__}"]
    versions.append(f"scikit-learn {sklearn.__version__}")
    peers_status = "CausalForestDML"
    if "causalforestdml" in methods:
        try:
            import econml

            versions.append(f"econml {econml.__version__}")
        except ImportError:
            methods.remove("causalforestdml")
            peers_status = "econml not importable (optional [peers] extra): skipped"
    load0 = _loadavg()
    max_epochs = QUICK_EPOCHS if args.quick else args.max_epochs
    for m in methods:
        if m not in METHODS + EXTRA_METHODS:
            raise SystemExit(f"unknown method {m!r}; choose from {METHODS + EXTRA_METHODS}")
    jobs = [(f, m, r, max_epochs, overrides) for f in families for r in reps for m in methods]
    t0 = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = args.suffix or ("_quick" if args.quick else "")

    def describe(record: Any) -> str:
        r = record.result
        return (
            f"{r['family']:>11} {r['method']:>15} r{r['rep']:<2} √PEHE {r['pehe']:.3f} "
            f"cover {r['cover95']:.2f} ATE cover {r['ate_cover95']:.0f} fit {r['fit_s']:.1f}s"
        )

    report = run_jobs(
        run_one,
        {_key(j): j for j in jobs},
        RESULTS / f"cate_families{suffix}.jobs",
        describe=describe,
        **runner_options(args),
    )
    rows = report.results
    load1 = _loadavg()
    result = {
        "command": "python " + " ".join(["benchmarks/cate_families.py", *sys.argv[1:]])
        if argv is None
        else "main(" + repr(argv) + ")",
        "families": families,
        "reps": reps,
        "methods": methods,
        "overrides": overrides,
        "training": (
            "library defaults" if max_epochs is None else f"max_epochs={max_epochs} (compute cap)"
        )
        + (f"; overrides {overrides}" if overrides else ""),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, workers {args.workers}",
        "loadavg_start": load0,
        "loadavg_end": load1,
        "versions": ", ".join(versions),
        "peers_status": peers_status,
        "library": report.library,
        "not_run": report.not_run,
        "jobs_resumed": sum(r.resumed for r in report.records.values()),
        "jobs_total": len(report.records),
        "wall_s": time.perf_counter() - t0,
        "summary": _summary(rows),
        "rows": rows,
    }
    (RESULTS / f"cate_families{suffix}.json").write_text(json.dumps(result, indent=1))
    (RESULTS / f"cate_families{suffix}.md").write_text(_markdown(result))
    print(_markdown(result))
    return result


if __name__ == "__main__":
    main()
