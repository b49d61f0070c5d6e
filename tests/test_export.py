"""Evidence export: playable H.264 clips of the right length, boxes, thumbnails, summaries, and the
ways writing can fail (existing file, unwritable folder, full disk) without leaving debris."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.weights import sha256_of
from pipeline.errors import ExportError
from pipeline.evidence import export_hits
from pipeline.export import ExportConfig, export_track
from pipeline.search import hit_from_track
from pipeline.storage.clock import VideoClock
from pipeline.types import box_at
from tests.conftest import ROOT, pets, tud


def decode_all(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    return frames


@pytest.fixture(scope="module")
def track(indexed):
    """A PETS track a few seconds long, away from the start and end of the video."""
    tracks = indexed.video_tracks(indexed.video_id(pets().video))
    return next(t for t in tracks if t.first_frame > 40 and 30 < t.last_frame - t.first_frame < 200)


def test_clip_is_h264_with_the_right_frames_and_box(tmp_path: Path, track) -> None:
    import av

    cfg = ExportConfig(margin_s=1.0)
    clip = export_track(track, tmp_path / "clip.mp4", annotate=True, score=0.9, config=cfg)
    margin = 10  # 1 s at 10 fps
    assert clip.start_frame == track.first_frame - margin
    expected = min(track.last_frame + margin, 794) - clip.start_frame + 1
    frames = decode_all(clip.path)
    assert clip.frames == expected == len(frames)
    with av.open(str(clip.path)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.format.name == "yuv420p"
        assert (s.width, s.height) == (480, 360) and abs(float(s.average_rate) - 10.0) < 1e-6
    # the box is drawn where the track says the person is
    k = track.first_frame + 5
    box = box_at(track.path, k)
    img = frames[k - clip.start_frame]
    x1, y1, _x2, y2 = (round(float(v)) for v in box)
    edge = img[y1 + 3 : y2 - 3, max(x1 - 1, 0) : x1 + 2].reshape(-1, 3).astype(int)
    orange = np.array(cfg.box_color)
    assert (np.abs(edge - orange).sum(axis=1) < 120).mean() > 0.6
    assert clip.sha256 == sha256_of(clip.path)
    thumb = cv2.imread(str(clip.thumbnail))
    assert clip.thumbnail.suffix == ".jpg" and thumb is not None and thumb.shape == (360, 480, 3)


def test_plain_clip_has_no_box(tmp_path: Path, track, frame_of) -> None:
    cfg = ExportConfig(margin_s=0)
    clip = export_track(track, tmp_path / "plain.mp4", annotate=False, config=cfg)
    frames = decode_all(clip.path)
    original = frame_of(pets().video, track.first_frame)
    assert np.abs(frames[0].astype(int) - original.astype(int)).mean() < 4  # only compression noise
    k = track.first_frame + 5  # where an annotated clip has the box's left edge, this one has none
    x1, y1, _x2, y2 = (round(float(v)) for v in box_at(track.path, k))
    edge = frames[k - clip.start_frame][y1 + 3 : y2 - 3, max(x1 - 1, 0) : x1 + 2].reshape(-1, 3).astype(int)
    assert (np.abs(edge - np.array(cfg.box_color)).sum(axis=1) < 120).mean() < 0.2


def test_existing_files_are_never_overwritten(tmp_path: Path, track) -> None:
    target = tmp_path / "taken.mp4"
    target.write_bytes(b"precious")
    with pytest.raises(ExportError, match="already exists"):
        export_track(track, target)
    assert target.read_bytes() == b"precious"
    (tmp_path / "thumb.jpg").write_bytes(b"keep")
    with pytest.raises(ExportError, match="already exists"):
        export_track(track, tmp_path / "thumb.mp4")
    assert (tmp_path / "thumb.jpg").read_bytes() == b"keep"
    with pytest.raises(ExportError, match=r"must end in \.mp4"):
        export_track(track, tmp_path / "clip.avi")


def test_unwritable_folder(tmp_path: Path, track) -> None:
    if os.geteuid() == 0:
        folder = Path("/proc")  # not writable even for root
    else:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
    with pytest.raises(ExportError, match="not writable"):
        export_track(track, folder / "clip.mp4")
    with pytest.raises(ExportError, match="no such folder"):
        export_track(track, tmp_path / "missing" / "clip.mp4")
    (tmp_path / "notes").write_text("a file where a folder was meant")  # was "no such folder"
    with pytest.raises(ExportError, match="notes is a file, not a folder"):
        export_track(track, tmp_path / "notes" / "clip.mp4")


def test_full_disk_leaves_no_partial_file(tmp_path: Path, indexed, track) -> None:
    """The export process may write only 64 KiB per file (RLIMIT_FSIZE): writes fail like a full disk."""
    out = tmp_path / "out"
    out.mkdir()
    script = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        from pipeline.errors import ExportError
        from pipeline.export import export_track
        from pipeline.storage import Library
        track = Library({str(indexed.db_path)!r}).tracks([{track.pk}])[{track.pk}]
        try:
            export_track(track, {str(out / "clip.mp4")!r}, annotate=True)
        except ExportError as e:
            print("EXPORT-ERROR", e)
            sys.exit(3)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr[-2000:]
    assert "EXPORT-ERROR cannot write" in proc.stdout
    assert list(out.iterdir()) == []  # no half-written clip, no temporary file


def test_a_clip_whose_thumbnail_cannot_be_written_is_not_kept(
    tmp_path: Path, track, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk filled between the clip and its thumbnail: the export failed but left the clip, and
    the same export again was refused ("already exists") (helper's evidence sweep)."""
    import pipeline.export
    from pipeline.errors import ExportError

    def full(target: Path, data: bytes) -> None:
        raise ExportError(f"cannot write {target}: No space left on device")

    monkeypatch.setattr(pipeline.export, "write_new", full)
    with pytest.raises(ExportError, match="No space left"):
        pipeline.export.export_track(track, tmp_path / "clip.mp4", annotate=True)
    assert list(tmp_path.iterdir()) == []


