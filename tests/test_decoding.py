"""Seeking by key frame: resume, export and the player start part-way without decoding from frame 0,
and land exactly where decoding from the start would."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pipeline.decoding import probe_stream
from pipeline.frames import FrameSource
from pipeline.keyframes import scan_keyframes
from pipeline.video import VideoReader, probe
from tests.conftest import pets
from tests.test_video import make_video


@pytest.fixture(scope="module")
def sequential() -> dict[int, np.ndarray]:
    """Frames of PETS09-S2L1 decoded from the start, every 50th kept."""
    return {f.index: f.image for f in VideoReader(probe(pets().video)) if f.index % 50 == 0}


def test_reading_records_a_seek_table_that_matches_the_packets() -> None:
    reader = VideoReader(probe(pets().video), stride=25)
    for _ in reader:
        pass
    table = reader.seek_table
    assert len(table) >= 10 and table[0][0] == 0  # a key frame every few seconds of 79.5 s
    scanned = dict(scan_keyframes(pets().video))
    for index, pts in table:
        assert scanned.get(index, pts) == pts  # same frame index for the same key frame


@pytest.mark.parametrize("start", [1, 349, 500, 790])
def test_a_start_part_way_seeks_and_lands_exactly(start: int, sequential) -> None:
    info = probe(pets().video)
    reader = VideoReader(info, start_frame=start, seek_table=scan_keyframes(info.path))
    frames = iter(reader)
    first = next(frames)
    assert first.index == start and first.ts == pytest.approx(start / 10.0)
    target = next((k for k in sorted(sequential) if k >= start), None)
    if target is not None:
        got = first if target == start else next(f for f in frames if f.index == target)
        assert np.array_equal(got.image, sequential[target])
    frames.close()
    if start > 300:  # decoding began at a key frame near the start, not at frame 0
        assert 0 < reader.decoded_from <= start


def test_player_jumps_back_and_forth_exactly(sequential) -> None:
    with FrameSource(pets().video) as source:
        for index in (700, 100, 750, 0, 650):
            assert np.array_equal(source.frame(index), sequential[index])


def test_frame_rate_is_checked_against_the_timestamps(tmp_path: Path) -> None:
    """A file that declares 25 fps while its timestamps advance at 5 fps is read at 5 fps, and the
    probe says so."""
    import av

    path = tmp_path / "odd.mp4"
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.time_base = Fraction(1, 1000)
        for k in range(20):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * k, np.uint8), format="bgr24")
            frame.pts = k * 200  # 0.2 s apart
            frame.time_base = Fraction(1, 1000)
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    info = probe_stream(path)
    assert info.fps == pytest.approx(5.0, rel=0.05)
    ts = [f.ts for f in VideoReader(probe(path))]
    assert np.allclose(np.diff(ts), 0.2, atol=1e-3)


def test_small_video_without_seek_table_still_starts_part_way(tmp_path: Path) -> None:
    video = make_video(tmp_path / "small.mp4", frames=40)
    whole = [f.image for f in VideoReader(probe(video))]
    part = list(VideoReader(probe(video), start_frame=25))
    assert part[0].index == 25 and np.array_equal(part[0].image, whole[25])


def test_a_file_whose_samples_last_zero_is_timed_by_its_stream_rate(tmp_path: Path) -> None:
    """TUD-Campus (25 fps, 2.84 s) remuxed with every sample lasting nothing: the container's rate
    is absurd, the stream's own (25 fps) is used, times come from frame numbers, and it is said."""
    import av

    from tests.conftest import tud

    path = tmp_path / "zero.mp4"
    with av.open(str(tud().video)) as src, av.open(str(path), "w") as out:
        s = src.streams.video[0]
        o = out.add_stream_from_template(s)
        o.time_base = Fraction(1, 1_000_000)
        for k, packet in enumerate(p for p in src.demux(s) if p.dts is not None):
            packet.stream = o
            packet.pts = packet.dts = k
            packet.duration = 0
            packet.time_base = Fraction(1, 1_000_000)
            out.mux(packet)
    info = probe(path)
    assert info.fps == pytest.approx(25.0) and abs(info.duration_s - 2.84) < 0.05
    assert "do not advance" in info.note
    ts = [f.ts for f in VideoReader(info, stride=10)]
    assert np.allclose(ts, np.arange(len(ts)) * 0.4)


