"""Footage recorded without colour (night, infrared) searched with a colour photo: the photo is
compared turned grey, so the person is found; colour footage is searched as before."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.boxes import iou_matrix
from pipeline.indexer import index_video
from pipeline.monochrome import grey, jpeg_without_colour, without_colour
from pipeline.search import Searcher
from pipeline.storage import Library
from tests.conftest import load_gt, pets, tud
from tests.test_image_sequence import tud_frames


def tinted(image: np.ndarray, gains=(0.9, 1.0, 1.12), offsets=(0, 0, 0)) -> np.ndarray:
    """A picture without colour as a camera that weighs its channels differently records it (BGR
    gains: an infrared picture a little red by default)."""
    out = grey(image).astype(np.float32) * np.float32(gains) + np.float32(offsets)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def night_video(video: Path, record=grey) -> Path:
    """TUD-Campus as an infrared camera records it (no colour; ``record`` makes each frame)."""
    import av

    with av.open(str(video), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = 640, 480, "yuv420p"
        for img in tud_frames(every=1):
            for p in s.encode(av.VideoFrame.from_ndarray(record(img), format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return video


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory, models) -> Library:
    """TUD-Campus as an infrared camera records it (no colour), indexed."""
    video = night_video(tmp_path_factory.mktemp("night") / "tud_night.mp4")
    library = Library(video.parent / "library.db")
    for _ in index_video(video, library, models):
        pass
    return library


@pytest.fixture(scope="module")
def tinted_night(tmp_path_factory: pytest.TempPathFactory, models) -> Library:
    """TUD-Campus as an infrared camera that tints its picture red records it, indexed."""
    video = night_video(tmp_path_factory.mktemp("tinted") / "tud_tinted.mp4", tinted)
    library = Library(video.parent / "library.db")
    for _ in index_video(video, library, models):
        pass
    return library


def photo_of(person: int, tmp_path: Path) -> Path:
    """A colour photo of a TUD-Campus person (their box in a frame of the colour video)."""
    boxes = load_gt(tud())[person]
    frame = max(boxes, key=lambda f: boxes[f][3] - boxes[f][1])
    x1, y1, x2, y2 = (round(v) for v in boxes[frame])
    image = tud_frames(every=1)[frame]
    path = tmp_path / f"person{person}.jpg"
    cv2.imwrite(str(path), image[max(y1, 0) : y2, max(x1, 0) : x2])
    return path


def is_person(hit, person: int) -> bool:
    gt = load_gt(tud())[person]
    boxes = [(f, b) for f, *b in hit.frames if f in gt]
    good = sum(iou_matrix(np.array([b]), np.array([gt[f]]))[0, 0] >= 0.5 for f, b in boxes)
    return bool(boxes) and 2 * good >= len(hit.frames)


def test_colour_is_told_from_its_absence(tmp_path: Path) -> None:
    crop = cv2.imread(str(photo_of(1, tmp_path)))
    assert not without_colour(crop) and without_colour(grey(crop))
    _, jpeg = cv2.imencode(".jpg", grey(crop), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert jpeg_without_colour(jpeg.tobytes()) and not jpeg_without_colour(b"not a jpeg")


def test_a_tinted_picture_without_colour_is_told_from_colour(tmp_path: Path) -> None:
    """A night camera whose white balance tints its grey picture (each channel a few levels off)."""
    crop = cv2.imread(str(photo_of(1, tmp_path)))
    tinted = np.clip(grey(crop).astype(np.int16) + np.int16([6, -2, 5]), 0, 255).astype(np.uint8)
    _, jpeg = cv2.imencode(".jpg", tinted, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert without_colour(tinted) and jpeg_without_colour(jpeg.tobytes())
    for k in range(3):  # a colour crop with every channel moved is colour still
        moved = crop.astype(np.int16)
        moved[:, :, k] += 12
        assert not without_colour(np.clip(moved, 0, 255).astype(np.uint8))


def test_a_picture_whose_channels_are_weighed_differently_is_without_colour(tmp_path: Path) -> None:
    """An infrared picture a little red, a greenish one: each channel a multiple of the brightness;
    the colour crops of every TUD-Campus person are colour still."""
    crop = cv2.imread(str(photo_of(1, tmp_path)))
    for gains, offsets in (((0.9, 1.0, 1.12), (0, 0, 0)), ((0.85, 1.05, 0.85), (8, 8, 8))):
        night = tinted(crop, gains, offsets)
        _, jpeg = cv2.imencode(".jpg", night, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert without_colour(night, tints=True) and jpeg_without_colour(jpeg.tobytes()), gains
    for person in load_gt(tud()):
        colour = cv2.imread(str(photo_of(person, tmp_path)))
        if colour is not None and colour.size:
            assert not without_colour(colour), person
    two = np.array([[[0, 0, 255], [255, 0, 0]]], np.uint8)  # red and blue: any two pixels lie on a line
    assert not without_colour(two, tints=True)  # too few pixels to judge a tint by: colour, as before


def test_a_small_colour_photo_is_searched_in_colour(frame_of) -> None:
    """A query photo is judged by the channels' spread alone: PETS09-S2L1's person 19 (55x18 px, a
    JPEG at quality 95, as the evaluator cuts it) lies near a line of its luma, and was searched as
    a photo without colour (PETS F1 0.893 -> 0.840)."""
    boxes = load_gt(pets())[19]
    frame = max(boxes, key=lambda f: boxes[f][3] - boxes[f][1])
    x1, y1, x2, y2 = (max(0, round(v)) for v in boxes[frame])
    _, jpeg = cv2.imencode(
        ".jpg", frame_of(pets().video, frame)[y1:y2, x1:x2], [cv2.IMWRITE_JPEG_QUALITY, 95]
    )
    photo = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert not without_colour(photo)


@pytest.mark.parametrize("footage", ["night", "tinted_night"])
def test_colour_photos_find_the_people_in_night_footage(
    footage: str, models, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Every TUD-Campus person seen long enough to be searched for (7): their colour photo's best hit
    in the colourless footage, grey or tinted, is them for at least 5 (a colour photo compared as it
    is: 2; in the tinted footage before tints were told from colour: 3)."""
    searcher = Searcher(request.getfixturevalue(footage), models)
    people = [p for p, boxes in load_gt(tud()).items() if len(boxes) >= 20]
    found = 0
    for person in people:
        result = searcher.search(photo_of(person, tmp_path), save=False)
        found += bool(result.hits) and is_person(result.hits[0], person)
    assert len(people) == 7 and found >= 5


