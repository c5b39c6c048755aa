"""Users: ``sessions_after``, the time before which every session of the account is void (sign-out everywhere).

Signing out, a new password or ``riskmodel user signout NAME`` set it to now; a session (a signed cookie) started
earlier is then refused, also a copy of it, by every worker.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("sessions_after", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("sessions_after")
