"""Where Spotter keeps its settings, and the window layout it remembers between runs (geometry, docks,
splitter positions)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = APPLICATION = "Spotter"


def app_settings() -> QSettings:
    """Spotter's settings (INI in the user's config folder; tests move it with QSettings.setPath)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


class WindowLayout:
    """Mixin for the main window (which provides ``settings`` and ``splitters``, a dict of name to
    QSplitter): restores and saves the layout."""

    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        for name, splitter in self.splitters.items():
            value = s.value(f"window/splitter_{name}")
            if isinstance(value, QByteArray):
                splitter.restoreState(value)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        for name, splitter in self.splitters.items():
            s.setValue(f"window/splitter_{name}", splitter.saveState())
        s.sync()
