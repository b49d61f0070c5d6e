"""Export several hits at once into a folder, with a summary of every clip and its SHA-256.

Clip names say where the clip comes from (video, track, time) and are made unique instead of
overwriting anything; the summary is written as JSON and CSV beside the clips. Progress is a
generator of :class:`EvidenceProgress`, checking a cancel flag between frames.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from pipeline.errors import ExportError
from pipeline.export import (
    ExportCancelledError,
    ExportConfig,
    ExportedClip,
    iter_export_track,
    not_a_folder,
    write_new,
)
from pipeline.file_names import slug
from pipeline.source_check import verify_source
from pipeline.storage import Library
from pipeline.storage.video_reads import VideoIdentity
from pipeline.types import Hit, iso_time

SUMMARY_NAME = "spotter_export"
PROGRESS_EVERY = 10  # frames between two progress events within a clip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a CSV cell beginning so is a spreadsheet formula


@dataclass(frozen=True)
class EvidenceProgress:
    """clips_done of clips_total finished; frame progress within the current clip."""

    clips_done: int
    clips_total: int
    clip_frames_done: int = 0
    clip_frames_total: int = 0
    current: str = ""
    finished: bool = False
    clip_written: bool = False  # ``current`` is written whole (``clips_done`` counts it)
    summary_json: str = ""
    summary_csv: str = ""


@dataclass(frozen=True)
class SummaryRow:
    hit_id: int | None  # the search hit the clip is cut from (ids are never reused)
    search_id: int | None
    clip: str
    thumbnail: str
    video: str
    track_id: int
    score: float | None  # None: no other example to compare the sighting with (a report)
    hit_start_s: float
    hit_end_s: float
    clip_start_s: float
    clip_end_s: float
    clip_start_frame: int
    clip_end_frame: int
    frames: int
    annotated: bool
    sha256: str
    camera: str = ""
    start_time: str | None = None  # wall-clock time of the hit's start (ISO 8601, local), if known
    end_time: str | None = None
    # the recording the clip was cut from as it was indexed: the SHA-256 of its first source_bytes
    # bytes (all of it unless it grew since; a folder of images: of every image's name, size and
    # bytes), which ties the clip to the original file (chain of custody); "" where not kept
    source_sha256: str = ""
    source_bytes: int | None = None


def unique_base(folder: Path, stem: str, suffixes: Sequence[str]) -> Path:
    """``folder/stem`` (or ``stem_2``, ``stem_3``...) such that no ``stem + suffix`` file exists yet."""
    for k in range(1, 10_000):
        base = folder / (stem if k == 1 else f"{stem}_{k}")
        if not any(base.with_name(base.name + sfx).exists() for sfx in suffixes):
            return base
    raise ExportError(f"{folder}: too many files named {stem}")


def clip_stem(hit: Hit) -> str:
    name = slug(Path(hit.video_path).stem, 60, "video")
    return f"{name}_track{hit.track_id}_{hit.start_s:07.1f}s-{hit.end_s:07.1f}s"


def export_hits(
    library: Library,
    hits: Sequence[Hit],
    folder: str | Path,
    annotate: bool = True,
    config: ExportConfig = ExportConfig(),
    cancel: Callable[[], bool] | None = None,
) -> Iterator[EvidenceProgress]:
    """Export each hit's track to an MP4 (+ JPEG) in ``folder`` and write the summary files."""
    folder = Path(folder).expanduser().resolve()
    if problem := not_a_folder(folder):
        raise ExportError(problem)
    tracks = library.tracks([h.track_pk for h in hits])
    sources = {
        video_id: verify_source(library, video_id)
        for video_id in sorted({t.video_id for t in tracks.values()})
    }
    indexed = {video_id: library.video_identity(video_id) for video_id in sources}
    rows: list[SummaryRow] = []
    total = len(hits)
    for k, hit in enumerate(hits):
        if cancel is not None and cancel():
            break
        track = tracks.get(hit.track_pk)
        if track is None:
            raise ExportError(f"{Path(hit.video_path).name} track {hit.track_id}: gone (video re-indexed)")
        base = unique_base(folder, clip_stem(hit), (".mp4", ".jpg"))
        target = base.with_name(base.name + ".mp4")
        yield EvidenceProgress(k, total, 0, 0, target.name)
        seek = library.seek_table(track.video_id)
        track = replace(track, video_path=sources[track.video_id])  # a copy where the file moved
        steps = iter_export_track(track, target, annotate, hit.score, config, cancel, seek)
        try:
            while True:
                try:
                    done, of = next(steps)
                except StopIteration as finished:
                    clip: ExportedClip = finished.value
                    break
                if done % PROGRESS_EVERY == 0:
                    yield EvidenceProgress(k, total, done, of, target.name)
        except ExportCancelledError:  # the clip in progress is dropped; the finished ones get a summary
            break
        rows.append(
            SummaryRow(
                hit.hit_id,
                hit.search_id,
                clip.path.name,
                clip.thumbnail.name,
                track.video_path,  # the file the clip was cut from
                hit.track_id,
                None if math.isnan(hit.score) else round(hit.score, 4),  # a report's sole example
                round(hit.start_s, 3),
                round(hit.end_s, 3),
                round(clip.start_s, 3),
                round(clip.end_s, 3),
                clip.start_frame,
                clip.end_frame,
                clip.frames,
                annotate,
                clip.sha256,
                hit.camera,
                iso_time(hit.start_time),
                iso_time(hit.end_time),
                *_source_hash(indexed.get(track.video_id)),
            )
        )
        yield EvidenceProgress(k + 1, total, clip.frames, clip.frames, target.name, clip_written=True)
    if not rows:
        return
    json_path, csv_path = write_summary(folder, rows, total)
    yield EvidenceProgress(
        len(rows), total, finished=True, summary_json=str(json_path), summary_csv=str(csv_path)
    )


def _source_hash(identity: VideoIdentity | None) -> tuple[str, int | None]:
    """The summary's source_sha256 and source_bytes of a video as indexed."""
    if identity is None or not identity.content_sha256:
        return "", None
    return identity.content_sha256, identity.size


def spreadsheet_safe(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text: a string beginning with ``=``, ``+``, ``-``, ``@``
    or a tab or carriage return (which Excel and LibreOffice take for a formula: a camera named
    ``=HYPERLINK(...)`` by a folder or an operator ran as one) gets a leading ``'``, as OWASP
    advises; other values are left as they are (the JSON summary keeps every value as it is)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def write_summary(
    folder: Path, rows: Sequence[SummaryRow], requested: int | None = None
) -> tuple[Path, Path]:
    """Write ``spotter_export.json`` and ``.csv`` (numbered if taken) listing every clip written;
    ``complete`` says whether all ``requested`` clips were (an export cancelled part-way still lists
    and hashes the clips it finished)."""
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    base = unique_base(folder, SUMMARY_NAME, (".json", ".csv"))
    json_path, csv_path = base.with_name(base.name + ".json"), base.with_name(base.name + ".csv")
    requested = len(rows) if requested is None else requested
    doc = {
        "exported_at": stamp,
        "tool": "Spotter",
        "complete": len(rows) == requested,
        "clips_requested": requested,
        "clips": [asdict(r) for r in rows],
    }
    write_new(json_path, json.dumps(doc, indent=2).encode())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(asdict(rows[0])))
    writer.writeheader()
    writer.writerows({k: spreadsheet_safe(v) for k, v in asdict(r).items()} for r in rows)
    write_new(csv_path, buf.getvalue().encode())
    return json_path, csv_path
