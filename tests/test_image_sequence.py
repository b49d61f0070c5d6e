"""A folder of snapshots indexed as one video: capture order from EXIF or file names, sizes, damage."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.errors import VideoError
from pipeline.frames import FrameSource
from pipeline.indexer import index_video
from pipeline.media_scan import media_in
from pipeline.storage import Library
from pipeline.video import VideoReader, probe
from tests.conftest import tud

START = datetime(2026, 11, 21, 14, 30, 0)


def tud_frames(every: int = 5) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(tud().video))
    frames, k = [], 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if k % every == 0:
            frames.append(img)
        k += 1
    return frames


def write_named(folder: Path, frames: list[np.ndarray], step_s: float = 0.2) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, img in enumerate(frames):
        when = START + timedelta(seconds=k * step_s)
        p = folder / f"cam1_{when:%Y%m%d_%H%M%S}_{when.microsecond // 1000:03d}.jpg"
        cv2.imwrite(str(p), img)
        paths.append(p)
    return paths


def test_named_snapshots_are_a_sequence_in_capture_order(tmp_path: Path) -> None:
    frames = tud_frames()
    write_named(tmp_path / "cam1", frames)
    info = probe(tmp_path / "cam1")
    assert info.images is not None and info.frame_count == len(frames)
    assert (info.width, info.height) == (640, 480) and info.fps == pytest.approx(5.0)
    assert info.note == ""
    got = list(VideoReader(info))
    assert [f.index for f in got] == list(range(len(frames)))
    assert np.allclose([f.ts for f in got], np.arange(len(frames)) * 0.2)
    assert np.abs(got[3].image.astype(int) - frames[3].astype(int)).mean() < 3  # JPEG round trip
    assert np.array_equal(FrameSource(tmp_path / "cam1").frame(3), got[3].image)


def test_snapshots_hours_apart_last_the_hours(tmp_path: Path) -> None:
    """Snapshots taken on motion: the folder lasts from its first to its last capture time, as its
    tracks' times say (the timeline drew nothing past frames / rate)."""
    frames = tud_frames(10)
    write_named(tmp_path / "cam", frames[:4])
    paths = write_named(tmp_path / "later", frames[4:])
    for k, p in enumerate(paths):  # an hour later
        when = START + timedelta(hours=1, seconds=k * 0.2)
        p.rename(tmp_path / "cam" / f"cam1_{when:%Y%m%d_%H%M%S}_{when.microsecond // 1000:03d}.jpg")
    info = probe(tmp_path / "cam")
    assert info.fps == pytest.approx(5.0) and info.duration_s == pytest.approx(3600 + 3 * 0.2 + 0.2)


def test_exif_time_orders_photos_whose_names_do_not(tmp_path: Path) -> None:
    frames = tud_frames(10)[:5]
    folder = tmp_path / "photos"
    folder.mkdir()
    names = ["e.jpg", "b.jpg", "d.jpg", "a.jpg", "c.jpg"]  # name order is not time order
    for k, (img, name) in enumerate(zip(frames, names)):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = (START + timedelta(seconds=k)).strftime("%Y:%m:%d %H:%M:%S")
        Image.fromarray(img[:, :, ::-1]).save(folder / name, exif=exif)
    info = probe(folder)
    assert [p.name for p in info.images.files] == names
    assert info.images.start == START and info.fps == pytest.approx(1.0)


def test_an_exif_clock_never_set_is_no_capture_time(tmp_path: Path) -> None:
    """EXIF years 0001 and 9999 (a camera whose clock was never set, or garbage) were taken as capture
    times: mixed with real ones, a 6 s folder showed a gap of 69,916,165 hours. Such a time is no
    time (as in file names and containers): the file name's time is used instead."""
    frames = tud_frames(10)[:4]
    folder = tmp_path / "photos"
    folder.mkdir()
    for k, img in enumerate(frames):
        when = START + timedelta(seconds=k)
        exif = Image.Exif()
        taken = {1: "0001:01:01 00:00:00", 2: "9999:12:31 23:59:59"}.get(k, f"{when:%Y:%m:%d %H:%M:%S}")
        exif.get_ifd(0x8769)[36867] = taken
        Image.fromarray(img[:, :, ::-1]).save(folder / f"cam_{when:%Y%m%d_%H%M%S}.jpg", exif=exif)
    info = probe(folder)
    assert info.images.start == START and info.images.times == pytest.approx((0.0, 1.0, 2.0, 3.0))


