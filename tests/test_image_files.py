"""Photos in the format iPhones save (HEIC), as query photos and as snapshot folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.photo_files import load_image, load_photo
from pipeline.query import prepare_query
from pipeline.upright import ORIENTATION_TAG
from pipeline.video import VideoReader, probe
from tests.test_image_sequence import tud_frames, write_named
from tests.test_upright import person_crop, stored_sideways


def save_heic(path: Path, bgr: np.ndarray, orientation: int = 1) -> Path:
    """An iPhone photo: HEIC, held upright (stored sideways, the turn in its metadata)."""
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1])).save(
        path, format="HEIF", quality=90, exif=exif.tobytes()
    )
    return path


def test_an_iphone_photo_is_a_query_photo(tmp_path: Path, models) -> None:
    crop = person_crop()
    photo = save_heic(tmp_path / "IMG_0042.HEIC", stored_sideways(crop), orientation=6)
    image = load_image(photo)
    assert image.shape == crop.shape and np.abs(image.astype(int) - crop.astype(int)).mean() < 8
    query = prepare_query(photo, models.detector)
    bx1, by1, bx2, by2 = query.box
    assert by2 - by1 > 1.5 * (bx2 - bx1)


def test_a_folder_of_heic_snapshots_is_a_sequence(tmp_path: Path) -> None:
    frames = tud_frames(every=10)[:4]
    folder = tmp_path / "phone"
    for path, img in zip(write_named(folder, frames), frames):
        path.unlink()
        save_heic(path.with_suffix(".heic"), img)
    info = probe(folder)
    assert info.frame_count == 4 and (info.width, info.height) == (640, 480)
    got = [f.image for f in VideoReader(info)]
    assert len(got) == 4 and np.abs(got[2].astype(int) - frames[2].astype(int)).mean() < 8


def test_files_that_are_no_photo_are_refused_without_reading_them(tmp_path: Path, monkeypatch) -> None:
    """A pipe named .jpg would block the reader (the app's GUI thread) for good; a PNG of 30000x30000
    px (2.6 MB) was decoded whole by Pillow's EXIF lookup before its size was refused (11 s, 3.5 GB);
    a PNG's orientation is still read from its eXIf chunk."""
    import os

    import pytest
    from PIL import PngImagePlugin

    from pipeline.errors import QueryError

    pipe = tmp_path / "camera.jpg"
    os.mkfifo(pipe)
    with pytest.raises(QueryError, match="not a file"):
        load_image(pipe)
    bomb = tmp_path / "bomb.png"
    Image.new("L", (30000, 30000)).save(bomb)

    def no_decoding(self):
        raise AssertionError("the PNG's pixels were decoded")

    with monkeypatch.context() as m:
        m.setattr(PngImagePlugin.PngImageFile, "load", no_decoding)
        with pytest.raises(QueryError, match="image too large"):
            load_image(bomb)  # refused from its header
    sideways = tmp_path / "sideways.png"
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6  # stored turned a quarter: shown upright, taller than wide
    Image.new("RGB", (120, 60)).save(sideways, exif=exif.tobytes())
    assert load_image(sideways).shape[:2] == (120, 60)


def radiance_hdr(path: Path, width: int, height: int) -> Path:
    """A Radiance HDR picture (run-length coded: a few MB for any size), a format OpenCV decodes and
    Pillow cannot size."""
    row = bytes([2, 2, width >> 8, width & 255])
    for value in (128, 128, 128, 129):
        left = width
        while left:
            n = min(127, left)
            row += bytes([128 + n, value])
            left -= n
    path.write_bytes(
        b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n" + f"-Y {height} +X {width}\n".encode() + row * height
    )
    return path


def test_a_picture_whose_size_its_header_does_not_tell_is_not_decoded(tmp_path: Path, monkeypatch) -> None:
    """A 4 MB Radiance file of 8000x8000 px (64 M, over the 50 M limit), a format OpenCV decodes and
    Pillow cannot size, was decoded whole (0.8 GB of floats, then "no person found"); as a snapshot
    too. Setting OpenCV's own limit did not hold: OpenCV reads it when it is imported. What no header
    sizes is now not decoded, under any name, as a photo or a snapshot."""
    import cv2
    import pytest

    import pipeline.image_files
    import pipeline.query
    from pipeline.errors import QueryError
    from pipeline.image_files import read_image

    def no_decoding(*args: object) -> None:
        raise AssertionError("decoded")

    bomb = radiance_hdr(tmp_path / "photo.jpg", 8000, 8000)  # any name: OpenCV reads the content
    small = radiance_hdr(tmp_path / "small.hdr", 64, 128)
    assert cv2.imread(str(small)) is not None  # OpenCV does read the format
    monkeypatch.setattr(pipeline.query.cv2, "imdecode", no_decoding)
    for path in (bomb, small):
        with pytest.raises(QueryError, match="not an image"):
            load_image(path)
        assert read_image(path) is None
    assert pipeline.image_files.cv2 is pipeline.query.cv2  # the snapshot reader was guarded too


def test_a_photo_of_several_pictures_says_which_is_searched(tmp_path: Path, models) -> None:
    """An animated GIF or a multi-page TIFF (a messenger's clip, a scanner's file): the first picture
    was searched and nothing said so. Now a note says it, and how to search another; a file of one
    picture has none."""
    crop = person_crop()
    others = (crop[::-1], crop[:, ::-1])  # other pictures: the person upside down, mirrored
    pages = [Image.fromarray(np.ascontiguousarray(im[:, :, ::-1])) for im in (crop, *others)]
    gif, tiff, one = tmp_path / "clip.gif", tmp_path / "scan.tiff", tmp_path / "one.tiff"
    pages[0].save(gif, save_all=True, append_images=pages[1:], duration=200)
    pages[0].save(tiff, save_all=True, append_images=pages[1:])
    pages[0].save(one)
    for path in (gif, tiff):
        image, note = load_photo(path)
        assert np.abs(image.astype(int) - crop.astype(int)).mean() < 12  # the first picture
        assert note.startswith("the file holds 3 pictures") and "the first is searched" in note
        assert "holds 3 pictures" in prepare_query(path, models.detector).note
    assert load_photo(one)[1] == "" and "pictures" not in prepare_query(one, models.detector).note


def test_a_photo_of_more_pixels_than_the_limit_is_searched_smaller(tmp_path: Path, monkeypatch) -> None:
    """A 108 MP phone photo (12000x9000) was refused ("image too large"). A JPEG is decoded at the
    least of 1/2, 1/4, 1/8 of its size within the limit (libjpeg never holds it whole), upright by its
    EXIF orientation, and said; other formats, and a JPEG too large even at 1/8, are refused with the
    limit said. (The limit lowered here: the same rule at a test's size.)"""
    import cv2
    import numpy as np
    import pytest

    import pipeline.image_files
    from pipeline.errors import QueryError
    from pipeline.photo_files import load_photo

    monkeypatch.setattr(pipeline.image_files, "MAX_IMAGE_PIXELS", 100_000)
    picture = np.zeros((480, 640, 3), np.uint8)
    picture[:, :320] = (0, 0, 255)  # red on the left
    phone = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6  # stored turned a quarter: shown upright, taller than wide
    Image.fromarray(picture[:, :, ::-1]).save(phone, exif=exif.tobytes(), quality=95)
    image, note = load_photo(phone)
    assert image.shape[:2] == (320, 240) and "a 0 MP photo: searched at 1/2 of its size" in note, note
    assert image[5, 120, 2] > 200 and image[-5, 120, 2] < 50  # turned: the red half is now on top
    cv2.imwrite(str(tmp_path / "phone.png"), picture)
    with pytest.raises(QueryError, match=r"image too large \(640x480 px: photos up to"):
        load_photo(tmp_path / "phone.png")
    progressive = tmp_path / "progressive.jpg"  # its coefficients are held at full size, whatever the scale
    Image.fromarray(picture[:, :, ::-1]).save(progressive, quality=95, progressive=True)
    with pytest.raises(QueryError, match="image too large"):
        load_photo(progressive)
    monkeypatch.setattr(pipeline.image_files, "MAX_IMAGE_PIXELS", 1_000)
    with pytest.raises(QueryError, match="a baseline JPEG up to 64 times that"):
        load_photo(phone)


def test_a_box_drawn_on_a_photo_read_smaller_is_the_same_person(tmp_path: Path, models, monkeypatch) -> None:
    """`--box` is in the file's pixels; a photo over the pixel limit is read at half its size, where
    the same numbers were another place (a review). The box is divided by the reduction."""
    import pipeline.image_files
    from tests.conftest import load_gt, tud

    frame = tud_frames(every=1000)[0]  # 640x480
    photo = tmp_path / "big.jpg"
    Image.fromarray(frame[:, :, ::-1]).save(photo, quality=95)
    x1, y1, x2, y2 = load_gt(tud())[1][0]
    monkeypatch.setattr(pipeline.image_files, "MAX_IMAGE_PIXELS", 100_000)  # read at 1/2
    query = prepare_query(photo, models.detector, box=(x1, y1, x2, y2))
    assert query.image.shape[:2] == (240, 320) and "searched at 1/2 of its size" in query.note
    bx1, by1, bx2, by2 = query.box
    inter = max(0, min(bx2, x2 / 2) - max(bx1, x1 / 2)) * max(0, min(by2, y2 / 2) - max(by1, y1 / 2))
    union = (bx2 - bx1) * (by2 - by1) + (x2 - x1) * (y2 - y1) / 4 - inter
    assert inter / union > 0.5, (query.box, (x1 / 2, y1 / 2, x2 / 2, y2 / 2))
