"""Turning an operator's photo into the person to search for (:mod:`pipeline.query`): what is an
image, which person in it, what is refused."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.errors import QueryError
from pipeline.look_geometry import overlap
from pipeline.photo_files import load_image
from pipeline.query import QueryConfig, choose_person, prepare_query
from tests.conftest import asset, load_gt, pets, tud


def test_load_image_rejects_non_images(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    with pytest.raises(QueryError, match="not an image"):
        load_image(text)
    empty = tmp_path / "empty.png"
    empty.touch()
    with pytest.raises(QueryError, match="empty file"):
        load_image(empty)
    with pytest.raises(QueryError, match="cannot read"):
        load_image(tmp_path / "missing.jpg")
    video = pets().video
    with pytest.raises(QueryError, match="not an image"):
        load_image(video)
    photo = cv2.imencode(".png", np.full((200, 80, 3), 90, np.uint8))[1].tobytes()
    cut = tmp_path / "copied_off_a_failing_card.png"
    cut.write_bytes(photo[:60])  # its header, and the start of its pixels
    with pytest.raises(
        QueryError, match=r"a damaged or truncated image \(80x200 px, its pixels do not decode\)"
    ):
        load_image(cut)
    noise = np.random.default_rng(0).integers(0, 255, (200, 80, 3), np.uint8)
    photo = cv2.imencode(".png", noise)[1].tobytes()
    cut.write_bytes(photo[: len(photo) * 2 // 3])  # cut inside its pixels: libpng is not asked
    with pytest.raises(QueryError, match=r"a damaged or truncated image \(80x200 px"):
        load_image(cut)
    assert "libpng" not in capfd.readouterr().err  # the one line is the error, nothing on stderr


def test_photo_without_a_person_is_a_clear_error(tmp_path: Path, models, frame_of) -> None:
    lawn = frame_of(pets().video, 0)[250:360, 0:200]  # empty grass in the PETS scene
    path = tmp_path / "lawn.png"
    cv2.imwrite(str(path), lawn)
    with pytest.raises(QueryError, match="no person found"):
        prepare_query(path, models.detector)
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), np.full((300, 200, 3), 127, np.uint8))
    with pytest.raises(QueryError, match="no person found"):
        prepare_query(gray, models.detector)
    # a photo handed over as pixels (the window's drop) is named as the caller says, not "photo"
    with pytest.raises(QueryError, match=r"^lawn\.png: no person found"):
        prepare_query(lawn, models.detector, name="lawn.png")
    with pytest.raises(QueryError, match=r"^photo: no person found"):
        prepare_query(lawn, models.detector)


def test_a_loose_crop_is_searched_by_the_person_not_the_whole_photo(models, frame_of) -> None:
    """A photo cut loosely around a suspect in front of others (the person 76 % of its height, a
    quarter of its width) was taken for a tight person crop and embedded whole, the others with
    them: 'not found' (best 0.631, the person's own box 0.969). A tight crop is still used whole."""
    frame = frame_of(tud().video, 0)
    loose = prepare_query(np.ascontiguousarray(frame[100:480, 0:300]), models.detector)
    assert not loose.whole_photo and loose.chosen == 0
    x1, y1, x2, y2 = loose.box
    assert (x2 - x1) < 0.5 * 300 and (y2 - y1) > 0.75 * 380
    tight = prepare_query(np.ascontiguousarray(frame[153:441, 63:145]), models.detector)
    assert tight.whole_photo


def test_a_crop_of_two_people_side_by_side_is_searched_by_one_of_them(models, frame_of) -> None:
    """Two people side by side, the larger filling 52 % of the photo's width: it was taken for a
    person crop and embedded whole, both people in one vector (the larger one's best track 0.817,
    by its box 0.992); the CLI then said nothing of the second person either."""
    frame = frame_of(tud().video, 0)
    pair = prepare_query(np.ascontiguousarray(frame[170:420, 270:530]), models.detector)
    assert not pair.whole_photo and pair.chosen == 0 and len(pair.people) >= 2
    x1, _, x2, _ = pair.box
    assert x2 - x1 < 0.6 * 260
    other = pair.people.xyxy[1]
    assert other[2] <= x1 + 10 or other[0] >= x2 - 10  # the one beside them is left out


def test_scene_photo_picks_the_largest_person_or_the_chosen_one(models, frame_of) -> None:
    seq = tud()
    gt = load_gt(seq)
    scene = frame_of(seq.video, 20)
    query = prepare_query(scene, models.detector)
    assert not query.whole_photo and len(query.people) >= 3
    areas = query.people.area
    assert query.chosen == 0 and areas[0] == areas.max()
    tallest = max((b[20] for b in gt.values() if 20 in b), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    x1, _, x2, _ = query.box
    assert min(x2, tallest[2]) - max(x1, tallest[0]) > 0.5 * (tallest[2] - tallest[0])
    second = prepare_query(scene, models.detector, index=1)
    assert second.chosen == 1 and second.box != query.box
    boxed = prepare_query(scene, models.detector, box=(10, 20, 60, 150))
    assert boxed.box == (10.0, 20.0, 60.0, 150.0) and boxed.crop.shape[:2] == (130, 50)
    with pytest.raises(QueryError, match="does not exist"):
        prepare_query(scene, models.detector, index=99)


def test_person_crop_is_used_whole(models, frame_of) -> None:
    seq = pets()
    gt = load_gt(seq)
    image = frame_of(seq.video, 538)
    x1, y1, x2, y2 = (round(v) for v in gt[3][538])  # a 92-px-tall walker
    crop = np.ascontiguousarray(image[y1:y2, x1:x2])
    query = prepare_query(crop, models.detector)
    assert query.whole_photo and query.crop.shape == crop.shape


def test_choose_person_rejects_an_empty_box() -> None:
    from models.detections import Detections

    image = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(QueryError, match="empty or outside"):
        choose_person(image, Detections.empty(), QueryConfig(), box=(200, 200, 300, 300))


def test_a_small_tight_crop_of_a_person_is_a_query(tmp_path: Path, models, frame_of) -> None:
    """An operator's 20x62 crop of a PETS person (no border around them) is searched, with a note."""
    frame, box = sorted(load_gt(pets())[1].items())[50]
    x1, y1, x2, y2 = (round(v) for v in box)
    crop = frame_of(pets().video, frame)[y1:y2, x1:x2]
    small = cv2.resize(crop, (20, 62), interpolation=cv2.INTER_AREA)
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), small)
    q = prepare_query(path, models.detector)
    assert q.crop.shape[0] >= 40 or q.whole_photo
    assert "weaker" in q.note


