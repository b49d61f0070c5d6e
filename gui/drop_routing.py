"""What the main window does with files and images dropped, pasted or chosen: videos and folders go to
indexing, the first photo becomes the query, anything else is named in a warning."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage

from gui.folder_scan import holds_folder
from gui.util import DroppedPaths, classify_paths, qimage_to_bgr


class DropRouting:
    """Mixin for the main window (which provides ``messages``, ``indexing``, ``folders``,
    ``adaptation``, ``open_photo`` and ``set_query_image``); Qt calls the event handlers on the
    window itself."""

    def handle_paths(self, paths: Sequence[str | Path]) -> bool:
        """Route dropped or pasted files: videos and folders to indexing, the first photo to search.
        Folders are walked on a worker and routed when it is done (:mod:`gui.folder_scan`); True
        when something usable was found, or a folder is being looked through."""
        if holds_folder(paths):
            self.folders.sort(paths, self.route_found)
            return True
        return self.route_found(classify_paths(paths))

    def route_found(self, found: DroppedPaths) -> bool:
        """Route sorted paths: videos and folders of images to indexing, the first photo to search."""
        for line in found.unusable:
            self.messages.warning(line)
        for p in found.other:
            self.messages.warning(f"{p.name}: not a video, a folder of images or a photo Spotter can use")
        if found.videos:
            self.queue_videos(found.videos)
        # the first photo that opens is searched (a photo that does not open is said, and the next
        # one tried: the others were not searched, and the note named the photo refused)
        used = next((p for p in found.photos if self.open_photo(p)), None)
        if used is not None and len(found.photos) > 1:  # one query at a time: not the others in silence
            self.messages.warning(
                f"{len(found.photos)} photos given: searching with {used.name}; drop the others one at a time"
            )
        return bool(found.videos or used is not None)

    def add_videos(self, paths: Sequence[str | Path]) -> list[str]:
        """Queue video files (folders expanded) for indexing; others are reported, not indexed.
        Paths holding a folder are walked on a worker (:mod:`gui.folder_scan`) and queued when it is
        done; the paths queued at once are returned."""
        queued: list[str] = []
        self.folders.sort(paths, lambda found: queued.extend(self._add_found_videos(found)))
        return queued

    def _add_found_videos(self, found: DroppedPaths) -> list[str]:
        for line in found.unusable:
            self.messages.warning(line)
        for p in (*found.photos, *found.other):
            self.messages.warning(
                f"{p.name}: not a video file or a folder of images; only those can be added to the library"
            )
        return self.queue_videos(found.videos)

    def queue_videos(self, videos: Sequence[Path]) -> list[str]:
        """Videos to indexing, unless the ReID model is being adapted (its new model would miss them)."""
        if videos and self.adaptation.running:
            self.messages.error("The model is being adapted: add videos when it has finished or is cancelled")
            return []
        return self.indexing.add(videos)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        if mime.hasImage() or any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if paths:
            self.handle_paths(paths)
        elif mime.hasImage():
            self.use_image_data(mime.imageData(), "dropped image")
        event.acceptProposedAction()

    def use_image_data(self, data: object, where: str) -> bool:
        """Search with image data dropped or pasted (Qt gives a QImage; anything else is refused)."""
        image = data if isinstance(data, QImage) else QImage()
        if image.isNull():
            self.messages.warning(f"The {where} is not a picture Spotter can read")
            return False
        self.set_query_image(qimage_to_bgr(image), where)
        return True