def test_batch_export_with_summary(tmp_path: Path, indexed, track) -> None:
    tracks = indexed.video_tracks(track.video_id)[:2]
    clock = VideoClock("Entrance", datetime(2026, 11, 21, 14, 30))
    hits = [hit_from_track(t, 0.8 - 0.1 * k, clock) for k, t in enumerate(tracks)]
    cfg = ExportConfig(margin_s=0.0)
    events = list(export_hits(indexed, hits, tmp_path, annotate=True, config=cfg))
    assert events[-1].finished and events[-1].clips_done == 2
    summary = json.loads(Path(events[-1].summary_json).read_text())
    assert len(summary["clips"]) == 2
    for row, hit in zip(summary["clips"], hits):
        clip = tmp_path / row["clip"]
        assert sha256_of(clip) == row["sha256"]
        assert row["video"] == hit.video_path and row["track_id"] == hit.track_id
        assert row["camera"] == "Entrance" and row["start_time"] == hit.start_time.isoformat(
            timespec="milliseconds"
        )
        assert len(decode_all(clip)) == row["frames"] == hit.end_frame - hit.start_frame + 1
    assert Path(events[-1].summary_csv).read_text().count("\n") == 3
    again = list(export_hits(indexed, hits[:1], tmp_path, annotate=False, config=cfg))
    assert Path(again[-1].summary_json).name == "spotter_export_2.json"
    assert len(list(tmp_path.glob("*.mp4"))) == 3  # a new name, nothing overwritten


