"""The library as Spotter wrote it before Alembic (meta schema_version 4): the starting point.

Libraries of schema 1 to 3 are first brought to schema 4 by ``pipeline.storage.migrate`` (the steps
written before Alembic), then stamped with this revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # schema 4 is what create_all made then; nothing to change