def test_night_tracks_have_no_clothing_colours(night: Library, models) -> None:
    """Greys recorded in infrared are not the clothes' colours: a search by description finds no one
    in the night footage, whatever the colour (a colour camera's people have colours: see
    tests/test_clothing.py)."""
    from pipeline.clothing import PALETTE
    from pipeline.description import describe

    searcher = Searcher(night, models)
    assert all(not describe(searcher, upper=name, lower=None) for name in PALETTE)


def test_a_case_refined_on_the_command_line_finds_what_the_search_found(
    night: Library, models, tmp_path: Path
) -> None:
    """A case keeps each photo turned grey with it: `case refine` (and the case report) compare night
    tracks with the grey photo as the search does, and find the same people (with the colour
    vector alone they found others: the stranger in the photo's colours, or no one)."""
    import json

    from tests.conftest import copy_library
    from tests.test_cli import cli

    db = copy_library(night.db_path, tmp_path / "night.db")
    searcher = Searcher(Library(db), models)
    for person in (1, 2, 3):
        photo = photo_of(person, tmp_path)
        found = {(h.video_path, h.track_id) for h in searcher.search(photo, save=False).hits}
        if found:
            break
    assert found
    name = f"person {person}"
    made = cli("case", "new", name, "--db", str(db), "--query", str(photo))
    assert made.returncode == 0, made.stderr
    assert all(
        g is not None and g.shape == (512,) for g in Library(db).case(name).grey_vectors(models.reid_id)
    )
    p = cli("case", "refine", name, "--db", str(db), "--json")
    assert p.returncode == 0, p.stderr
    refined = {(h["video"], h["track_id"]) for h in json.loads(p.stdout)["hits"]}
    assert refined == found
