"""Per-video histograms of same-person and different-person scores (see :mod:`pipeline.calibration`),
kept per ReID model and added up over the library to calibrate the search floor."""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete, func, select

from pipeline.storage.base import LibraryBase
from pipeline.storage.schema import CalibrationRow, TrackRow, VideoRow


class ScoreHistograms(LibraryBase):
    """Store and add up the per-video score histograms."""

    def set_score_histograms(
        self, video_id: int, model: str, method: str, genuine: np.ndarray, impostor: np.ndarray
    ) -> None:
        """Replace one video's histograms for one model."""
        g = np.ascontiguousarray(genuine, dtype=np.int64)
        i = np.ascontiguousarray(impostor, dtype=np.int64)
        with self._write("cannot save the calibration scores") as s:
            s.execute(
                delete(CalibrationRow).where(
                    CalibrationRow.video_id == video_id, CalibrationRow.model == model
                )
            )
            s.add(
                CalibrationRow(
                    video_id=video_id, model=model, method=method, genuine=g.tobytes(), impostor=i.tobytes()
                )
            )

    def score_histograms(self, model: str, method: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(genuine, impostor) histograms of the whole library for a model; None if none is stored."""
        mine = (CalibrationRow.model == model) & (CalibrationRow.method == method)
        with self._read() as s:
            rows = s.execute(select(CalibrationRow.genuine, CalibrationRow.impostor).where(mine)).all()
        if not rows:
            return None
        genuine = np.sum([np.frombuffer(g, np.int64) for g, _ in rows], axis=0)
        impostor = np.sum([np.frombuffer(i, np.int64) for _, i in rows], axis=0)
        return genuine, impostor

    def videos_without_histograms(self, model: str, method: str) -> list[int]:
        """Finished videos with tracks but no histograms for ``model`` by ``method`` (libraries from
        before, or calibrated another way): they can be computed from what is stored."""
        with self._read() as s:
            mine = (CalibrationRow.model == model) & (CalibrationRow.method == method)
            have = select(CalibrationRow.video_id).where(mine)
            with_tracks = select(TrackRow.video_id).group_by(TrackRow.video_id).having(func.count() > 0)
            q = select(VideoRow.id).where(
                VideoRow.status == "done", VideoRow.id.in_(with_tracks), VideoRow.id.not_in(have)
            )
            return list(s.scalars(q).all())
