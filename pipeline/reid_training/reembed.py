"""Re-embedding a library with another ReID model (after ``adapt-reid``, or to change models).

Every finished video's tracks get new crop and track embeddings (crops read again from the video,
chosen as the indexer chose them: ``pipeline.track_crops``), then a calibration for the new model;
the library switches to the new model only when every video has them (``pipeline.storage.
model_switch``), and then links fragments again with the new model. Until the switch every search
runs on the old model's complete set; a cancel or crash part-way loses nothing, and the next run
skips the videos already done. A track whose video cannot be read is refused (nothing switches)
rather than dropped from every later search.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.reid import ReidEmbedder
from models.weights import sha256_of
from pipeline.appearance import AppearanceConfig
from pipeline.calibration import calibrate_video
from pipeline.errors import StorageError
from pipeline.indexer import link_video
from pipeline.linking import LinkConfig
from pipeline.storage import Library
from pipeline.track_crops import flatten, plan_crops, read_crops
from pipeline.video import VideoError, probe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReembedEvent:
    """Progress: ``done`` of ``total`` videos; ``video`` the one just finished (or skipped)."""

    done: int
    total: int
    video: str
    tracks: int
    skipped: bool = False
    switched: bool = False


def reembed_library(
    library: Library,
    embedder: ReidEmbedder,
    model_id: str,
    appearance: AppearanceConfig = AppearanceConfig(),
    linking: LinkConfig = LinkConfig(),
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[ReembedEvent]:
    """Embed every finished video's tracks with ``embedder`` under ``model_id``, then switch the
    library to it. Stops (without switching) when ``cancelled()`` turns true."""
    videos = [v for v in library.videos() if v.status == "done"]
    if not videos:
        raise StorageError(f"the library {library.where} has no finished video to re-embed")
    seen: set[int] = set()
    while True:  # again until none is left: another process may finish indexing a video meanwhile
        todo = [v for v in library.videos() if v.status == "done" and v.video_id not in seen]
        if not todo:
            break
        total = len(seen) + len(todo)
        for v in todo:
            if cancelled():
                return
            seen.add(v.video_id)
            count = library.track_count(v.video_id)
            if count and library.embedded_tracks(v.video_id, model_id) == count:
                yield ReembedEvent(len(seen), total, v.path, count, skipped=True)
                continue
            vectors = _embed_video(library, v.video_id, v.path, embedder, appearance, cancelled)
            if vectors is None:
                return
            library.store_embeddings(v.video_id, model_id, vectors)
            calibrate_video(library, v.video_id, model_id)
            yield ReembedEvent(len(seen), total, v.path, len(vectors))
    if cancelled():
        return
    path = embedder.weights.resolve()
    library.switch_reid(sorted(seen), model_id, str(path), sha256_of(path))
    for video_id in sorted(seen):
        link_video(library, video_id, model_id, linking)
    log.info("library %s now uses the ReID model %s", library.where, model_id)
    yield ReembedEvent(len(seen), len(seen), "", 0, switched=True)


def _embed_video(
    library: Library,
    video_id: int,
    path: str,
    embedder: ReidEmbedder,
    appearance: AppearanceConfig,
    cancelled: Callable[[], bool],
) -> dict[int, np.ndarray] | None:
    """Crop embeddings (K, D) of each of the video's tracks by pk (None when cancelled)."""
    try:
        info = probe(Path(path))
    except VideoError as e:
        raise VideoError(
            f"cannot re-embed {path}: {e} (restore the file, or remove it from the library)"
        ) from e
    tracks = library.video_tracks(video_id)
    plan = plan_crops(tracks, info, appearance.crops_per_track, appearance)
    crops = read_crops(info, plan, library.seek_table(video_id) or (), appearance.max_crop_side, cancelled)
    if cancelled():
        return None
    missing = [pk for pk, cs in crops.items() if not cs]
    if missing:  # no usable box in the path (or the frames are gone): the stored best crop stands in
        for pk, jpeg in library.thumbnails(missing).items():
            image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            if image is not None:
                crops[pk] = [image]
    flat, keys = flatten((pk, cs) for pk, cs in crops.items() if cs)
    emb = embedder.embed(flat)
    out: dict[int, list[np.ndarray]] = {}
    for key, e in zip(keys, emb):
        out.setdefault(int(key), []).append(e)  # type: ignore[call-overload]
    return {pk: np.stack(es) for pk, es in out.items()}
