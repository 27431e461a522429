"""Initial campaign schema.

Revision ID: 0001_initial
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the seven campaign tables."""
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("id_column", sa.String(200), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("feature_names", sa.Text, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("model_params", sa.Text, nullable=False),
        sa.Column("created_with", sa.String(50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(500), nullable=False, unique=True),
        sa.Column("features", sa.Text, nullable=False),
    )
    op.create_table(
        "model_snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("weights", sa.LargeBinary, nullable=False),
        sa.Column("library_version", sa.String(50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rounds",
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
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column(
            "candidate_id",
            sa.Integer,
            sa.ForeignKey("candidates.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.Double, nullable=True),
        sa.Column("pred_mean", sa.Double, nullable=True),
        sa.Column("pred_std", sa.Double, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.UniqueConstraint("round_id", "rank", name="uq_proposals_round_rank"),
    )
    op.create_table(
        "ingests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("n_new", sa.Integer, nullable=False),
        sa.Column("n_replaced", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("ingest_id", sa.Integer, sa.ForeignKey("ingests.id"), nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "uq_measurements_current",
        "measurements",
        ["candidate_id"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )


def downgrade() -> None:
    """Drop every campaign table."""
    op.drop_index("uq_measurements_current", table_name="measurements")
    for name in (
        "measurements",
        "ingests",
        "proposals",
        "rounds",
        "model_snapshots",
        "candidates",
        "campaign",
    ):
        op.drop_table(name)