def test_a_raw_h264_stream_is_timed_by_its_own_rate(tmp_path: Path) -> None:
    """A recorder's raw export (``.264``, no container: no timestamps, no duration) at 10 fps: the
    rate was found (10 fps) but frames were timed at FFmpeg's default 25 fps, so every hit came at
    0.4 of its time (a helper's sweep: 46.1 s reported as 18.44 s). Frames are timed at the rate found."""
    import av

    path = tmp_path / "export.264"
    with av.open(str(pets().video)) as src, av.open(str(path), "w", format="h264") as out:
        o = out.add_stream("libx264", rate=10)
        o.width, o.height, o.pix_fmt = 480, 360, "yuv420p"
        for k, frame in enumerate(src.decode(video=0)):
            if k == 40:
                break
            for packet in o.encode(
                av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            ):
                out.mux(packet)
        for packet in o.encode():
            out.mux(packet)
    info = probe(path)
    assert info.fps == pytest.approx(10.0) and info.frame_count == 40
    ts = [f.ts for f in VideoReader(info)]
    assert np.allclose(ts, np.arange(40) / 10.0)
    assert info.duration_s == pytest.approx(4.0, abs=0.11)


def recorder_mkv(path: Path, frames: int, offset_s: float, gap_after: int, gap_s: float) -> Path:
    """PETS09-S2L1's first frames remuxed into Matroska as a recorder writes it: its clock's time as
    the first timestamp, and a gap in the recording (nothing moved) after ``gap_after`` frames."""
    import av

    with av.open(str(pets().video)) as src, av.open(str(path), "w") as out:
        s = src.streams.video[0]
        o = out.add_stream_from_template(s)
        o.time_base = Fraction(1, 1000)
        for k, packet in enumerate(p for p in src.demux(s) if p.dts is not None):
            if k == frames:
                break
            t = offset_s + k / 10.0 + (gap_s if k >= gap_after else 0.0)
            packet.stream = o
            packet.pts = packet.dts = round(t * 1000)
            packet.duration = 100
            packet.time_base = Fraction(1, 1000)
            out.mux(packet)
    return path


def test_a_recording_with_a_clock_offset_and_a_gap_is_whole_and_a_cut_one_is_not(tmp_path: Path) -> None:
    """Matroska says no frame count, only a duration: the count was guessed from it at the first
    frames' rate, so an intact recording whose clock starts at 1,000,000 s, or that has a 2-hour gap,
    was "truncated or damaged: decoded 795 of 10000795 frames" (a helper's sweep). The frames' times
    are judged against the span instead; a copy cut part-way is still found truncated."""
    whole = recorder_mkv(tmp_path / "rec.mkv", 100, 1_000_000.0, 50, 7200.0)
    info = probe(whole)
    reader = VideoReader(info, stride=10)
    times = [f.ts for f in reader]
    assert times[-1] == pytest.approx(7200 + 9.0, abs=0.2) and not reader.truncated
    assert info.declared_s == pytest.approx(7210.0, abs=0.2)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 6 // 10])
    reader = VideoReader(probe(cut), stride=10)
    list(reader)
    assert (
        reader.truncated
        and reader.shortfall.startswith("decoded 2:00:0")
        and "of 2:00:10" in reader.shortfall
    )


def with_sound(path: Path, fmt: str, video_start_s: float, video_s: float, audio_s: float) -> Path:
    """A camera's recording with a sound track: 10 fps of video from ``video_start_s`` for
    ``video_s``, sound from 0 for ``audio_s`` (a microphone that starts before the picture, or runs
    on after it)."""
    import av

    with av.open(str(path), "w", format=fmt) as c:
        v = c.add_stream("mpeg2video" if fmt == "mpegts" else "libx264", rate=10)
        v.width, v.height, v.pix_fmt = 160, 120, "yuv420p"
        v.time_base = Fraction(1, 90000) if fmt == "mpegts" else Fraction(1, 1000)
        a = c.add_stream("mp2" if fmt == "mpegts" else "aac", rate=48000)
        a.layout = "mono"
        frames, blocks, vi, ai = round(video_s * 10), round(audio_s * 48000 / 1152), 0, 0
        while vi < frames or ai < blocks:
            tv = video_start_s + vi / 10 if vi < frames else math.inf
            if tv <= (ai * 1152 / 48000 if ai < blocks else math.inf):
                img = np.full((120, 160, 3), (vi * 3) % 255, np.uint8)
                frame = av.VideoFrame.from_ndarray(img, format="bgr24")
                frame.pts, frame.time_base, vi = round(tv / float(v.time_base)), v.time_base, vi + 1
                packets = v.encode(frame)
            else:
                sound = av.AudioFrame.from_ndarray(np.zeros((1, 1152), np.int16), format="s16", layout="mono")
                sound.sample_rate, sound.pts, sound.time_base, ai = (
                    48000,
                    ai * 1152,
                    Fraction(1, 48000),
                    ai + 1,
                )
                packets = a.encode(sound)
            for packet in packets:
                c.mux(packet)
        for stream in (v, a):
            for packet in stream.encode():
                c.mux(packet)
    return path