def test_a_sliver_of_a_person_cut_by_the_frame_edge_is_a_query(tmp_path: Path, models, frame_of) -> None:
    """A person cut by the edge of the picture, or half hidden behind a pole, cropped tight: 11x82 px,
    seven and a half times taller than wide, in which the detector finds no one. It is still a person
    crop (the shared evaluator cut one such query where a view's edge cut a PETS person, and it was
    refused as "no person found in the photo")."""
    frame, box = sorted(load_gt(pets())[3].items())[50]
    x1, y1, x2, y2 = (round(v) for v in box)
    crop = frame_of(pets().video, frame)[y1:y2, x1:x2]
    sliver = crop[:, -round(crop.shape[1] * 0.4) :]
    assert sliver.shape[0] / sliver.shape[1] > 7
    path = tmp_path / "sliver.png"
    cv2.imwrite(str(path), sliver)
    q = prepare_query(path, models.detector)
    assert q.whole_photo and "weaker" in q.note


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (6, 30)])
def test_too_small_photos_are_refused(tmp_path: Path, models, size: tuple[int, int]) -> None:
    path = tmp_path / "tiny.png"
    cv2.imwrite(str(path), np.full((size[1], size[0], 3), 128, np.uint8))
    with pytest.raises(QueryError, match="too small to show a person"):
        prepare_query(path, models.detector)


def test_transparent_and_blank_photos_are_refused(tmp_path: Path, models) -> None:
    clear = tmp_path / "clear.png"
    cv2.imwrite(str(clear), np.zeros((200, 80, 4), np.uint8))  # alpha 0 everywhere
    with pytest.raises(QueryError, match="fully transparent"):
        prepare_query(clear, models.detector)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 80, 3), 128, np.uint8))  # person-shaped, but nothing in it
    with pytest.raises(QueryError, match="no person found"):
        prepare_query(blank, models.detector)


def test_a_tight_small_crop_is_found_inside_a_border(models, frame_of) -> None:
    """A person cut edge to edge at 20x62 px has no outline for the detector; inside a plain border
    and enlarged it is found (not merely used whole)."""
    from pipeline.query import find_people

    frame, box = sorted(load_gt(pets())[1].items())[50]
    x1, y1, x2, y2 = (round(v) for v in box)
    tight = cv2.resize(frame_of(pets().video, frame)[y1:y2, x1:x2], (20, 62), interpolation=cv2.INTER_AREA)
    found = find_people(tight, models.detector, QueryConfig())
    assert len(found) >= 1 and found.height[0] > 40