def test_a_photo_without_a_time_is_placed_by_name_among_the_timed_ones(tmp_path: Path) -> None:
    """Photos named in the order they were taken, their EXIF times 3 s apart; one was saved without
    EXIF, one carries a clock set to 2099. They cost the others their times (the folder was ordered by
    name, one assumed second apart); each is now placed by its name, its time between its neighbours'."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for k, img in enumerate(tud_frames(10)[:6]):
        exif = Image.Exif()
        taken = {2: None, 4: "2099:01:01 00:00:00"}.get(
            k, f"{START + timedelta(seconds=3 * k):%Y:%m:%d %H:%M:%S}"
        )
        if taken:
            exif.get_ifd(0x8769)[36867] = taken
        Image.fromarray(img[:, :, ::-1]).save(folder / f"IMG_{k + 8:d}.jpg", exif=exif)  # IMG_8 ... IMG_13
    info = probe(folder)
    assert [p.name for p in info.images.files] == [f"IMG_{k}.jpg" for k in range(8, 14)]
    assert info.images.start == START and info.images.times == pytest.approx((0, 3, 6, 9, 12, 15))
    assert "2 of 6 images carry no usable capture time (EXIF or file name): placed by name" in info.note


def test_a_folder_timed_by_two_clocks_takes_the_one_that_times_every_image(tmp_path: Path) -> None:
    """Names from the recorder's clock; EXIF from the camera's, an hour behind, in half the images
    only: mixing them put the folder out of order with a false hour's gap. The names time every
    image, so theirs is the clock; where every image has both, the camera's. Both are said."""
    folder = tmp_path / "cam"
    folder.mkdir()
    for k, img in enumerate(tud_frames(10)[:6]):
        when = START + timedelta(seconds=2 * k)
        exif = Image.Exif()
        if k % 2 == 0:
            exif.get_ifd(0x8769)[36867] = f"{when - timedelta(hours=1):%Y:%m:%d %H:%M:%S}"
        Image.fromarray(img[:, :, ::-1]).save(folder / f"cam1_{when:%Y%m%d_%H%M%S}.jpg", exif=exif)
    info = probe(folder)
    assert info.images.start == START and info.images.times == pytest.approx((0, 2, 4, 6, 8, 10))
    assert (
        "3 images' EXIF times differ from the times in their names (by up to 1.0 h): the file names'"
        in info.note
    )
    for k, path in enumerate(sorted(folder.iterdir())):  # now every image has both
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = (
            f"{START - timedelta(hours=1) + timedelta(seconds=2 * k):%Y:%m:%d %H:%M:%S}"
        )
        Image.open(path).save(path, exif=exif)
    info = probe(folder)
    assert info.images.start == START - timedelta(hours=1) and "6 images' EXIF times differ" in info.note


