"""Pictures recorded sideways (a phone held upright, a camera mounted on its side) are seen upright:
videos by their display matrix, photos and snapshots by their EXIF orientation."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from pipeline.indexer import index_video
from pipeline.photo_files import load_image
from pipeline.query import prepare_query
from pipeline.storage import Library
from pipeline.types import PATH_X1
from pipeline.upright import ORIENTATION_TAG, oriented
from pipeline.video import VideoReader, probe
from tests.conftest import load_gt, tud
from tests.test_image_sequence import tud_frames, write_named


def stored_sideways(image: np.ndarray) -> np.ndarray:
    """The pixels a phone held upright stores for ``image``: turned a quarter counter-clockwise
    (EXIF orientation 6 and a display matrix of -90 degrees turn them back clockwise)."""
    return np.ascontiguousarray(np.rot90(image, 1))


def person_crop() -> np.ndarray:
    """TUD-Campus person 1 in the first frame, as a photo of them would show them (colour, upright)."""
    x1, y1, x2, y2 = (round(v) for v in load_gt(tud())[1][0])
    return tud_frames(every=1000)[0][max(y1, 0) : y2, max(x1, 0) : x2]


def save_jpeg(path: Path, bgr: np.ndarray, orientation: int) -> Path:
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    Image.fromarray(bgr[:, :, ::-1]).save(path, quality=95, exif=exif.tobytes())
    return path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_exif_orientation_is_shown_as_viewers_show_it(orientation: int) -> None:
    pixels = np.random.default_rng(orientation).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    img = Image.fromarray(pixels)
    img.getexif()[ORIENTATION_TAG] = orientation
    assert np.array_equal(oriented(pixels, orientation), np.asarray(ImageOps.exif_transpose(img)))


def test_a_portrait_phone_photo_is_searched_upright(tmp_path: Path, models) -> None:
    crop = person_crop()
    photo = save_jpeg(tmp_path / "phone.jpg", stored_sideways(crop), orientation=6)
    image = load_image(photo)
    assert image.shape == crop.shape  # taller than wide, as the phone showed it
    assert np.abs(image.astype(int) - crop.astype(int)).mean() < 6  # JPEG round trip
    query = prepare_query(photo, models.detector)
    bx1, by1, bx2, by2 = query.box
    assert by2 - by1 > 1.5 * (bx2 - bx1)  # an upright person


def test_a_video_recorded_sideways_is_indexed_upright(tmp_path: Path, models) -> None:
    import av

    frames = tud_frames(every=1)[:40]
    video = tmp_path / "phone.mp4"
    with av.open(str(video), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = 480, 640, "yuv420p"  # stored sideways
        s.set_display_rotation(-90)  # shown turned a quarter clockwise: upright
        for img in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(stored_sideways(img), format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    info = probe(video)
    assert (info.width, info.height) == (640, 480)
    first = next(iter(VideoReader(info))).image
    assert first.shape == frames[0].shape and np.abs(first.astype(int) - frames[0].astype(int)).mean() < 6

    library = Library(tmp_path / "library.db")
    for _ in index_video(video, library, models):
        pass
    (summary,) = library.videos()
    tracks = library.video_tracks(summary.video_id)
    assert len(tracks) >= 4  # TUD-Campus's people, found standing
    boxes = np.vstack([t.path[:, PATH_X1 : PATH_X1 + 4] for t in tracks])
    assert np.median((boxes[:, 3] - boxes[:, 1]) / (boxes[:, 2] - boxes[:, 0])) > 1.5


def test_portrait_snapshots_keep_their_shape(tmp_path: Path) -> None:
    frames = tud_frames(every=10)[:4]
    folder = tmp_path / "cam1"
    for path, img in zip(write_named(folder, frames), frames):
        save_jpeg(path, stored_sideways(img), orientation=6)
    info = probe(folder)
    assert (info.width, info.height) == (640, 480)  # not the stored 480x640, squeezed to fit
    got = [f.image for f in VideoReader(info)]
    assert np.abs(got[1].astype(int) - frames[1].astype(int)).mean() < 6


def save_tiff(path: Path, bgr: np.ndarray, orientation: int) -> Path:
    Image.fromarray(bgr[:, :, ::-1]).save(path, tiffinfo={ORIENTATION_TAG: orientation})
    return path


def stored_for(image: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera stores for ``image`` with this EXIF orientation (3: upside down, 6 and 8:
    on either side)."""
    return {3: np.rot90(image, 2), 6: np.rot90(image, 1), 8: np.rot90(image, 3)}[orientation].copy()


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_tiff_photo_with_an_orientation_tag_is_turned_once(tmp_path: Path, orientation: int) -> None:
    """libtiff (under OpenCV and Pillow) turns a TIFF by its tag as it reads it; turned again by the
    tag, a sideways photo came out upside down and its person was not found."""
    crop = person_crop()
    image = load_image(save_tiff(tmp_path / "photo.tif", stored_for(crop, orientation), orientation))
    assert np.array_equal(image, crop)  # lossless: exactly the person as they stood


def test_tiff_snapshots_with_an_orientation_tag_keep_their_shape(tmp_path: Path) -> None:
    frames = tud_frames(every=10)[:4]
    folder = tmp_path / "cam1"
    for path, img in zip(write_named(folder, frames), frames):
        path.unlink()
        save_tiff(path.with_suffix(".tif"), stored_sideways(img), orientation=6)
    info = probe(folder)
    assert (info.width, info.height) == (640, 480)  # not stretched to the stored 480x640
    assert np.array_equal(next(iter(VideoReader(info))).image, frames[0])
