"""case_photos.box: where the person searched for is in each query photo.

A case kept a copy of each query photo whole, and its report showed the photo: where the photo holds
several people (a scene, a group, a frame of another camera) the report did not say which of them
the case is about. The box searched (photo pixels, JSON ``[x1, y1, x2, y2]``) is kept with the photo
and drawn on it. NULL where the photo was used whole (a person crop) and for cases made before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a library older than Alembic gets its case tables as defined now (migrate.prepare_schema),
    # this column included
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("case_photos")}
    if "box" not in present:
        op.add_column("case_photos", sa.Column("box", sa.String(), nullable=True))