def test_a_file_that_is_no_image_does_not_cost_the_others_their_times(tmp_path: Path) -> None:
    """A recorder that crashed mid-write leaves a zero-byte snapshot beside its EXIF-timed ones: it has
    no time, and the folder fell back to name order, one assumed second apart. It is left out, said."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for k, (img, name) in enumerate(zip(tud_frames(10)[:4], ["d.jpg", "b.jpg", "c.jpg", "a.jpg"])):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = (START + timedelta(seconds=3 * k)).strftime("%Y:%m:%d %H:%M:%S")
        Image.fromarray(img[:, :, ::-1]).save(folder / name, exif=exif)
    (folder / "e.jpg").write_bytes(b"")
    (folder / "f.jpg").write_text("not an image")
    info = probe(folder)
    assert [p.name for p in info.images.files] == ["d.jpg", "b.jpg", "c.jpg", "a.jpg"]
    assert info.images.start == START and list(info.images.times) == [0.0, 3.0, 6.0, 9.0]
    assert "2 file(s) that do not decode left out (e.jpg, f.jpg)" in info.note


def test_files_that_are_no_images_are_not_counted_as_images_without_a_time(tmp_path: Path) -> None:
    """In a folder where no image carries a time, 'N of M images carry no capture time' counted the
    zero-byte and non-image files among the images."""
    folder = tmp_path / "exported"
    folder.mkdir()
    for k, img in enumerate(tud_frames(10)[:3]):
        cv2.imwrite(str(folder / f"img{k}.jpg"), img)
    (folder / "img3.jpg").write_bytes(b"")
    info = probe(folder)
    assert info.frame_count == 3
    assert "3 of 3 images carry no usable capture time" in info.note, info.note
    assert "1 file(s) that do not decode left out (img3.jpg)" in info.note, info.note


def test_unknown_times_are_ordered_by_name_and_said(tmp_path: Path) -> None:
    folder = tmp_path / "exported"
    folder.mkdir()
    for k, img in enumerate(tud_frames(10)[:4]):
        cv2.imwrite(str(folder / f"shot_{k:03d}.png"), img)
    info = probe(folder)
    assert "no usable capture time" in info.note and info.fps == pytest.approx(1.0)
    assert [p.name for p in info.images.files] == [f"shot_{k:03d}.png" for k in range(4)]


def test_a_small_first_image_does_not_shrink_the_others(tmp_path: Path) -> None:
    """The first image set the folder's size: a 64x48 thumbnail first in a camera's snapshots scaled
    the other 640x480 ones down to it (people 20 px tall, best score 0.95 -> 0.71; after a 2x2 one
    nobody at all). The size most of the images have is the camera's."""
    frames = tud_frames()[:6]
    paths = write_named(tmp_path / "cam", frames)
    cv2.imwrite(str(paths[0]), cv2.resize(frames[0], (64, 48)))
    info = probe(tmp_path / "cam")
    assert (info.width, info.height) == (640, 480)
    assert "1 images differ in size from the others (640x480)" in info.note
    got = list(VideoReader(info))
    assert [f.index for f in got] == list(range(6)) and {f.image.shape for f in got} == {(480, 640, 3)}


