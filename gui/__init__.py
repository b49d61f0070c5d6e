"""Spotter's desktop app (PySide6). The only package that imports Qt; the engine stays Qt-free."""
