"""The campaign database schema (SQLAlchemy Core tables).

The tables here describe the *current* schema; the Alembic revisions in
``knowable/campaign/migrations/versions`` create and change it step by step, and
a test checks that the migrated database matches these tables exactly.

Tables
------
``campaign``
    One row: the id and target column names, feature names, seed, the model's
    settings and the library version that created the file. Writers lock this
    row (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite).
``candidates``
    One row per candidate: its id (text, unique) and its feature vector (JSON).
``rounds``
    One row per proposed batch: round index (unique), strategy, seed, batch
    size, library version, the checksum of the model snapshot that scored it.
``proposals``
    One row per proposed candidate (each candidate is proposed at most once):
    round, rank, acquisition score, the model's mean and standard deviation.
``ingests``
    One row per ingested results file, unique by content hash (re-ingesting the
    same bytes is a no-op).
``measurements``
    Every measured value ever ingested; ``is_current`` marks the one in force
    (a partial unique index allows one current value per candidate). Replaced
    values stay, with ``is_current`` false.
``model_snapshots``
    The fitted model of a round: safetensors weights and its JSON config.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["SCHEMA_HEAD", "metadata"]

#: The Alembic revision this version of knowable writes.
SCHEMA_HEAD = "0001_initial"

metadata = sa.MetaData()

campaign = sa.Table(
    "campaign",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("id_column", sa.String(200), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("feature_names", sa.Text, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("model_params", sa.Text, nullable=False),
    sa.Column("created_with", sa.String(50), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

candidates = sa.Table(
    "candidates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(500), nullable=False, unique=True),
    sa.Column("features", sa.Text, nullable=False),
)

model_snapshots = sa.Table(
    "model_snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("weights", sa.LargeBinary, nullable=False),
    sa.Column("library_version", sa.String(50), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

rounds = sa.Table(
    "rounds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("round_index", sa.Integer, nullable=False, unique=True),
    sa.Column("strategy", sa.String(100), nullable=False),
    sa.Column("requested_strategy", sa.String(100), nullable=False),
    sa.Column("batch_size", sa.Integer, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("n_training", sa.Integer, nullable=False),
    sa.Column("library_version", sa.String(50), nullable=False),
    sa.Column("model_checksum", sa.String(64), nullable=True),
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("model_snapshots.id"), nullable=True),
    sa.Column("info", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

proposals = sa.Table(
    "proposals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id"), nullable=False),
    sa.Column(
        "candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False, unique=True
    ),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("score", sa.Double, nullable=True),
    sa.Column("pred_mean", sa.Double, nullable=True),
    sa.Column("pred_std", sa.Double, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.UniqueConstraint("round_id", "rank", name="uq_proposals_round_rank"),
)

ingests = sa.Table(
    "ingests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("n_new", sa.Integer, nullable=False),
    sa.Column("n_replaced", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

measurements = sa.Table(
    "measurements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
    sa.Column("ingest_id", sa.Integer, sa.ForeignKey("ingests.id"), nullable=False),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("is_current", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index(
    "uq_measurements_current",
    measurements.c.candidate_id,
    unique=True,
    sqlite_where=measurements.c.is_current,
    postgresql_where=measurements.c.is_current,
)
