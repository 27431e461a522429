"""A persisted experiment campaign: propose a batch, measure it, ingest, repeat.

:class:`Campaign` keeps every candidate, round, proposal, measurement and model
snapshot in a database (SQLite file by default; any SQLAlchemy URL). Each write
is one transaction under the campaign's write lock, so two processes proposing
at once get consecutive rounds with disjoint candidates, and a process killed at
any instant leaves the database as it was before or after its whole write.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from .._validation import check_in_options, check_positive_int
from .._version import __version__
from ..acquire import available_strategies, discobax, select
from ..models import UncertainRegressor
from . import _schema as S
from ._store import (
    check_revision,
    database_url,
    make_engine,
    read_transaction,
    schema_revision,
    upgrade_schema,
    write_transaction,
)

__all__ = ["DEFAULT_MODEL_PARAMS", "Campaign", "IngestResult", "Proposal"]

#: Settings of the :class:`~knowable.models.UncertainRegressor` a campaign refits
#: each round (a small, fast deep ensemble); override with ``model_params``.
DEFAULT_MODEL_PARAMS: dict[str, Any] = {
    "n_members": 5,
    "hidden_size": 64,
    "depth": 2,
    "max_epochs": 200,
    "patience": 20,
    "batch_size": 64,
    "device": "cpu",
}
#: Fewer current measurements than this: the round is drawn uniformly at random.
MIN_TRAINING = 4
_EXTRA_STRATEGIES = ("discobax",)


def _now() -> datetime:
    return datetime.now(UTC)


def _first(items: list[Any], k: int = 5) -> str:
    shown = ", ".join(repr(str(v)) for v in items[:k])
    return shown + (f" (and {len(items) - k} more)" if len(items) > k else "")


def _unique_ids(ids: pd.Series, *, missing: str, repeated: str) -> pd.Series:
    """``ids`` as strings; ``ValueError`` (with these messages) if any is empty or repeated."""
    if ids.isna().any():
        raise ValueError(missing)
    ids = ids.astype(str)
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        raise ValueError(f"{repeated}: {_first(dup)}.")
    return ids


@dataclass(frozen=True)
class Proposal:
    """A proposed batch.

    Attributes
    ----------
    round_index : int
        The round (0 for the first batch).
    strategy : str
        The strategy that chose the batch (``"random"`` while too few
        measurements exist to fit a model).
    seed : int
        The round's seed.
    table : pandas.DataFrame of shape (b, 6)
        The id column, ``rank``, ``score``, ``pred_mean``, ``pred_std``, ``reason``.
    reused : bool
        True when the round already existed and was returned unchanged.
    """

    round_index: int
    strategy: str
    seed: int
    table: pd.DataFrame
    reused: bool = False


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did.

    Attributes
    ----------
    n_rows : int
        Rows in the results.
    n_new, n_replaced, n_unchanged : int
        First measurements, replaced measurements (old value kept as history),
        and re-sent identical values.
    already_ingested : bool
        The same content was ingested before; nothing was written.
    content_hash : str
        SHA-256 of the results' content.
    """

    n_rows: int
    n_new: int
    n_replaced: int
    n_unchanged: int
    already_ingested: bool
    content_hash: str
    warnings: list[str] = field(default_factory=list)


