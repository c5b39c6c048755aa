"""Initial schema: dataset versions with their sites and links, the active dataset, scenarios, audit log, users.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False)


def _number(name: str) -> sa.Column:
    return sa.Column(name, sa.Double(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("uploader", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("source_files", JSON, nullable=False),
        sa.Column("checksum", sa.String(128), nullable=False),
        sa.Column("n_sites", sa.Integer(), nullable=False),
        sa.Column("n_links", sa.Integer(), nullable=False),
        sa.Column("n_backup_links", sa.Integer(), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("warnings", JSON, nullable=False),
    )
    op.create_table(
        "dataset_sites",
        sa.Column("dataset_id", sa.Integer(), nullable=False, autoincrement=False),  # no FK: see riskmodel.store
        sa.Column("pos", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        _text("name"), _text("kind"), _text("country"), _text("city"),
        _number("lat"), _number("lon"),
        _text("operator"), _text("technology"),
        _number("weekly_demand"), _number("inventory_days"), _number("ttr_weeks"), _number("surge"),
        _number("annual_disruption_prob"),
        _text("region"),
        sa.PrimaryKeyConstraint("dataset_id", "pos"),
    )
    op.create_table(
        "dataset_links",
        sa.Column("dataset_id", sa.Integer(), nullable=False, autoincrement=False),  # no FK: see riskmodel.store
        sa.Column("pos", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("supplier_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        _text("material"),
        _number("share"), _number("lead_time_days"),
        _text("status"),
        _number("qualification_weeks"),
        sa.PrimaryKeyConstraint("dataset_id", "pos"),
    )
    op.create_table(
        "active_dataset",
        sa.Column("slot", sa.String(32), primary_key=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", TIME, nullable=False),
    )
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("results", JSON, nullable=False),
    )
    op.create_index("ix_scenarios_dataset_id", "scenarios", ["dataset_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", JSON, nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    for table in ("users", "audit_log", "scenarios", "active_dataset", "dataset_links", "dataset_sites", "datasets"):
        op.drop_table(table)
