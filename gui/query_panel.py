"""The query panel: the operator's photo with every person found; a click chooses who to search for."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.image_view import Box, ImageView
from gui.util import BOX_COLOR, WRAPPED_CENTRE, ElidedLabel, bgr_to_qimage


class PhotoView(ImageView):
    """Paints a photo scaled to fit, with the people's boxes; emits the index of a clicked person."""

    person_clicked = Signal(int)
    margin = 2.0

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(160, 160)
        self.setMouseTracking(True)
        self.people: tuple[Box, ...] = ()
        self.chosen: int = -1
        self.box: Box | None = None  # the region searched for
        self.placeholder = "Drop a photo of the person here,\nFile ▸ Open photo…, or paste it (Ctrl+V)"

    def set_image(self, image: QImage | None) -> None:
        self._image = image
        self.people, self.chosen, self.box = (), -1, None
        self.update()

    def set_people(self, people: tuple[Box, ...], chosen: int, box: Box | None) -> None:
        self.people, self.chosen, self.box = people, chosen, box
        self.update()

    def person_at(self, pos: QPointF) -> int:
        """Index of the smallest person box under ``pos`` (widget coordinates), or -1."""
        return self.smallest_box_at(self.people, pos)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(40, 40, 40))
        if self._image is None:
            p.setPen(QColor(170, 170, 170))
            p.drawText(self.rect().adjusted(6, 6, -6, -6), WRAPPED_CENTRE, self.placeholder)  # a narrow panel
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(self.image_rect(), self._image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        several = len(self.people) > 1
        for i, b in enumerate(self.people):
            if i == self.chosen:
                continue
            p.setPen(QPen(QColor(230, 230, 230), 1.5, Qt.PenStyle.DashLine))
            r = self.to_widget(b)
            p.drawRect(r)
            if several:
                p.drawText(r.topLeft() + QPointF(3, 13), str(i + 1))
        if self.box is not None:
            p.setPen(QPen(BOX_COLOR, 3))
            p.drawRect(self.to_widget(self.box))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        over = self.person_at(event.position()) >= 0 and len(self.people) > 1
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            i = self.person_at(event.position())
            if i >= 0 and i != self.chosen:
                self.person_clicked.emit(i)


class QueryPanel(QWidget):
    """Photo, what the engine chose, and the buttons to open or paste another photo."""

    open_requested = Signal()
    paste_requested = Signal()
    person_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.image: np.ndarray | None = None  # BGR photo on show
        self.source = ""
        self.view = PhotoView()
        self.view.person_clicked.connect(self.person_clicked)
        self.title = ElidedLabel("<no photo>")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        open_button = QPushButton("Open photo…")
        open_button.setAutoDefault(False)
        open_button.clicked.connect(self.open_requested)
        paste = QPushButton("Paste")
        paste.setAutoDefault(False)
        paste.clicked.connect(self.paste_requested)
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Query</b>"))
        head.addWidget(self.title, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(open_button)
        buttons.addWidget(paste)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def set_photo(
        self, image: np.ndarray, source: str, box: Box | None = None, pixel_aspect: float = 1.0
    ) -> None:
        """Show a new photo (searching starts elsewhere); ``box`` is the operator's region, if any;
        ``pixel_aspect`` the shape of its pixels (a frame of D1 footage: 12/11)."""
        self.image, self.source = image, source
        self.title.setText(source)
        self.title.setToolTip(source)
        self.view.pixel_aspect = pixel_aspect
        self.view.set_image(bgr_to_qimage(image))
        if box is not None:
            self.view.set_people((), -1, box)
        self.status.setText("Looking for people in the photo…")

    def set_description(self, text: str) -> None:
        """The query is a description (clothing colours), not a photo."""
        self.image, self.source = None, f"description: {text}"
        self.title.setText(self.source)
        self.view.set_image(None)
        self.status.setText(f"Searching for people wearing {text}.")

    def set_people(
        self, people: tuple[Box, ...], chosen: int, box: Box, whole_photo: bool, note: str = ""
    ) -> None:
        self.view.set_people(people, chosen, box)
        if whole_photo:
            text = "The photo is a person crop: searching for the whole photo."
        elif chosen < 0:
            text = "Searching for the marked region."
        elif len(people) > 1:
            text = f"{len(people)} people found: searching for the boxed one. Click another person to switch."
        else:
            text = "1 person found: searching for them."
        if note:
            text += f" Note: {note}."
        self.status.setText(text)

    def set_error(self, message: str) -> None:
        self.view.set_people((), -1, None)
        self.status.setText(message)
