"""case_marks.verdict holds "confirmed" (9 characters): VARCHAR(8) was too short.

SQLite never enforced the length, so libraries there hold the right values already; PostgreSQL
refused the first confirmed hit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("case_marks", "verdict", type_=sa.String(16), existing_nullable=False)
