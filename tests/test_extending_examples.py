"""The examples of docs/extending.md, executed: each adds a strategy as one library file plus
one test file, and nothing else changes (the registry, select, select_causal, the loops, the CLI
help and the conformance kit all find it)."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

from knowable.acquire import available_strategies, registered_strategies, unregister_strategy

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples" / "extending"
DOC = ROOT / "docs" / "extending.md"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_score_is_one_file_found_by_discovery():
    """The score example is in the library itself: strategies/mean_std.py, picked up unlisted."""
    assert (ROOT / "src" / "knowable" / "acquire" / "strategies" / "mean_std.py").exists()
    assert (ROOT / "tests" / "test_strategy_mean_std.py").exists()
    spec = next(s for s in registered_strategies("score") if s.name == "mean-std")
    assert spec.scores["categorical"].__module__ == "knowable.acquire.strategies.mean_std"
    assert "topk-mean-std" in available_strategies()


@pytest.mark.parametrize(
    ("library", "tests", "name", "family"),
    [
        ("egreedy_bald.py", "test_egreedy_bald.py", "egreedy-bald", "batch"),
        ("tau_pi_bald.py", "test_tau_pi_bald.py", "tau-pi-bald", "causal"),
    ],
)
def test_example(library, tests, name, family):
    _load(EXAMPLES / library, f"example_{library[:-3]}")
    try:
        assert name in available_strategies(family)
        module = _load(EXAMPLES / tests, f"example_{tests[:-3]}")
        checks = [
            f for n, f in inspect.getmembers(module, inspect.isfunction) if n.startswith("test_")
        ]
        assert checks
        for check in checks:
            check()
        from knowable.cli._acquire import strategy_help

        assert name in strategy_help()
    finally:
        unregister_strategy(name, family=family)
    assert name not in available_strategies(family)


def test_the_cate_example_is_one_file_that_passes_the_kit():
    """The library file alone, loaded under a fresh name (no re-export, no registry), gives a
    CATE estimator that derives the effect API from CATEBase and passes the conformance kit."""
    from knowable.effects import CATEBase
    from knowable.testing import check_estimator, estimator_checks

    path = ROOT / "src" / "knowable" / "effects" / "_tlearner.py"
    module = _load(path, "knowable.effects._example_tlearner")
    cls = module.BootstrapTLearner
    assert issubclass(cls, CATEBase) and cls._estimator_kind == "cate"
    assert not {"effect", "effect_interval", "ate", "ate_interval"} & set(vars(cls))
    est = cls(n_boot=4, random_state=0)
    assert "check_cate_outputs" in [c.__name__ for c in estimator_checks(est)]
    check_estimator(est)


def test_the_uncertainty_example_is_one_file_found_by_discovery():
    """Last-layer Laplace is one file in models/uncertainty/: registered without being listed,
    offered by the CLI, and named by no other library module (the estimators, the CLI and the
    conformance tests read the registry)."""
    from knowable.cli._options import uncertainty_names
    from knowable.models import get_uncertainty, uncertainty_methods

    library = ROOT / "src" / "knowable" / "models" / "uncertainty" / "laplace.py"
    assert library.exists() and (ROOT / "tests" / "test_uncertainty_laplace.py").exists()
    assert "laplace" in uncertainty_methods() and "laplace" in uncertainty_names()
    assert type(get_uncertainty("laplace")).__module__ == "knowable.models.uncertainty.laplace"
    mentions = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "src" / "knowable").rglob("*.py")
        if "uncertainty='laplace'" in p.read_text()
        or 'uncertainty="laplace"' in p.read_text()
        or '"laplace"' in p.read_text()
    ]
    assert mentions == ["src/knowable/models/uncertainty/laplace.py"]


def test_the_page_shows_exactly_these_files():
    text = DOC.read_text()
    for path in (
        "src/knowable/acquire/strategies/mean_std.py",
        "tests/test_strategy_mean_std.py",
        "docs/examples/extending/egreedy_bald.py",
        "docs/examples/extending/test_egreedy_bald.py",
        "docs/examples/extending/tau_pi_bald.py",
        "docs/examples/extending/test_tau_pi_bald.py",
        "src/knowable/effects/_tlearner.py",
        "tests/test_effects_bootstrap_tlearner.py",
        "src/knowable/models/uncertainty/laplace.py",
        "tests/test_uncertainty_laplace.py",
    ):
        assert f'--8<-- "{path}"' in text, path
