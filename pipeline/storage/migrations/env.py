"""Alembic environment of Spotter's library schema.

Spotter runs migrations itself when it opens a library (``pipeline.storage.migrate``), inside the
transaction that opened it, on the connection it passes in ``config.attributes["connection"]``.
Developers add a revision with ``alembic -c pipeline/storage/alembic.ini revision -m "..."``.
"""

from __future__ import annotations

from alembic import context

from pipeline.storage.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Spotter's migrations run on the connection of an opened library (see migrate.py)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
