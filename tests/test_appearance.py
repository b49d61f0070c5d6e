"""A track's embedding from its best crops: a crop the tracker embedded already is not embedded again."""

from __future__ import annotations

import cv2
import numpy as np

from models.detections import Detections
from pipeline.appearance import AppearanceConfig, TrackBuilder, cut_crop
from pipeline.tracking import EndedTrack, TrackerStep
from tests.conftest import load_gt, pets


class CountingEmbedder:
    def __init__(self, reid: object):
        self.reid, self.crops = reid, 0

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        self.crops += len(crops)
        return self.reid.embed(crops)  # type: ignore[attr-defined]


def person_frames(frame_of, n: int = 6) -> list[tuple[int, np.ndarray, Detections]]:
    """PETS09-S2L1 frames with one ground-truth person's box each (a track of one person)."""
    seq = pets()
    boxes = next(b for _, b in sorted(load_gt(seq).items()) if len(b) > 200)
    picked = sorted(boxes)[::25][:n]
    return [
        (f, frame_of(seq.video, f), Detections(np.array([boxes[f]], np.float32), np.array([0.9], np.float32)))
        for f in picked
    ]


def build(frames, embedder, with_vectors: bool, reid) -> np.ndarray:
    config = AppearanceConfig(min_observations=1)
    builder = TrackBuilder(config, fps=10.0)
    for f, image, dets in frames:
        vectors = None
        if with_vectors:  # as the tracker embeds a detection: from the crop cut as the builder cuts it
            vectors = reid.embed([cut_crop(image, dets.xyxy[0], config.max_crop_side)])
        step = TrackerStep(f, np.array([7]), np.array([0]))
        builder.observe(f, f / 10.0, image, dets, step, vectors)
    (record,) = builder.finish([EndedTrack(7, True, frames[0][0], frames[-1][0])], embedder)
    return record


def test_crops_the_tracker_embedded_are_not_embedded_again(models, frame_of) -> None:
    frames = person_frames(frame_of)
    fresh = CountingEmbedder(models.reid)
    plain = build(frames, fresh, False, models.reid)
    reused = CountingEmbedder(models.reid)
    kept = build(frames, reused, True, models.reid)
    assert fresh.crops == len(plain.crop_frames) >= 3
    assert reused.crops == 0
    assert kept.crop_frames == plain.crop_frames
    assert np.allclose(kept.crop_embeddings, plain.crop_embeddings, atol=1e-5)
    assert np.allclose(kept.embedding, plain.embedding, atol=1e-5)


def test_a_crop_without_a_vector_is_still_embedded(models, frame_of) -> None:
    frames = person_frames(frame_of)
    config = AppearanceConfig(min_observations=1)
    builder = TrackBuilder(config, fps=10.0)
    for k, (f, image, dets) in enumerate(frames):
        vectors = models.reid.embed([cut_crop(image, dets.xyxy[0], config.max_crop_side)])
        if k % 2:
            vectors[:] = np.nan  # the tracker did not want this one's appearance
        builder.observe(f, f / 10.0, image, dets, TrackerStep(f, np.array([7]), np.array([0])), vectors)
    counting = CountingEmbedder(models.reid)
    (record,) = builder.finish([EndedTrack(7, True, frames[0][0], frames[-1][0])], counting)
    unembedded = {f for k, (f, _, _) in enumerate(frames) if k % 2}
    assert counting.crops == len(set(record.crop_frames) & unembedded) > 0
    assert np.isfinite(record.crop_embeddings).all()
    assert np.allclose(np.linalg.norm(record.crop_embeddings, axis=1), 1.0, atol=1e-4)


def test_the_reid_model_gives_a_crop_the_same_vector_in_any_batch(models, frame_of) -> None:
    """What the reuse rests on: a crop embedded alone or among others gives the same vector (equal
    here; within float rounding on any CPU)."""
    crops = [cut_crop(image, dets.xyxy[0], 256) for _, image, dets in person_frames(frame_of)]
    together = models.reid.embed(crops)
    alone = np.stack([models.reid.embed([c])[0] for c in crops])
    assert np.allclose(together, alone, atol=1e-5)


def test_a_track_recorded_without_colour_is_embedded_grey_however_tinted(models, frame_of) -> None:
    """Night footage whose camera tints its picture (an infrared picture a little red): the track's
    crops are embedded turned grey, as a photo without colour is; its thumbnail stays as recorded."""
    from pipeline.monochrome import grey
    from tests.test_night_footage import tinted

    frames = [(f, tinted(image), dets) for f, image, dets in person_frames(frame_of)]
    config = AppearanceConfig(min_observations=1)
    builder = TrackBuilder(config, fps=10.0)
    for f, image, dets in frames:
        tinted_vectors = models.reid.embed([cut_crop(image, dets.xyxy[0], config.max_crop_side)])
        builder.observe(
            f, f / 10.0, image, dets, TrackerStep(f, np.array([7]), np.array([0])), tinted_vectors
        )
    (record,) = builder.finish([EndedTrack(7, True, frames[0][0], frames[-1][0])], models.reid)
    crops = {f: cut_crop(image, dets.xyxy[0], config.max_crop_side) for f, image, dets in frames}
    as_grey = models.reid.embed([grey(crops[f]) for f in record.crop_frames])
    as_recorded = models.reid.embed([crops[f] for f in record.crop_frames])
    assert np.allclose(record.crop_embeddings, as_grey, atol=1e-5)
    assert not np.allclose(record.crop_embeddings, as_recorded, atol=1e-3)
    thumb = cv2.imdecode(np.frombuffer(record.thumbnail_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert float(thumb[:, :, 2].mean()) > float(thumb[:, :, 0].mean()) + 5  # red still: as recorded
