"""Persistence: SQLAlchemy models on SQLite (WAL) and the library operations built on them."""

from pipeline.storage.library import Library
from pipeline.storage.records import StartDecision, TrackInfo, default_db_path

__all__ = ["Library", "StartDecision", "TrackInfo", "default_db_path"]
