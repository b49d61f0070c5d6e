"""Frames a file stores before the first one it shows (an edit list's, a cut's before its first key
frame) are not frames missing from its end: an intact copy is not "truncated or damaged"."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from pipeline.video import VideoReader, probe
from tests.conftest import pets
from tests.test_decoding import _remuxed


@pytest.fixture(scope="module")
def gop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 frames of PETS09-S2L1 at 10 fps, a key frame every 20."""
    from bench.sequences import frames_of, write_video

    path = tmp_path_factory.mktemp("unshown") / "gop.mp4"
    write_video(path, itertools.islice(frames_of(pets().video), 60), 10.0)
    return path


def test_an_mp4_whose_edit_list_hides_frames_is_whole(gop: Path, tmp_path: Path) -> None:
    """``ffmpeg -ss 1.5 -c copy``: an edit list hides the first 15 of 60 stored frames. The count
    compared with the frames decoded held them, and an intact file was "decoded 45 of 60 frames
    (truncated or damaged)", a note kept for good; nothing is missing, nothing is said."""
    info = probe(_remuxed(gop, tmp_path / "edit.mp4", shift_s=1.5))
    reader = VideoReader(info, stride=10)
    list(reader)
    assert reader.frames_read == info.frame_count == 45 and not reader.truncated
    assert info.note == "" and info.duration_s == pytest.approx(4.5)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_file_cut_before_its_first_key_frame_says_what_cannot_decode(
    gop: Path, tmp_path: Path, suffix: str
) -> None:
    """A copy missing its first 5 packets starts 15 frames before a key frame: those cannot decode.
    The MP4 said "decoded 40 of 55 frames (truncated or damaged)" though nothing is missing from its
    end, the Matroska file nothing at all; both say once, in the video's note, what is lost."""
    info = probe(_remuxed(gop, tmp_path / f"cut{suffix}", drop=5))
    reader = VideoReader(info, stride=10)
    list(reader)
    assert reader.frames_read == 40 and not reader.truncated
    assert info.note == (
        "the first 15 frames cannot be decoded: the file starts without a key frame "
        "(cut from a longer recording)"
    )


def test_an_edit_listed_mp4_cut_short_is_still_truncated(gop: Path, tmp_path: Path) -> None:
    """The frames hidden are taken off the count, not the frames the file ends without."""
    import av

    edit = _remuxed(gop, tmp_path / "edit.mp4", shift_s=1.5)
    fast = tmp_path / "fast.mp4"  # the same edit list, the index before the frames
    with av.open(str(edit)) as i, av.open(str(fast), "w", options={"movflags": "+faststart"}) as o:
        s = i.streams.video[0]
        t = o.add_stream_from_template(s)
        for p in (p for p in i.demux(s) if p.size):
            p.stream = t
            o.mux(p)
    data = fast.read_bytes()
    cut = tmp_path / "short.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    info = probe(cut)
    reader = VideoReader(info, stride=10)
    list(reader)
    assert info.frame_count == 45 and reader.truncated and "of 45 frames" in reader.shortfall
