"""Spotter's engine: video reading, tracking, indexing, search, storage and export. No Qt here."""