def test_a_summary_csv_shows_a_formula_named_camera_as_text(tmp_path: Path, indexed, track) -> None:
    """A camera named like a formula (by an operator, or by the folder its footage came from): the
    CSV cell ran as one when the summary was opened in a spreadsheet (a helper's sweep). It is text
    there now (a leading '), and as named in the JSON."""
    import csv

    name = '=HYPERLINK("http://x","click")'
    hit = hit_from_track(track, 0.9, VideoClock(name, datetime(2026, 11, 21, 14, 30)))
    events = list(export_hits(indexed, [hit], tmp_path, annotate=False, config=ExportConfig(margin_s=0.0)))
    with open(events[-1].summary_csv, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["camera"] == "'" + name and not row["video"].startswith("'")
    assert json.loads(Path(events[-1].summary_json).read_text())["clips"][0]["camera"] == name


def test_cancel_mid_clip_keeps_a_summary_of_the_finished_clips(tmp_path: Path, indexed, track) -> None:
    tracks = indexed.video_tracks(track.video_id)[:3]
    hits = [hit_from_track(t, 0.9) for t in tracks]
    seen: list = []

    def cancel() -> bool:  # cancel a few frames into the second clip
        return len([e for e in seen if e.clips_done == 1 and e.clip_frames_done > 0]) >= 1

    for ev in export_hits(
        indexed, hits, tmp_path, annotate=False, config=ExportConfig(margin_s=0.0), cancel=cancel
    ):
        seen.append(ev)
    summary = json.loads(Path(seen[-1].summary_json).read_text())
    assert summary["complete"] is False and summary["clips_requested"] == 3 and len(summary["clips"]) == 1
    (row,) = summary["clips"]
    assert sha256_of(tmp_path / row["clip"]) == row["sha256"]
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == [row["clip"]]  # no half-written clip


def test_evidence_files_are_readable_by_others(tmp_path: Path, indexed, track) -> None:
    old = os.umask(0o022)
    try:
        hits = [hit_from_track(track, 0.9)]
        events = list(export_hits(indexed, hits, tmp_path, annotate=False, config=ExportConfig(margin_s=0.0)))
    finally:
        os.umask(old)
    for f in [*tmp_path.glob("*.mp4"), *tmp_path.glob("*.jpg"), Path(events[-1].summary_json)]:
        assert f.stat().st_mode & 0o777 == 0o644, f.name


def test_clip_names_keep_letters_of_any_script() -> None:
    """A camera named in Cyrillic or Chinese keeps its name in its clips' file names (they were all
    'video_track...' before: only Latin letters were kept); what a file name cannot hold goes."""
    from pipeline.evidence import clip_stem
    from pipeline.types import Hit

    def stem(video: str) -> str:
        return clip_stem(Hit(None, None, 1, video, 1, 3, 0.9, 10, 20, 1.0, 2.0, 10.0, ()))

    assert stem("/v/Камера 2 вход.mp4") == "Камера_2_вход_track3_00001.0s-00002.0s"
    assert stem("/v/北门摄像头.mp4").startswith("北门摄像头_track3")
    assert stem("/v/cam:1 <east>?.mp4").startswith("cam_1_east_track3")
    assert stem("/v/***.mp4").startswith("video_track3")
    assert stem("/v/....mp4").startswith("video_track3")  # not a hidden file
    assert stem("/v/กล้องหน้าร้าน.mp4").startswith("กล้องหน้าร้าน_track3")  # combining marks kept
    assert stem("/v/Cafe\u0301 cam.mp4").startswith("Café_cam_track3")  # an accent kept apart (macOS)
    long = stem("/v/" + "𠮷" * 60 + ".mp4")  # four bytes a letter: the name fits a file system's 255
    assert long.startswith("𠮷" * 15 + "_track3") and len((long + ".mp4").encode()) < 255


def test_a_label_of_a_person_at_the_right_edge_is_drawn_whole() -> None:
    """A person at the frame's right edge had their label cut off ("track 6 0.83" read "track"): the
    label is moved left to fit, still above the box."""
    from pipeline.export import draw_box

    config = ExportConfig()
    image = np.zeros((360, 480, 3), np.uint8)
    draw_box(image, np.array([440.0, 100.0, 478.0, 200.0]), config, "track 6  0.83")
    drawn = np.flatnonzero((image[60:98] == config.box_color).all(axis=2).any(axis=0))
    width = drawn.max() - drawn.min()
    assert width > 60 and drawn.max() <= 479  # the whole label, inside the frame
    left = np.zeros_like(image)
    draw_box(left, np.array([10.0, 100.0, 48.0, 200.0]), config, "track 6  0.83")
    same = np.flatnonzero((left[60:98] == config.box_color).all(axis=2).any(axis=0))
    assert same.min() == 10 and same.max() - same.min() == width  # unmoved where it fits


def test_a_folder_given_as_the_clip_is_said_to_be_a_folder(tmp_path: Path) -> None:
    """`export --out EXISTING_FOLDER` said 'the file name must end in .mp4' of a folder."""
    from pipeline.export import check_target

    for folder in (tmp_path, tmp_path / "clip.mp4"):
        folder.mkdir(exist_ok=True)
        with pytest.raises(ExportError, match=r"is a folder: give the file name to write, ending in \.mp4$"):
            check_target(folder)


def test_a_symbolic_link_loop_as_the_clip_is_one_line(tmp_path: Path, tud_library: Path) -> None:
    """A link loop in `export --out` ended in a RuntimeError traceback (Path.resolve, Python 3.11)."""
    from pipeline.storage import Library
    from tests.conftest import copy_library

    db = copy_library(tud_library, tmp_path / "lib.db")
    library = Library(db)
    pk = library.video_tracks(library.video_id(str(tud().video.resolve())))[0].pk
    _, (hit_id,) = library.save_search("/q.jpg", None, "test-reid", {}, np.ones(16), [(pk, 0.8)])
    library.close()
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    for out in (loop / "clip.mp4", loop):  # a folder on the way, or the clip's own name
        p = subprocess.run(
            [sys.executable, "main.py", "export", "--hit", str(hit_id), "--out", str(out), "--db", str(db)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert p.returncode == 2 and "cannot resolve the path" in p.stderr, p.stderr
        assert "Traceback" not in p.stderr and p.stderr.count("\n") == 1, p.stderr


def test_a_clip_of_a_matroska_recording_that_sped_up_is_whole(tmp_path: Path) -> None:
    """Matroska and MPEG-TS declare a span, not a count of frames: the count guessed from the span and
    the first frames' rate (2 fps here, 10 fps after 5 s) cut a hit's clip short without a word, or
    refused it as 'outside the video', and the player refused to show the hit (a sweep). The frames
    indexed bound a clip and the player; without them, the stream ends them."""
    import itertools
    from fractions import Fraction

    import av

    from bench.sequences import frames_of
    from pipeline.export import drain, iter_export_clip
    from pipeline.video import VideoReader, probe

    keep = [*range(0, 50, 5), *range(50, 80)]  # 5 s at 2 fps, then 3 s at 10 fps: 40 frames
    images = list(itertools.islice(frames_of(pets().video), 80))
    video = tmp_path / "event.mkv"
    with av.open(str(video), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = images[0].shape[1], images[0].shape[0], "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        for k in keep:
            frame = av.VideoFrame.from_ndarray(images[k], format="bgr24")
            frame.pts, frame.time_base = k * 100, Fraction(1, 1000)
            c.mux(s.encode(frame))
        c.mux(s.encode())
    info = probe(video)
    assert info.declared_s and info.frame_count < 30  # the guess
    decoded = [f.image for f in VideoReader(info)]
    assert len(decoded) == len(keep)
    config = ExportConfig(margin_s=0.0)
    for indexed in (len(keep), 0):  # the count indexed, and none known
        clip = drain(iter_export_clip(video, 20, 35, tmp_path / f"clip{indexed}.mp4", config=config,
                                      indexed_frames=indexed))  # fmt: skip
        assert (clip.start_frame, clip.end_frame, clip.frames) == (20, 35, 16)
        got = decode_all(clip.path)
        assert len(got) == 16 and np.abs(got[0].astype(int) - decoded[20]).mean() < 6
    from pipeline.frames import FrameSource

    for indexed in (len(keep), 0):  # the player: every frame, also past the guessed count
        with FrameSource(video, indexed_frames=indexed) as source:
            assert source.frame_count == (indexed or info.frame_count)
            assert np.array_equal(source.frame(35), decoded[35])
