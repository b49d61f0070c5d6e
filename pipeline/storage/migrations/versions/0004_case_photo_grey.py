"""case_photos.grey_vector: each query photo turned grey, embedded, kept with the case.

Footage recorded without colour (a camera in infrared mode) is searched with the photo turned grey
(``pipeline.monochrome``). A case kept only the colour vector, so refining it from the command line
or writing its report compared night tracks with the colour photo and missed the hits the app had
found. NULL where the photo has no colour itself (its own vector serves) and for cases made before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a library older than Alembic gets its case tables as defined now (migrate.prepare_schema),
    # this column included
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("case_photos")}
    if "grey_vector" not in present:
        op.add_column("case_photos", sa.Column("grey_vector", sa.LargeBinary(), nullable=True))