@pytest.mark.parametrize("code", [cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE])
def test_a_photo_lying_on_its_side_is_searched_upright(models, frame_of, code: int) -> None:
    """A phone photo whose orientation tag was dropped: the detector found a 34 px 'person' in it and
    the search found someone else. Turned upright, as the person stands; a scene is left as it is."""
    frame = frame_of(tud().video, 0)
    for upright in (frame[153:441, 63:145], frame[100:480, 0:300]):  # a tight crop, a loose one
        upright = np.ascontiguousarray(upright)
        want = prepare_query(upright, models.detector)
        lying = cv2.rotate(upright, code)
        got = prepare_query(lying, models.detector)
        assert "on its side" in got.note and got.whole_photo == want.whole_photo
        assert np.array_equal(got.crop, want.crop)  # the same pixels, the right way up
        x1, y1, x2, y2 = (round(v) for v in got.box)  # the box is in the photo's own pixels
        assert np.array_equal(cv2.rotate(lying[y1:y2, x1:x2], 2 - code), want.crop)
        again = prepare_query(lying, models.detector, index=0)  # a person picked from its boxes
        assert again.chosen == 0 and np.array_equal(again.people.xyxy, got.people.xyxy)
        bx = got.people.xyxy[0]
        assert 0 <= bx[0] < bx[2] <= lying.shape[1] and 0 <= bx[1] < bx[3] <= lying.shape[0]
        # the photo the right way up, as a case keeps it, and the person's box in it
        standing, box = got.upright()
        assert np.array_equal(standing, upright) and (box is None) == want.whole_photo
        assert box is None or np.allclose(box, want.box)
        # a box the operator drew on the photo as it lies turns with it: the person searched upright
        # (the box turned off the turn: 0.631 and "not found", 0.862 without the box)
        drawn = prepare_query(lying, models.detector, box=got.box)
        assert "on its side" in drawn.note and np.array_equal(drawn.crop, want.crop)
    scene = prepare_query(frame_of(tud().video, 20), models.detector)
    assert "side" not in scene.note and len(scene.people) >= 3


@pytest.mark.parametrize("code", [cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE])
def test_a_scene_lying_on_its_side_is_searched_upright(models, frame_of, code: int) -> None:
    """A whole camera frame saved a quarter turned, without a tag: its people lay, and the photo was
    refused ("no person found", PETS09-S2L1) or a lying person's box was searched (ADL-Rundle-6 at
    1920x1080, two wide boxes). Turned, its people stand: the same people as in the upright frame,
    the largest searched, boxed in the photo's own pixels."""
    for upright in (frame_of(pets().video, 100), frame_of(asset("hd/ADL-Rundle-6/ADL-Rundle-6.mp4"), 100)):
        want = prepare_query(upright, models.detector)
        lying = np.ascontiguousarray(cv2.rotate(upright, code))
        got = prepare_query(lying, models.detector)
        assert "on its side" in got.note and not got.whole_photo
        assert abs(len(got.people) - len(want.people)) <= 1
        h, w = upright.shape[:2]
        x1, y1, x2, y2 = got.box  # in the lying photo: turned back upright, on the upright's person
        turned = np.array(
            [[y1, h - x2, y2, h - x1]] if code == cv2.ROTATE_90_CLOCKWISE else [[w - y2, x1, w - y1, x2]]
        )
        assert overlap(turned, np.array([want.box]))[0, 0] > 0.8
        assert want.crop.shape[0] > want.crop.shape[1] and got.crop.shape[0] > got.crop.shape[1]


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160), (8000, 6000)])
def test_a_small_person_in_a_large_photo_is_found(models, frame_of, size: tuple[int, int]) -> None:
    """A whole frame of a 1080p or 4K camera, or a large still, with the person 120 px tall: shrunk
    whole to the detector's input they were a few pixels tall, and the photo was refused ("no person
    found in the photo"). The photo is now looked at in tiles; the person is found and embedded as
    a crop of them is."""

    seq = tud()
    x1, y1, x2, y2 = (round(v) for v in load_gt(seq)[3][53])
    person = frame_of(seq.video, 53)[max(y1, 0) : y2, max(x1, 0) : x2]
    small = cv2.resize(
        person, (round(person.shape[1] * 120 / person.shape[0]), 120), interpolation=cv2.INTER_AREA
    )
    w, h = size
    rng = np.random.default_rng(0)  # a plain, textured wall (no people)
    photo = cv2.GaussianBlur(rng.integers(60, 200, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    px, py = w // 2 + 77, h // 2 - 31
    photo[py : py + 120, px : px + small.shape[1]] = small
    query = prepare_query(photo, models.detector)
    bx1, by1, _, by2 = query.box
    assert not query.whole_photo and abs(bx1 - px) < 12 and abs(by1 - py) < 12 and abs(by2 - (py + 120)) < 12
    vec = models.reid.embed([query.crop])[0]
    assert float(vec @ models.reid.embed([small])[0]) > 0.9