def test_several_cameras_in_one_folder_are_said(tmp_path: Path) -> None:
    """An NVR export of two channels into one folder would be tracked as one camera whose people
    jump between two scenes: the probe says so (and names them); one camera's numbered snapshots do
    not count as cameras."""
    frames = tud_frames()[:6]
    mixed = tmp_path / "export"
    mixed.mkdir()
    for k, img in enumerate(frames):
        when = START + timedelta(seconds=k // 2)
        cv2.imwrite(str(mixed / f"CH0{k % 2 + 1}_{when:%Y%m%d_%H%M%S}.jpg"), img)
    info = probe(mixed)
    assert "2 cameras (CH01, CH02)" in info.note
    counted = tmp_path / "counted"
    counted.mkdir()
    for k, img in enumerate(frames):
        when = START + timedelta(seconds=k)
        cv2.imwrite(str(counted / f"snap_{k:04d}_{when:%Y%m%d_%H%M%S}.jpg"), img)
    assert probe(counted).note == ""


def test_too_few_images_is_not_a_sequence(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    cv2.imwrite(str(tmp_path / "one" / "x.jpg"), tud_frames()[0])
    with pytest.raises(VideoError, match="not an image sequence"):
        probe(tmp_path / "one")


def test_indexing_a_folder_takes_videos_and_image_folders(tmp_path: Path) -> None:
    write_named(tmp_path / "site" / "cam1", tud_frames()[:3])
    shutil.copy(tud().video, tmp_path / "site" / "clip.mp4")
    (tmp_path / "site" / "empty").mkdir()
    found = media_in(tmp_path / "site")
    assert [p.name for p in found] == ["cam1", "clip.mp4"]


def test_a_snapshot_folder_indexes_to_searchable_tracks(tmp_path: Path, models) -> None:
    write_named(tmp_path / "cam1", tud_frames(5))  # TUD-Campus at 5 fps: 15 snapshots
    library = Library(tmp_path / "lib.db")
    events = list(index_video(tmp_path / "cam1", library, models))
    assert events[-1].stage.value == "done"
    (video,) = library.videos()
    assert video.status == "done" and video.tracks >= 4  # TUD-Campus has 8 people, most seen here


def test_probing_a_folder_opens_each_image_header_once(tmp_path: Path, monkeypatch) -> None:
    """A day of 1 fps snapshots is 86,400 files: the capture time and the size were read in two
    passes over them (two Pillow opens per image; 20,000 snapshots probed in 8.0 s, now 5.1 s)."""
    from PIL import Image

    paths = write_named(tmp_path / "cam1", tud_frames(every=10))
    opened: list[str] = []
    real_open = Image.open

    def counting_open(fp, *args, **kwargs):
        opened.append(str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", counting_open)
    info = probe(tmp_path / "cam1")
    assert info.frame_count == len(paths) and (info.width, info.height) == (640, 480)
    assert sorted(opened) == sorted(str(p) for p in paths)


def test_listing_a_snapshot_folder_does_not_look_at_each_file(tmp_path: Path, monkeypatch) -> None:
    """On a share every look at a file is a round trip: listing the folder says which entries are
    files, and a snapshot's camera is guessed from its name without asking whether it is a folder."""
    import os

    from pipeline.image_sequence import cameras_named, images_in

    paths = write_named(tmp_path / "cam1", tud_frames(every=10))
    (tmp_path / "cam1" / "sub.jpg").mkdir()  # a folder with an image's name is not an image
    looked: list[str] = []
    real_stat = os.stat

    def counting_stat(path, *args, **kwargs):
        looked.append(str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting_stat)
    files = images_in(tmp_path / "cam1")
    assert cameras_named(files) == []
    assert sorted(files) == sorted(paths)
    assert not [p for p in looked if p.endswith(".jpg")]


def test_a_sequence_read_with_strides_reads_only_the_images_it_yields(tmp_path: Path, monkeypatch) -> None:
    """Images skipped by the stride were decoded and thrown away (a video's skipped frames must be
    decoded; a folder's need not be). The stride changes part-way, as adaptive sampling does; the
    image read ahead for the old stride is then not used, and the frames are still the right ones."""
    import pipeline.image_sequence as image_sequence

    paths = write_named(tmp_path / "cam1", tud_frames(every=2))  # 36 images, 0.2 s apart
    read: list[str] = []
    real_read = image_sequence.read_image
    monkeypatch.setattr(image_sequence, "read_image", lambda p: read.append(p.name) or real_read(p))
    reader = VideoReader(probe(tmp_path / "cam1"), start_frame=1, stride=3)
    got = []
    for frame in reader:
        got.append(frame.index)
        if frame.index == 13:
            reader.stride = 5
    assert got == [1, 4, 7, 10, 13, 18, 23, 28, 33]
    assert {paths[k].name for k in got} <= set(read)
    assert len(read) <= len(got) + 1  # the one read ahead for stride 3 after frame 13 (frame 16)
    assert reader.frames_read == len(paths)
    direct = [cv2.imread(str(paths[k])) for k in (1, 33)]
    assert np.array_equal(direct[0], FrameSource(tmp_path / "cam1").frame(1))
    assert np.array_equal(direct[1], FrameSource(tmp_path / "cam1").frame(33))


def test_png_snapshots_are_probed_from_their_headers(tmp_path: Path, monkeypatch) -> None:
    """Looking for a PNG's capture time with Pillow's getexif() decoded its pixels when it has no
    eXIf chunk (an 8000x8000 PNG: 1 s; a decompression bomb: gigabytes) while probing the folder.
    Here PNG snapshots named by time, each with an eXIf chunk (the camera's clock, which wins over the
    names' where every image has one): the first image's says it was taken last."""
    from PIL import PngImagePlugin

    frames = tud_frames(10)[:3]
    paths = write_named(tmp_path / "png", frames, step_s=2.0)
    for k, (p, img) in enumerate(zip(paths, frames)):
        p.unlink()
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = (START + timedelta(seconds=2 * k or 5)).strftime("%Y:%m:%d %H:%M:%S")
        Image.fromarray(img[:, :, ::-1]).save(p.with_suffix(".png"), exif=exif.tobytes())
    loads: list[int] = []
    real_load = PngImagePlugin.PngImageFile.load
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", lambda im: loads.append(1) or real_load(im))
    info = probe(tmp_path / "png")
    assert [p.stem for p in info.images.files] == [paths[1].stem, paths[2].stem, paths[0].stem]
    assert list(info.images.times) == [0.0, 2.0, 3.0] and (info.width, info.height) == (640, 480)
    assert loads == []
