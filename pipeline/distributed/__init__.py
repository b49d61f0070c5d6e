"""Indexing past one machine: a batch of videos on a Ray cluster."""