class Campaign:
    """An experiment campaign stored in a database.

    Open an existing campaign with ``Campaign(db)``; create one with
    :meth:`create`.

    Parameters
    ----------
    db : str or pathlib.Path
        A SQLite file path, or an SQLAlchemy URL such as
        ``postgresql+psycopg://user@host/dbname``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tempfile, os
    >>> rng = np.random.default_rng(0)
    >>> pool = pd.DataFrame({"gene": [f"g{i}" for i in range(40)], "x": rng.normal(size=40)})
    >>> db = os.path.join(tempfile.mkdtemp(), "c.sqlite")
    >>> camp = Campaign.create(db, pool, id_column="gene")
    >>> camp.propose(8).table.shape
    (8, 6)
    """

    def __init__(self, db: str | Path) -> None:
        self.url = database_url(db)
        self._engine = make_engine(db)
        where = sa.make_url(self.url).render_as_string(hide_password=True)
        self._where = where
        with read_transaction(self._engine) as conn:
            revision = schema_revision(conn)
            check_revision(revision, where)
            has_row = (
                revision is not None
                and conn.execute(sa.select(sa.func.count()).select_from(S.campaign)).scalar_one()
            )
        if not has_row:
            raise ValueError(f"{where} holds no knowable campaign; create one with init.")
        if revision != S.SCHEMA_HEAD:
            with write_transaction(self._engine) as conn:
                upgrade_schema(conn)
        self._load_settings()

    # ------------------------------------------------------------------ create
    @classmethod
    def create(
        cls,
        db: str | Path,
        candidates: pd.DataFrame,
        *,
        id_column: str,
        features: list[str] | None = None,
        target: str = "y",
        seed: int = 0,
        model_params: dict[str, Any] | None = None,
    ) -> Campaign:
        """Create a campaign with its candidate pool.

        Parameters
        ----------
        db : str or pathlib.Path
            SQLite path or SQLAlchemy URL; the database must not hold a campaign.
        candidates : pandas.DataFrame of shape (n, d + 1)
            One row per candidate: the id column and numeric features.
        id_column : str
            The column of unique candidate ids.
        features : list of str, optional
            Feature columns (default: every other column).
        target : str
            Name of the measured column in results files.
        seed : int
            Campaign seed; round ``r`` uses a seed derived from it and ``r``.
        model_params : dict, optional
            Overrides of :data:`DEFAULT_MODEL_PARAMS`.

        Returns
        -------
        Campaign
        """
        if not isinstance(candidates, pd.DataFrame):
            raise TypeError(
                f"candidates must be a pandas DataFrame, got {type(candidates).__name__}."
            )
        if not isinstance(id_column, str) or id_column not in candidates.columns:
            raise ValueError(
                f"id column {id_column!r} not found; columns are {list(candidates.columns)}."
            )
        if not isinstance(target, str) or not target:
            raise ValueError("target must be a non-empty column name.")
        seed = check_positive_int(seed, "seed", minimum=0)
        if features is None:
            features = [c for c in candidates.columns if c != id_column]
        features = [str(f) for f in features]
        missing = [f for f in features if f not in candidates.columns]
        if missing:
            raise ValueError(f"feature column(s) {missing} not found in the candidates.")
        if not features:
            raise ValueError("the candidates need at least one feature column.")
        if id_column in features or target in features:
            raise ValueError("the id and target columns cannot be features.")
        if len(candidates) == 0:
            raise ValueError("the candidate table is empty.")
        ids = _unique_ids(
            candidates[id_column],
            missing=f"id column {id_column!r} has empty values.",
            repeated="candidate ids are not unique",
        )
        X = _numeric_features(candidates, features, ids)
        params = dict(DEFAULT_MODEL_PARAMS)
        params.update(model_params or {})
        UncertainRegressor(**params)  # reject unknown settings now, not at the first propose
        engine = make_engine(db)
        url = database_url(db)
        where = sa.make_url(url).render_as_string(hide_password=True)
        with write_transaction(engine, lock=False) as conn:
            revision = schema_revision(conn)
            if revision is not None:
                raise ValueError(f"{where} already holds a knowable campaign; open it instead.")
            existing = sa.inspect(conn).get_table_names()
            if existing:
                raise ValueError(
                    f"{where} already has tables ({_first(existing)}); use an empty database."
                )
            upgrade_schema(conn)
            conn.execute(
                S.campaign.insert().values(
                    id=1,
                    id_column=id_column,
                    target=target,
                    feature_names=json.dumps(features),
                    seed=seed,
                    model_params=json.dumps(params, sort_keys=True),
                    created_with=__version__,
                    created_at=_now(),
                )
            )
            rows = [
                {"name": name, "features": json.dumps(row.tolist())}
                for name, row in zip(ids.tolist(), X, strict=True)
            ]
            for start in range(0, len(rows), 5000):
                conn.execute(S.candidates.insert(), rows[start : start + 5000])
        engine.dispose()
        return cls(db)

    def _load_settings(self) -> None:
        with read_transaction(self._engine) as conn:
            row = conn.execute(sa.select(S.campaign)).one()
        self.id_column: str = row.id_column
        self.target: str = row.target
        self.feature_names: list[str] = json.loads(row.feature_names)
        self.seed: int = int(row.seed)
        self.model_params: dict[str, Any] = json.loads(row.model_params)
        self.created_with: str = row.created_with

    def __repr__(self) -> str:
        return f"Campaign({self._where!r})"

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    # ------------------------------------------------------------------ reading
    def _candidates(self, conn: sa.Connection) -> tuple[np.ndarray, list[str], np.ndarray]:
        rows = conn.execute(
            sa.select(S.candidates.c.id, S.candidates.c.name, S.candidates.c.features).order_by(
                S.candidates.c.id
            )
        ).all()
        pk = np.array([r.id for r in rows], dtype=np.int64)
        names = [r.name for r in rows]
        X = np.array([json.loads(r.features) for r in rows], dtype=np.float64).reshape(
            len(rows), len(self.feature_names)
        )
        return pk, names, X

    def _current(self, conn: sa.Connection) -> dict[int, float]:
        rows = conn.execute(
            sa.select(S.measurements.c.candidate_id, S.measurements.c.value).where(
                S.measurements.c.is_current
            )
        ).all()
        return {int(r.candidate_id): float(r.value) for r in rows}

    def _proposed(self, conn: sa.Connection) -> set[int]:
        return set(conn.execute(sa.select(S.proposals.c.candidate_id)).scalars().all())

    def candidates(self) -> pd.DataFrame:
        """The candidate pool.

        Returns
        -------
        pandas.DataFrame of shape (n, d + 1)
            The id column and the features, in the order they were given.
        """
        with read_transaction(self._engine) as conn:
            _, names, X = self._candidates(conn)
        frame = pd.DataFrame(X, columns=self.feature_names)
        frame.insert(0, self.id_column, names)
        return frame

    # ------------------------------------------------------------------ propose
    def round_seed(self, round_index: int) -> int:
        """The seed round ``round_index`` uses when none is given.

        Parameters
        ----------
        round_index : int
            The round.

        Returns
        -------
        int
        """
        state = np.random.SeedSequence([self.seed, int(round_index)]).generate_state(1)
        return int(state[0])

    def propose(
        self,
        batch_size: int,
        strategy: str = "power-bald",
        *,
        seed: int | None = None,
        round_index: int | None = None,
        temperature: float = 1.0,
        verbose: bool = False,
        backend: str = "local",
        workers: int = 1,
        ray_address: str | None = None,
    ) -> Proposal:
        """Fit the model to the current measurements and record the next batch.

        Parameters
        ----------
        batch_size : int
            Candidates to propose (at most the candidates never proposed).
        strategy : str
            Any name of :func:`knowable.acquire.available_strategies`, or
            ``"discobax"``. Until :data:`MIN_TRAINING` measurements exist the
            batch is drawn at random (and the round says so).
        seed : int, optional
            The round's seed (default: derived from the campaign seed and round).
        round_index : int, optional
            The round this call is meant to create. If it exists already with the
            same batch size and strategy, it is returned unchanged (so re-running a
            command that was killed after its commit does not propose twice); any
            other existing or skipped round is refused.
        temperature : float
            Temperature of stochastic strategies.
        verbose : bool
            Show a progress bar while the model fits.
        backend : {"local", "ray"}
            Where the ensemble members are refitted (:func:`knowable.parallel.map_jobs`;
            ``"ray"`` starts a local Ray instance unless ``ray_address`` is given). The
            proposal is the same on every backend.
        workers : int
            Members refitted at once.
        ray_address : str, optional
            A Ray cluster to join (``"auto"`` or ``"ray://host:port"``).

        Returns
        -------
        Proposal
        """
        b = check_positive_int(batch_size, "batch_size")
        name = str(strategy).strip().lower().replace("_", "-")
        if name not in available_strategies() and name not in _EXTRA_STRATEGIES:
            raise ValueError(
                f"unknown strategy {strategy!r}; choose one of "
                f"{', '.join([*available_strategies(), *_EXTRA_STRATEGIES])}."
            )
        if seed is not None:
            seed = check_positive_int(seed, "seed", minimum=0)
        execution = {
            "backend": check_in_options(backend, "backend", ("local", "ray")),
            "workers": check_positive_int(workers, "workers"),
            "ray_address": ray_address,
        }
        with write_transaction(self._engine) as conn:
            last = conn.execute(sa.select(sa.func.max(S.rounds.c.round_index))).scalar()
            nxt = 0 if last is None else int(last) + 1
            if round_index is not None:
                r = check_positive_int(round_index, "round_index", minimum=0)
                if r < nxt:
                    return self._existing_round(conn, r, b, name)
                if r > nxt:
                    raise ValueError(f"the next round is {nxt}, not {r}.")
            pk, _, X = self._candidates(conn)
            proposed = self._proposed(conn)
            pool_mask = np.array([p not in proposed for p in pk.tolist()], dtype=bool)
            n_pool = int(pool_mask.sum())
            if b > n_pool:
                raise ValueError(
                    f"batch of {b} is larger than the {n_pool} candidates never proposed."
                )
            current = self._current(conn)
            round_seed = self.round_seed(nxt) if seed is None else seed
            pool_idx = np.flatnonzero(pool_mask)
            chosen, scores, mean, std, reasons, used, snapshot = self._choose(
                X, pk, current, pool_idx, b, name, round_seed, temperature, verbose, execution
            )
            snapshot_id = checksum = None
            if snapshot is not None:
                config, weights = snapshot
                checksum = hashlib.sha256(weights).hexdigest()
                snapshot_id = conn.execute(
                    S.model_snapshots.insert().values(
                        checksum=checksum,
                        config=config,
                        weights=weights,
                        library_version=__version__,
                        created_at=_now(),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            round_id = conn.execute(
                S.rounds.insert().values(
                    round_index=nxt,
                    strategy=used,
                    requested_strategy=name,
                    batch_size=b,
                    seed=round_seed,
                    n_training=len(current),
                    library_version=__version__,
                    model_checksum=checksum,
                    snapshot_id=snapshot_id,
                    info=json.dumps({"pool_size": n_pool, "temperature": float(temperature)}),
                    created_at=_now(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                S.proposals.insert(),
                [
                    {
                        "round_id": round_id,
                        "candidate_id": int(pk[i]),
                        "rank": k,
                        "score": _float_or_none(scores[k]),
                        "pred_mean": _float_or_none(mean[k]),
                        "pred_std": _float_or_none(std[k]),
                        "reason": reasons[k],
                    }
                    for k, i in enumerate(chosen)
                ],
            )
            table = self._round_table(conn, round_id)
        return Proposal(nxt, used, round_seed, table, reused=False)

    def _existing_round(self, conn: sa.Connection, r: int, b: int, name: str) -> Proposal:
        row = conn.execute(sa.select(S.rounds).where(S.rounds.c.round_index == r)).one()
        if row.batch_size != b or row.requested_strategy != name:
            raise ValueError(
                f"round {r} was already proposed with batch {row.batch_size} and strategy "
                f"{row.requested_strategy!r}; ask for round {r} with those, or for the next round."
            )
        return Proposal(
            r, row.strategy, int(row.seed), self._round_table(conn, row.id), reused=True
        )

    def _round_table(self, conn: sa.Connection, round_id: int) -> pd.DataFrame:
        p, c = S.proposals, S.candidates
        rows = conn.execute(
            sa.select(c.c.name, p.c.rank, p.c.score, p.c.pred_mean, p.c.pred_std, p.c.reason)
            .join(c, c.c.id == p.c.candidate_id)
            .where(p.c.round_id == round_id)
            .order_by(p.c.rank)
        ).all()
        out = pd.DataFrame(
            [tuple(r) for r in rows],
            columns=[self.id_column, "rank", "score", "pred_mean", "pred_std", "reason"],
        )
        for col in ("score", "pred_mean", "pred_std"):
            out[col] = out[col].astype(np.float64)
        return out

    def _fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        seed: int,
        verbose: bool,
        execution: dict[str, Any] | None = None,
    ) -> UncertainRegressor:
        params = dict(self.model_params)
        params.update(random_state=seed % (2**32), verbose=verbose)
        return UncertainRegressor(**params).fit(X, y, **(execution or {}))

    def _choose(
        self,
        X: np.ndarray,
        pk: np.ndarray,
        current: dict[int, float],
        pool_idx: np.ndarray,
        b: int,
        name: str,
        seed: int,
        temperature: float,
        verbose: bool,
        execution: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str], str, Any]:
        rng = np.random.default_rng(seed)
        nan = np.full(b, np.nan)
        if len(current) < MIN_TRAINING or name == "random":
            pick = rng.permutation(len(pool_idx))[:b]
            why = (
                "uniformly at random"
                if name == "random"
                else f"uniformly at random: fewer than {MIN_TRAINING} measurements to fit a model"
            )
            return pool_idx[pick], nan, nan, nan, [why] * b, "random", None
        pos = {int(p): i for i, p in enumerate(pk.tolist())}
        train_rows = np.array([pos[c] for c in sorted(current)], dtype=np.int64)
        y = np.array([current[c] for c in sorted(current)], dtype=np.float64)
        model = self._fit(X[train_rows], y, seed, verbose, execution)
        post = model.posterior(X[pool_idx], batch_size=4096)
        mean_all, std_all = post.mean()[:, 0], post.std()[:, 0]
        centre, spread = X.mean(0), X.std(0) + 1e-12
        z = (X[pool_idx] - centre) / spread
        if name == "discobax":
            res = discobax(post, b, features=z, lengthscale=np.sqrt(z.shape[1]), random_state=rng)
            idx, pool_scores, label = res.indices, res.pool_scores, "DiscoBAX information gain"
            sc = res.scores
        else:
            batch = select(
                post,
                b,
                name,
                temperature=temperature,
                random_state=rng,
                embeddings=z,
                labelled_embeddings=(X[train_rows] - centre) / spread,
            )
            idx, pool_scores, sc, label = (
                batch.indices,
                batch.pool_scores,
                batch.scores,
                name,
            )
        reasons = []
        for k, i in enumerate(idx):
            if pool_scores is not None:
                rank = int((pool_scores > pool_scores[i]).sum()) + 1
                reasons.append(
                    f"{label} {pool_scores[i]:.4g} (rank {rank} of {len(pool_idx)} in the pool); "
                    f"predicted {mean_all[i]:.4g} ± {std_all[i]:.3g}"
                )
            else:
                reasons.append(
                    f"diversity pick by {name} (pick {k + 1}); "
                    f"predicted {mean_all[i]:.4g} ± {std_all[i]:.3g}"
                )
        with tempfile.TemporaryDirectory() as tmp:
            folder = model.save(Path(tmp) / "model")
            config = (folder / "config.json").read_text()
            weights = (folder / "weights.safetensors").read_bytes()
        return (
            pool_idx[idx],
            np.asarray(sc, dtype=float),
            mean_all[idx],
            std_all[idx],
            reasons,
            name,
            (config, weights),
        )

    # ------------------------------------------------------------------ ingest
    def ingest(
        self,
        results: pd.DataFrame | str | Path,
        *,
        replace: bool = False,
        source: str | None = None,
    ) -> IngestResult:
        """Record measured results, all or nothing.

        Parameters
        ----------
        results : pandas.DataFrame, str or pathlib.Path
            A table (or CSV/Parquet file) with the id column and the target
            column (other columns are ignored). Each id must have been proposed.
        replace : bool
            Allow a new value for an already measured candidate (the old value
            stays in the history, no longer current). Without it, a differing
            value is refused; an identical value is left as it is.
        source : str, optional
            What to record as the source (default: the file name).

        Returns
        -------
        IngestResult
        """
        frame, digest, where = _read_results(results, self.id_column, self.target)
        for col in (self.id_column, self.target):
            if col not in frame.columns:
                raise ValueError(
                    f"{where} lacks column {col!r}; results need columns "
                    f"{self.id_column!r} and {self.target!r} (found {list(frame.columns)})."
                )
        ids = _unique_ids(
            frame[self.id_column],
            missing=f"{where} has rows without an id in {self.id_column!r}.",
            repeated=f"{where} lists ids more than once",
        )
        raw = frame[self.target]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"{where} has non-numeric or missing {self.target!r} values for ids "
                f"{_first(ids[bad].tolist())}."
            )
        with write_transaction(self._engine) as conn:
            seen = conn.execute(
                sa.select(S.ingests.c.id).where(S.ingests.c.content_hash == digest)
            ).first()
            if seen is not None:
                return IngestResult(len(frame), 0, 0, len(frame), True, digest)
            by_name = {
                r[0]: r[1]
                for r in conn.execute(sa.select(S.candidates.c.name, S.candidates.c.id)).all()
            }
            unknown = [i for i in ids if i not in by_name]
            if unknown:
                raise ValueError(f"{where} has ids that are not candidates: {_first(unknown)}.")
            proposed = self._proposed(conn)
            unproposed = [i for i in ids if by_name[i] not in proposed]
            if unproposed:
                raise ValueError(f"{where} has ids that were never proposed: {_first(unproposed)}.")
            current = self._current(conn)
            new, repl, same, conflicts = [], [], 0, []
            for name, v in zip(ids.tolist(), values.tolist(), strict=True):
                cid = by_name[name]
                if cid not in current:
                    new.append((cid, v))
                elif current[cid] == v:
                    same += 1
                elif replace:
                    repl.append((cid, v))
                else:
                    conflicts.append(f"{name} (stored {current[cid]:.6g}, new {v:.6g})")
            if conflicts:
                raise ValueError(
                    f"{where} re-measures {len(conflicts)} candidate(s) with different values: "
                    f"{', '.join(conflicts[:3])}; pass replace (--replace) to record them."
                )
            ingest_id = conn.execute(
                S.ingests.insert().values(
                    content_hash=digest,
                    source=source or where,
                    n_rows=len(frame),
                    n_new=len(new),
                    n_replaced=len(repl),
                    created_at=_now(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if repl:
                conn.execute(
                    S.measurements.update()
                    .where(S.measurements.c.is_current)
                    .where(S.measurements.c.candidate_id.in_([c for c, _ in repl]))
                    .values(is_current=False)
                )
            now = _now()
            rows = [
                {
                    "candidate_id": c,
                    "ingest_id": ingest_id,
                    "value": v,
                    "is_current": True,
                    "created_at": now,
                }
                for c, v in new + repl
            ]
            if rows:
                conn.execute(S.measurements.insert(), rows)
        return IngestResult(len(frame), len(new), len(repl), same, False, digest)

    # ------------------------------------------------------------------ views
    def rounds(self) -> pd.DataFrame:
        """One row per round.

        Returns
        -------
        pandas.DataFrame
            ``round``, ``strategy``, ``requested_strategy``, ``batch_size``,
            ``seed``, ``n_training``, ``library_version``, ``model_checksum``,
            ``n_measured`` (of the batch), ``created_at``.
        """
        r, p, m = S.rounds, S.proposals, S.measurements
        measured = (
            sa.select(p.c.round_id, sa.func.count().label("n"))
            .join(m, sa.and_(m.c.candidate_id == p.c.candidate_id, m.c.is_current))
            .group_by(p.c.round_id)
            .subquery()
        )
        with read_transaction(self._engine) as conn:
            rows = conn.execute(
                sa.select(
                    r.c.round_index,
                    r.c.strategy,
                    r.c.requested_strategy,
                    r.c.batch_size,
                    r.c.seed,
                    r.c.n_training,
                    r.c.library_version,
                    r.c.model_checksum,
                    sa.func.coalesce(measured.c.n, 0),
                    r.c.created_at,
                )
                .outerjoin(measured, measured.c.round_id == r.c.id)
                .order_by(r.c.round_index)
            ).all()
        return pd.DataFrame(
            [tuple(x) for x in rows],
            columns=[
                "round",
                "strategy",
                "requested_strategy",
                "batch_size",
                "seed",
                "n_training",
                "library_version",
                "model_checksum",
                "n_measured",
                "created_at",
            ],
        )

    def export(self, *, features: bool = False) -> pd.DataFrame:
        """Every candidate with its proposal and current measurement.

        Parameters
        ----------
        features : bool
            Include the feature columns.

        Returns
        -------
        pandas.DataFrame of shape (n, 8) (plus d feature columns)
            The id column, ``round`` (NaN if never proposed), ``rank``, ``score``,
            ``pred_mean``, ``pred_std``, the target column (current value, NaN if
            unmeasured), ``n_measurements`` (history length) and ``reason``.
        """
        c, p, r, m = S.candidates, S.proposals, S.rounds, S.measurements
        with read_transaction(self._engine) as conn:
            rows = conn.execute(
                sa.select(
                    c.c.id,
                    c.c.name,
                    r.c.round_index,
                    p.c.rank,
                    p.c.score,
                    p.c.pred_mean,
                    p.c.pred_std,
                    p.c.reason,
                )
                .outerjoin(p, p.c.candidate_id == c.c.id)
                .outerjoin(r, r.c.id == p.c.round_id)
                .order_by(c.c.id)
            ).all()
            current = self._current(conn)
            counts = {
                r[0]: r[1]
                for r in conn.execute(
                    sa.select(m.c.candidate_id, sa.func.count()).group_by(m.c.candidate_id)
                ).all()
            }
            X = self._candidates(conn)[2] if features else None
        out = pd.DataFrame(
            {
                self.id_column: [x.name for x in rows],
                "round": pd.array([x.round_index for x in rows], dtype="Int64"),
                "rank": pd.array([x.rank for x in rows], dtype="Int64"),
                "score": [_nan(x.score) for x in rows],
                "pred_mean": [_nan(x.pred_mean) for x in rows],
                "pred_std": [_nan(x.pred_std) for x in rows],
                self.target: [current.get(x.id, np.nan) for x in rows],
                "n_measurements": [int(counts.get(x.id, 0)) for x in rows],
                "reason": [x.reason or "" for x in rows],
            }
        )
        if X is not None:
            for j, f in enumerate(self.feature_names):
                out[f] = X[:, j]
        return out

    def history(self) -> pd.DataFrame:
        """Every measurement ever ingested, replaced ones included.

        Returns
        -------
        pandas.DataFrame
            The id column, the target column, ``is_current``, ``ingest``
            (source) and ``created_at``, oldest first.
        """
        c, m, i = S.candidates, S.measurements, S.ingests
        with read_transaction(self._engine) as conn:
            rows = conn.execute(
                sa.select(c.c.name, m.c.value, m.c.is_current, i.c.source, m.c.created_at)
                .join(c, c.c.id == m.c.candidate_id)
                .join(i, i.c.id == m.c.ingest_id)
                .order_by(m.c.id)
            ).all()
        return pd.DataFrame(
            [tuple(x) for x in rows],
            columns=[self.id_column, self.target, "is_current", "ingest", "created_at"],
        )

    def status(self) -> dict[str, Any]:
        """A summary of the campaign.

        Returns
        -------
        dict
            Counts of candidates, proposed, measured and pending candidates,
            rounds and ingests, the best current measurement, the schema revision
            and the library versions.
        """
        with read_transaction(self._engine) as conn:
            n_cand = _count(conn, S.candidates)
            n_rounds = _count(conn, S.rounds)
            n_ing = _count(conn, S.ingests)
            proposed = self._proposed(conn)
            current = self._current(conn)
            revision = schema_revision(conn)
            best = None
            if current:
                cid = max(current, key=lambda k: current[k])
                name = conn.execute(
                    sa.select(S.candidates.c.name).where(S.candidates.c.id == cid)
                ).scalar_one()
                best = {"id": name, "value": current[cid]}
        return {
            "database": self._where,
            "schema_revision": revision,
            "created_with": self.created_with,
            "library_version": __version__,
            "id_column": self.id_column,
            "target": self.target,
            "n_features": len(self.feature_names),
            "n_candidates": int(n_cand),
            "n_rounds": int(n_rounds),
            "n_proposed": len(proposed),
            "n_measured": len(current),
            "n_pending": len(proposed - set(current)),
            "n_unproposed": int(n_cand) - len(proposed),
            "n_ingests": int(n_ing),
            "best": best,
        }

    def model(self, round_index: int | None = None) -> UncertainRegressor | None:
        """The model snapshot of a round (default: the latest round that has one).

        Parameters
        ----------
        round_index : int, optional
            The round.

        Returns
        -------
        UncertainRegressor or None
            None when no round has fitted a model yet.
        """
        r, s = S.rounds, S.model_snapshots
        query = sa.select(s.c.config, s.c.weights, s.c.checksum).join(r, r.c.snapshot_id == s.c.id)
        if round_index is not None:
            query = query.where(r.c.round_index == int(round_index))
        with read_transaction(self._engine) as conn:
            row = conn.execute(query.order_by(r.c.round_index.desc()).limit(1)).first()
        if row is None:
            return None
        if hashlib.sha256(row.weights).hexdigest() != row.checksum:
            raise ValueError("the stored model snapshot does not match its checksum.")
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "config.json").write_text(row.config)
            (folder / "weights.safetensors").write_bytes(row.weights)
            return UncertainRegressor.load(folder)

    def check_consistency(self) -> list[str]:
        """Check the database's invariants.

        Returns
        -------
        list of str
            One line per violated invariant; empty when consistent.
        """
        problems: list[str] = []
        with read_transaction(self._engine) as conn:
            if self._engine.dialect.name == "sqlite":
                res = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
                if res != "ok":
                    problems.append(f"sqlite integrity_check: {res}")
            if schema_revision(conn) != S.SCHEMA_HEAD:
                problems.append("schema revision is not the head")
            if conn.execute(sa.select(sa.func.count()).select_from(S.campaign)).scalar() != 1:
                problems.append("campaign table does not have exactly one row")
            rounds = conn.execute(sa.select(S.rounds).order_by(S.rounds.c.round_index)).all()
            if [r.round_index for r in rounds] != list(range(len(rounds))):
                problems.append("round indices are not 0..R-1")
            for r in rounds:
                ranks = sorted(
                    conn.execute(
                        sa.select(S.proposals.c.rank).where(S.proposals.c.round_id == r.id)
                    )
                    .scalars()
                    .all()
                )
                if ranks != list(range(r.batch_size)):
                    problems.append(f"round {r.round_index} has ranks {ranks[:5]}...")
                if r.snapshot_id is not None:
                    w = conn.execute(
                        sa.select(S.model_snapshots.c.weights).where(
                            S.model_snapshots.c.id == r.snapshot_id
                        )
                    ).scalar_one()
                    if hashlib.sha256(w).hexdigest() != r.model_checksum:
                        problems.append(f"round {r.round_index} model checksum mismatch")
            proposed = self._proposed(conn)
            m = conn.execute(sa.select(S.measurements)).all()
            if any(x.candidate_id not in proposed for x in m):
                problems.append("a measurement belongs to an unproposed candidate")
            cur: dict[int, int] = {}
            for x in m:
                cur.setdefault(x.candidate_id, 0)
                cur[x.candidate_id] += int(bool(x.is_current))
            if any(v != 1 for v in cur.values()):
                problems.append("a measured candidate does not have exactly one current value")
            for ing in conn.execute(sa.select(S.ingests)).all():
                n = sum(1 for x in m if x.ingest_id == ing.id)
                if n != ing.n_new + ing.n_replaced:
                    problems.append(
                        f"ingest {ing.id} records {ing.n_new + ing.n_replaced}, has {n}"
                    )
        return problems


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _float_or_none(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _nan(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _numeric_features(frame: pd.DataFrame, features: list[str], ids: pd.Series) -> np.ndarray:
    cols = []
    for f in features:
        col = frame[f]
        if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
            raise ValueError(f"feature column {f!r} is not numeric ({col.dtype}).")
        arr = col.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(
                f"feature column {f!r} has NaN or infinite values for ids "
                f"{_first(ids[bad].tolist())}; impute or drop them first."
            )
        cols.append(arr)
    return np.column_stack(cols)


def _read_results(
    results: pd.DataFrame | str | Path, id_column: str, target: str
) -> tuple[pd.DataFrame, str, str]:
    if isinstance(results, pd.DataFrame):
        frame = results.copy()
        cols = [c for c in (id_column, target) if c in frame.columns]
        buf = io.StringIO()
        frame[cols].to_csv(buf, index=False)
        return frame, hashlib.sha256(buf.getvalue().encode()).hexdigest(), "the results"
    path = Path(results)
    if not path.is_file():
        raise FileNotFoundError(f"results file {str(path)!r} does not exist.")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(io.BytesIO(data))
    elif suffix in (".csv", ".txt", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        frame = pd.read_csv(
            io.BytesIO(data), sep=sep, dtype={id_column: str}, float_precision="round_trip"
        )
    else:
        raise ValueError(f"cannot read {path.name!r}: use a .csv, .tsv or .parquet file.")
    return frame, digest, path.name
