"""Persistence: SQLAlchemy models on SQLite (WAL) and the library operations built on them."""

from pipeline.storage.library import Library, StartDecision, TrackInfo, default_db_path

__all__ = ["Library", "StartDecision", "TrackInfo", "default_db_path"]
