"""Python's garbage collection, on the GUI thread only.

Python collects reference cycles in whichever thread happens to allocate when a threshold is
crossed: in Spotter often the indexing or search worker. A cycle that holds a Qt object (a widget of
a closed dialog, a connection's lambda) is then destroyed on that worker while the GUI thread holds
the GIL and waits for Qt's signal-slot mutex, which the worker's destructor holds while it waits for
the GIL: both wait for ever (seen in a GUI sweep that opened many windows in one process: the main
thread in ``QObject::disconnect``, the search thread in ``QObject::~QObject`` under
``gc_collect_main``). As pyqtgraph does for the same reason, automatic collection is turned off
and a timer on the GUI thread collects each generation whose threshold has been passed. Reference
counting (which frees nearly everything) is unaffected; only cycles wait for the timer.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500  # how often the GUI thread checks the collector's counts


class GuiThreadCollector(QObject):
    """Owns the timer; install once per application (:func:`collect_on_gui_thread`)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(INTERVAL_MS)

    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):  # the oldest generation due collects the younger ones too
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        """Back to automatic collection (the application is ending)."""
        self.timer.stop()
        gc.enable()


def collect_on_gui_thread(app: QObject) -> GuiThreadCollector:
    """Collect garbage on ``app``'s thread from now on (call on the GUI thread); the collector."""
    existing = app.findChild(GuiThreadCollector)
    return existing if existing is not None else GuiThreadCollector(app)
