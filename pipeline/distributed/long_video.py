"""A long video indexed as time segments by several Ray workers, then stitched into one video.

The driver decides first, as a local run would, whether the video needs indexing at all (an
unchanged, finished video is skipped), and whether a checkpoint leaves little enough to do (a run
interrupted near its end, a folder of snapshots that gained images) to go on from it as one task.
Otherwise it registers the video afresh in the job's library
(any earlier partial run is dropped: segments always start clean), hands out the segments (each
worker indexes its frames into a private library, ``index_video(segment=...)``), and when every
segment is back joins the parts (:mod:`pipeline.distributed.stitch`), stores the whole tracks in one
transaction, then links the fragments of each person and calibrates the video as the indexer does.
A segment that fails or is cancelled leaves the video ``failed`` / ``partial`` with no checkpoint: the
next run indexes it again from the start.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from models.loader import ModelConfig, ModelSet
from pipeline.calibration import calibrate_video
from pipeline.distributed.stitch import StitchConfig, segments, stitch
from pipeline.distributed.worker import VideoOutcome
from pipeline.errors import SpotterError
from pipeline.index_run import content_checks
from pipeline.indexer import IndexConfig, link_video, settings_for
from pipeline.mark_matching import drop_stale
from pipeline.storage import Library
from pipeline.video import VideoInfo, probe

log = logging.getLogger(__name__)

SEGMENT_S = 600.0  # a video longer than 1.5x this is split into parts of about this length


@dataclass
class SegmentedVideo:
    info: VideoInfo
    video_id: int
    reid_id: str
    ranges: list[tuple[int, int, int]]  # (first frame indexed, boundary, end) of each part
    parts: dict[int, VideoOutcome] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.parts) == len(self.ranges)

    def label(self, k: int) -> str:
        """How a segment is named in progress and messages."""
        return f"{self.info.path}@{self.ranges[k][1]}-{self.ranges[k][2]}"

    def finish(self, library: Library, config: IndexConfig, stitching: StitchConfig) -> VideoOutcome:
        """Join the parts into the video in ``library`` (or record why it cannot be)."""
        path = str(self.info.path)
        bad = [o for o in self.parts.values() if o.stage != "done"]
        if bad:
            cancelled = all(o.stage in ("cancelled", "done") for o in self.parts.values())
            stage = "cancelled" if cancelled else "failed"
            message = "; ".join(sorted({o.message for o in bad if o.message})) or stage
            status = "partial" if stage == "cancelled" else "failed"
            library.finish_video(self.video_id, status, 0, f"{message}; index again to redo it")
            return VideoOutcome.without_work(path, stage, message)
        pieces, reports = [], []
        with tempfile.TemporaryDirectory(prefix="spotter-parts-") as tmp:
            for k in range(len(self.ranges)):
                part = Path(tmp) / f"part{k}.db"
                part.write_bytes(self.parts[k].library_bytes)
                private = Library(part)
                (video,) = private.videos()
                pieces.append(private.track_records(video.video_id, self.reid_id))
                reports.append(json.loads(video.report_json or "{}"))
                private.close()
        fps = self.info.fps
        records = stitch(pieces, [boundary for _, boundary, _ in self.ranges[1:]], fps, stitching)
        frames = self.parts[len(self.ranges) - 1].frames  # the last part ends where the video does
        library.commit_chunk(self.video_id, records, frames, None, self.reid_id)
        dropped = drop_stale(library, self.video_id)
        link_video(library, self.video_id, self.reid_id, config.linking)
        calibrate_video(library, self.video_id, self.reid_id)
        report = merged_report(reports) | {
            "segments": len(self.ranges),
            "tracks_before_stitching": sum(map(len, pieces)),
        }
        library.finish_video(self.video_id, "done", frames, dropped, frames, None, report)
        return VideoOutcome(path, "done", dropped, len(records), frames, 0, path)


def merged_report(reports: list[dict]) -> dict:
    """One indexing report for the parts: counts (whole numbers at the top level) added up, the
    rest (detector input, people's heights, notes) as the first part found them."""
    out = dict(reports[0])
    for key, value in reports[0].items():
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = sum(int(r.get(key, 0)) for r in reports)
    return out


def plan_video(
    library: Library,
    video: Path,
    models: ModelConfig,
    config: IndexConfig,
    segment_s: float,
    force: bool,
    decide: bool,
) -> SegmentedVideo | VideoOutcome | None:
    """How a job handles ``video``: a ``skipped`` outcome when it needs no indexing (``failed`` when it
    is not a readable video), its segments when it is long, else None (one task). A long video, and
    with ``decide`` any video, is registered in ``library`` here, by the ordinary start decision (skip
    unchanged, recognise the same content under another name, resume, or start afresh), so that a
    worker's private library can be seeded with exactly what this one decided."""
    try:
        info = probe(video)
    except SpotterError as e:
        return VideoOutcome.without_work(video, "failed", str(e))
    ranges = segments(info.frame_count, info.fps, segment_s)
    if len(ranges) < 2 and not decide:
        return None
    ms = ModelSet(models)  # identities and settings only: no model is loaded
    settings = settings_for(config, ms, info)
    ids = (ms.detector_id, ms.reid_id)
    decision = library.start_video(
        info,
        *ids,
        settings,
        force,
        *content_checks(info),
        ready=ms.check_files,  # a model file that is no model changes nothing (the workers load them)
    )
    if decision.action == "skip":
        path, tracks = str(info.path), library.track_count(decision.video_id)
        return VideoOutcome(path, "skipped", decision.reason, tracks, decision.frames_done, 0, path)
    if decision.reason:
        log.info("%s: %s", info.path, decision.reason)
    if len(ranges) < 2:
        return None
    if decision.action == "resume":  # a checkpoint of an unsplit run (or of a folder that grew)
        left = segments(max(info.frame_count - decision.frames_done, 0), info.fps, segment_s)
        if len(left) < 2:  # what is left is one segment's work: go on from the checkpoint
            return None
        decision = library.start_video(info, *ids, settings, True)  # segments start clean instead
    return SegmentedVideo(info, decision.video_id, ms.reid_id, ranges)
