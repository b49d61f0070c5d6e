"""What the main window does with a query: a photo opened, added or pasted, a person chosen in it,
a description of clothing; each starts a search on the search service's worker."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtGui import QGuiApplication

from gui.search_service import Box
from pipeline.engine import SpotterError
from pipeline.photo_files import load_photo


class QueryActions:
    """Mixin for the main window (which provides ``messages``, ``query_panel``, ``review``,
    ``results``, ``search``, ``use_image_data`` and ``handle_paths``)."""

    def _photo(self, path: str | Path) -> np.ndarray | None:
        """The photo's pixels; a file that is not an image is reported in the window (None)."""
        try:
            image, note = load_photo(path)
        except SpotterError as e:
            self.messages.error(str(e))
            return None
        if note:  # an animated GIF, a multi-page TIFF: which of its pictures is searched
            self.messages.warning(f"{Path(path).name}: {note}")
        return image

    def open_photo(
        self, path: str | Path, box: Box | None = None, more: Sequence[tuple[str, Box | None]] = ()
    ) -> bool:
        """Use a photo file as the query (the person in ``box``, a case's, where given); ``more``:
        other photos of the same person (a case's), each with the person's box, searched with it (the
        first of them that can be read is the query where this one cannot)."""
        photos = [(path, box), *more]
        for k, (first, first_box) in enumerate(photos):  # one that cannot be read: the next is the query
            image = self._photo(first)
            if image is not None:
                rest = [
                    (other, b, Path(p).name)
                    for p, b in photos[k + 1 :]
                    if (other := self._photo(p)) is not None
                ]
                self.set_query_image(image, Path(first).name, first_box, more=rest)
                return True
        return False

    def add_query_photo(self, path: str | Path) -> bool:
        """Another photo of the same person: the search runs again with both as examples."""
        image = self._photo(path)
        if image is None:
            return False
        if self.search.add_photo(image, Path(path).name) is None:
            self.messages.error("Open a photo of the person first; then add other photos of them")
            return False
        n = len(self.search.last_request.examples) + 1  # type: ignore[union-attr]
        self.results.summary.setText("Searching…")
        self.messages.info(f"Searching with {n} photos of the person ({Path(path).name} added)")
        return True

    def set_query_image(
        self,
        image: np.ndarray,
        source: str,
        box: Box | None = None,
        pixel_aspect: float = 1.0,
        more: Sequence[tuple[np.ndarray, Box | None, str]] = (),
    ) -> int:
        """Show the photo and search for the person in it (or in ``box``); returns the request id.
        ``pixel_aspect``: a video frame's pixel shape (the photo is shown as the player shows it);
        ``more``: other photos of the person (with their boxes and names), searched as examples with it."""
        self.query_panel.set_photo(image, source, box, pixel_aspect)
        self.review.new_query()
        self.results.summary.setText("Searching…")
        return self.search.submit(image, box=box, source=source, more=more)

    def search_description(self, upper: str | None, lower: str | None) -> int:
        """No photo: rank the people by their clothing colours."""
        said = ", ".join(f"{k} {v}" for k, v in (("upper", upper), ("lower", lower)) if v)
        self.query_panel.set_description(said)
        self.review.new_query()
        self.results.summary.setText("Searching…")
        return self.search.describe(upper, lower)

    def choose_person(self, index: int) -> None:
        if self.query_panel.image is not None:
            self.query_panel.status.setText(f"Searching for person {index + 1}…")
            self.review.new_query()
            self.search.submit(self.query_panel.image, person=index, source=self.query_panel.source)

    def paste_photo(self) -> bool:
        """Use the clipboard's image (or copied photo file) as the query."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            return self.use_image_data(mime.imageData(), "pasted image")
        if mime is not None and mime.hasUrls():
            local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if local:
                return self.handle_paths(local)
            self.messages.warning(
                "The clipboard holds a web address, not a file: save the photo first, then open or paste it"
            )
            return False
        self.messages.warning("The clipboard holds no image to search for")
        return False
