"""Registering a video for indexing: skip it, resume it, index it on (a folder that gained images) or
start it afresh, and why (:meth:`VideoRegistration.start_video`)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from pipeline.storage.base import GEN_REMOVED, LibraryBase
from pipeline.storage.cases import CaseStore
from pipeline.storage.records import StartDecision
from pipeline.storage.replacing import TrackReplacement
from pipeline.storage.schema import TrackRow, VideoRow

if TYPE_CHECKING:
    from pipeline.video import VideoInfo

_ENDED = {"indexing": "was interrupted", "failed": "failed"}  # a video row's status, said of its last run


class VideoRegistration(LibraryBase):
    def start_video(
        self,
        info: VideoInfo,
        detector_id: str,
        reid_id: str,
        settings: dict[str, Any],
        force: bool = False,
        content_hash: Callable[[], str] | None = None,
        grown: Callable[[str, dict[str, Any]], bool] | None = None,
        appended: Callable[[int, str], bool] | None = None,
        ready: Callable[[], object] | None = None,
    ) -> StartDecision:
        """Register a video for indexing and decide whether to skip, resume or start it afresh.

        A file is the same as the one indexed at its path when its size, modification time and
        sampled fingerprint match (cheap); when they do not, ``content_hash`` (the whole file's
        SHA-256, computed only then) decides: a touched or restored copy of the same content is
        the same file, anything else is a changed file and is indexed again, which the reason
        says. A new path whose content is already indexed under another path is not indexed
        again: it is listed with that video (``aliases``). A changed file that ``grown`` (given the
        content hash and checkpoint kept) says only gained frames after those indexed (a folder of
        snapshots that a camera keeps adding to) is indexed on from its checkpoint, what was
        indexed kept, its review marks with it. A file that ``appended`` (given the size and content
        indexed) says only grew at its end (a recording still being written when it was indexed) is
        the same recording: indexed again whole, its review marks moved to the tracks that agree.

        ``ready`` (loading the models) is called before anything of the video changes, unless it is
        skipped: where it raises, the video stays as it was (its checkpoint, status and tracks), so a
        model file that cannot be loaded costs no indexing already done. It is called before the
        write lock is taken (other processes wait on that lock), except for a video that looked
        indexed already and turned out not to be (another process changed it meanwhile).
        """
        key = json.dumps(settings, sort_keys=True)
        # the slow looks (hashing a whole file, reading a folder's new images) before the write lock:
        # held meanwhile, every other process's open, search or mark waited on them and timed out
        with self._read() as s:
            cols = (VideoRow.size, VideoRow.mtime, VideoRow.fingerprint, VideoRow.content_sha256)
            cols += (VideoRow.checkpoint, VideoRow.width, VideoRow.height)
            cols += (VideoRow.status, VideoRow.detector_id, VideoRow.reid_id)
            seen = s.execute(select(*cols).where(VideoRow.path == str(info.path))).first()
        quick = seen is not None and tuple(seen[:3]) == (info.size, info.mtime, info.fingerprint)
        if ready is not None and not (
            quick and not force and tuple(seen[7:]) == ("done", detector_id, reid_id)
        ):
            ready()  # not to be skipped, as it looks: the models load before the write lock is taken
            ready = None
        digest = "" if quick or content_hash is None else content_hash()
        grew: bool | None = None  # what ``grown`` says of the row as read, where it is asked
        changed = seen is not None and not quick and not (digest and digest == seen[3])  # not a touched copy
        if changed and grown is not None and seen[4] and (seen[5], seen[6]) == (info.width, info.height):
            grew = grown(seen[3], json.loads(zlib.decompress(seen[4])))
        longer = bool(changed and appended is not None and seen[3] and appended(seen[0], seen[3]))
        with self._write(f"cannot register {info.path}") as s:
            row = s.scalar(select(VideoRow).where(VideoRow.path == str(info.path)))
            if row is not None and (
                seen is None or (row.size, row.mtime, row.fingerprint) != tuple(seen[:3])
            ):
                grew = None  # another process changed the row meanwhile: asked again below
                longer = False
            quick = row is not None and (row.size, row.mtime, row.fingerprint) == (
                info.size,
                info.mtime,
                info.fingerprint,
            )
            if not quick and not digest and content_hash is not None:
                digest = content_hash()
            same_file = quick or (row is not None and bool(digest) and digest == row.content_sha256)
            if same_file and not quick and row is not None:  # touched, same content: remember anew
                row.size, row.mtime, row.fingerprint = info.size, info.mtime, info.fingerprint
            if row is None and digest and not force:
                twin = _twin(s, digest)
                if twin is not None:
                    aliases = json.loads(twin.aliases_json or "[]")
                    reason = _twin_reason(self, twin)
                    if twin.status == "done" and not Path(twin.path).exists():  # moved: listed where it is
                        aliases = [a for a in aliases if a != str(info.path)] + [twin.path]
                        reason = (
                            f"same content as {twin.path}, gone from there: listed here now, indexed once"
                        )
                        twin.path, twin.mtime = str(info.path), info.mtime
                    if str(info.path) not in aliases and str(info.path) != twin.path:
                        aliases.append(str(info.path))
                    twin.aliases_json = json.dumps(aliases)
                    return StartDecision(twin.id, "skip", twin.frames_done, reason=reason)
            same_models = same_file and row.detector_id == detector_id and row.reid_id == reid_id
            if same_models and row.status == "done" and not force:
                note = "" if row.settings_key == key else " (with other settings; --force redoes it)"
                return StartDecision(row.id, "skip", row.frames_done, reason=f"already indexed{note}")
            if ready is not None:  # (taken for a skip above) raising here rolls back this transaction
                ready()
            if same_models and row.settings_key == key and row.checkpoint and not force:
                row.status = "indexing"
                state = json.loads(zlib.decompress(row.checkpoint))
                return StartDecision(row.id, "resume", row.frames_done, state, "resuming an interrupted run")
            state = json.loads(zlib.decompress(row.checkpoint)) if row is not None and row.checkpoint else {}
            only_grew = bool(  # a folder that gained images, those indexed unchanged
                not same_file
                and grown is not None
                and state
                and (row.width, row.height) == (info.width, info.height)
                and (grown(row.content_sha256, state) if grew is None else grew)
            )
            same_run = row is not None and (row.detector_id, row.reid_id, row.settings_key) == (
                detector_id,
                reid_id,
                key,
            )
            if only_grew and not force and same_run:
                added = max(0, info.frame_count - row.frame_count)
                row.size, row.mtime, row.fingerprint = info.size, info.mtime, info.fingerprint
                row.content_sha256 = digest or row.content_sha256
                row.fps, row.frame_count, row.duration_s = info.fps, info.frame_count, info.duration_s
                row.status = "indexing"
                reason = f"{added} frame(s) added to it: indexing on from frame "
                reason += f"{int(state['next_frame']) + 1}, what was indexed is kept"
                return StartDecision(row.id, "resume", row.frames_done, state, reason)
            reason = ""
            if row is None:
                row = VideoRow(path=str(info.path))
                s.add(row)
            else:
                reason = (
                    "forced"
                    if force
                    else _changed(info)
                    if not (same_file or only_grew or longer)
                    else f"file grew by {(info.size - seen[0]) / 1e6:.1f} MB since it was indexed (still "
                    "being recorded then): indexed again whole"
                    if longer and not same_file
                    else "models or settings changed"
                    if not (same_models and row.settings_key == key)
                    else f"the last run {_ENDED.get(row.status, 'stopped')} before anything could be kept: "
                    "indexing from the start"
                )
                if s.scalar(select(func.count()).select_from(TrackRow).where(TrackRow.video_id == row.id)):
                    if same_file or only_grew or longer:  # the same recording: tracks stay until replaced
                        reason += TrackReplacement._set_aside(s, row.id)
                    else:
                        reason += CaseStore._marks_dropped(s, row.id)
                        s.execute(delete(TrackRow).where(TrackRow.video_id == row.id))
                        self._bump(s, GEN_REMOVED)
            row.size, row.mtime, row.fingerprint = info.size, info.mtime, info.fingerprint
            row.content_sha256 = digest or row.content_sha256 or ""
            row.fps, row.frame_count, row.duration_s = info.fps, info.frame_count, info.duration_s
            row.width, row.height = info.width, info.height
            row.status, row.frames_done, row.message, row.checkpoint = "indexing", 0, "", None
            row.detector_id, row.reid_id, row.settings_key, row.settings_json = detector_id, reid_id, key, key
            s.flush()
            return StartDecision(row.id, "fresh", 0, None, reason)


def _changed(info: VideoInfo) -> str:
    """Why a file (or folder) whose content is not what was indexed is indexed afresh."""
    if info.images is None:
        return "file changed: its content differs from what was indexed"
    return (
        "folder changed: images were added before or among those indexed, or some of them changed, "
        "went or were retimed"
    )


def _twin(s: Any, digest: str) -> VideoRow | None:
    """The video already in the library with this content, where another path of it is to be
    indexed once: one indexed, else one being indexed or left unfinished whose file is still
    there to resume (two copies indexed at once, or one while the other was, were both indexed
    whole and every hit listed twice; a sweep). A failed one is not: the copy may do better."""
    rows = s.scalars(
        select(VideoRow).where(VideoRow.content_sha256 == digest, VideoRow.status != "failed")
    ).all()
    done = [r for r in rows if r.status == "done"]
    if done:
        return done[0]
    return next((r for r in rows if Path(r.path).exists()), None)


def _twin_reason(library: LibraryBase, twin: VideoRow) -> str:
    if twin.status == "done":
        return f"same content as {twin.path}: indexed once"
    if twin.status == "indexing" and library.being_indexed(Path(twin.path)):
        return f"same content as {twin.path}, which is being indexed now: indexed once"
    return f"same content as {twin.path}, whose indexing did not finish: index that to resume it"
