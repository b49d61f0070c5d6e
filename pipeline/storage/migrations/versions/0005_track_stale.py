"""tracks.stale: a video's tracks from before the run that is indexing it again.

Indexing a video again (``--force``, other models or settings) deleted its tracks when the run
started, and the cases' review marks on them, even where the new run found the same people; a
Ctrl-C part-way left the video with none. Its tracks are now kept, marked stale, until the new run
replaces them (``pipeline.storage.replacing``). False for every track stored before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("tracks")}
    if "stale" not in present:
        op.add_column("tracks", sa.Column("stale", sa.Boolean(), nullable=False, server_default=sa.false()))