@pytest.mark.parametrize(
    ("fmt", "video_start_s", "audio_s"), [("mpegts", 1.5, 21.5), ("matroska", 0.0, 22.5)]
)
def test_sound_before_or_after_the_picture_is_not_truncation(
    tmp_path: Path, fmt: str, video_start_s: float, audio_s: float
) -> None:
    """The file's duration spans every stream: sound that starts 1.5 s before the picture (MPEG-TS) or
    runs on 2.5 s after it (Matroska) made an intact recording "truncated or damaged" (a review of
    the change). The video stream's own span is what its frames are judged against."""
    path = with_sound(
        tmp_path / f"cam.{'ts' if fmt == 'mpegts' else 'mkv'}", fmt, video_start_s, 20.0, audio_s
    )
    reader = VideoReader(probe(path), stride=20)
    list(reader)
    assert not reader.truncated and reader.shortfall.endswith("of 0:20.0"), reader.shortfall


def test_frame_rate_rules() -> None:
    """Timestamps that advance win over a declared rate that disagrees; where they do not advance,
    the stream's own rate, then the declared one, then 25 fps, each said."""
    from pipeline.frame_rate import choose_fps

    assert choose_fps(25.0, 0.0, 25.0) == (25.0, "")
    fps, note = choose_fps(25.0, 0.0, 5.0)
    assert fps == 5.0 and "timestamps say 5" in note
    fps, note = choose_fps(0.35, 25.0, 0.0)
    assert fps == 25.0 and "do not advance" in note
    fps, note = choose_fps(10.0, 0.0, 0.0)
    assert fps == 10.0 and "declared" in note
    fps, note = choose_fps(0.0, 0.0, 0.0)
    assert fps == 25.0 and "assumed" in note


def _remuxed(source: Path, out: Path, shift_s: float = 0.0, drop: int = 0) -> Path:
    """``source``'s packets in a new file: moved ``shift_s`` earlier (an MP4 then starts with an edit
    list, as ``ffmpeg -ss N -c copy`` writes), the first ``drop`` left out (a cut before a key frame)."""
    import av

    with av.open(str(source)) as i, av.open(str(out), "w") as o:
        s = i.streams.video[0]
        t = o.add_stream_from_template(s)
        shift = round(shift_s / s.time_base)
        for k, p in enumerate(p for p in i.demux(s) if p.size):
            if k < drop:
                continue
            p.pts, p.dts, p.stream = p.pts - shift, p.dts - shift, t
            o.mux(p)
    return out


def test_frames_are_found_by_the_frames_decoded_in_files_cut_without_decoding(tmp_path: Path) -> None:
    """A seek table read from the packets ranked a frame among all of them: in an MP4 whose edit list
    hides its first 15 frames, or a Matroska file cut 5 packets into a group of pictures (20 frames
    that cannot decode), the player showed frames 1.5-2 s from the ones asked for (a sweep)."""
    import itertools

    from bench.sequences import frames_of, write_video

    gop = tmp_path / "gop.mp4"
    write_video(gop, itertools.islice(frames_of(pets().video), 200), 10.0)
    for copy in (
        _remuxed(gop, tmp_path / "edit.mp4", shift_s=1.5),
        _remuxed(gop, tmp_path / "cut.mkv", drop=5),
    ):
        decoded = [f.image for f in VideoReader(probe(copy))]
        table = scan_keyframes(copy)
        assert table and len(decoded) < 200, copy.name
        with FrameSource(copy) as source:
            for k in (150, len(decoded) - 1, 20, 120):  # jumps: each seeks
                assert np.array_equal(source.frame(k), decoded[k]), (copy.name, k)
