"""Ready to be shared (PostgreSQL, several processes at once).

- videos.size becomes a 64-bit integer: PostgreSQL's INTEGER holds 2 GiB, a day of 4K video is more.
- The change counters and id high-water marks exist from the start, so writers lock their row
  (SELECT ... FOR UPDATE) instead of racing to create it.
- meta schema_version 5: an older Spotter (which knows only that number) refuses the library instead
  of writing into a schema it does not know.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COUNTERS = ("embeddings_added", "embeddings_removed", "last_search_id", "last_hit_id")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":  # SQLite stores any integer in INTEGER already
        op.alter_column("videos", "size", type_=sa.BigInteger(), existing_nullable=False)
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.String))
    present = {r[0] for r in op.get_bind().execute(sa.select(meta.c.key))}
    missing = [{"key": k, "value": "0"} for k in COUNTERS if k not in present]
    if missing:
        op.bulk_insert(meta, missing)
    op.execute(meta.update().where(meta.c.key == "schema_version").values(value="5"))
