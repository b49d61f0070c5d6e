"""A folder walked once for what indexing it means: videos, folders of images, and what is skipped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import pytest

from pipeline import media_scan
from pipeline.media_scan import media_in, nothing_in, scan_media
from tests.conftest import tud
from tests.test_image_sequence import tud_frames


def site(root: Path) -> Path:
    """A recorder's export: two cameras' snapshots, a clip deep down, a lone photo, links."""
    frames = tud_frames(every=20)
    for cam in ("cam1", "deep/er/cam2"):
        (root / cam).mkdir(parents=True)
        for k, frame in enumerate(frames[:3]):
            cv2.imwrite(str(root / cam / f"snap_{k}.jpg"), frame)
    shutil.copy(tud().video, root / "deep" / "clip.MP4")
    (root / "lone").mkdir()
    cv2.imwrite(str(root / "lone" / "photo.png"), frames[0])
    (root / "notes.txt").write_text("not media")
    (root / "loop").symlink_to(root / "loop")  # a link to itself: skipped, not fatal to its folder
    (root / "cam1 link").symlink_to(root / "cam1")  # a link to a folder of images: looked into
    (root / "up").symlink_to(root)  # a link back up: not walked below, so the walk ends
    return root


def test_one_walk_finds_videos_and_image_folders_and_survives_links(tmp_path: Path) -> None:
    root = site(tmp_path / "site")
    found = scan_media(root)
    assert found.media == sorted(
        [root / "cam1", root / "cam1 link", root / "deep/er/cam2", root / "deep/clip.MP4"]
    )
    assert found.unreadable == ()
    assert media_in(root) == found.media


def test_a_folder_that_cannot_be_listed_is_skipped_and_named(tmp_path: Path, monkeypatch) -> None:
    """As root no permission is refused here, so the OS's refusal is made for one folder."""
    root = site(tmp_path / "site")
    real = os.scandir

    def scandir(path):
        if Path(path) == root / "deep":
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(media_scan.os, "scandir", scandir)
    found = scan_media(root)
    assert found.unreadable == (root / "deep",)
    assert found.media == [root / "cam1", root / "cam1 link"]  # the rest of the drop still found


def test_nothing_to_index_says_why(tmp_path: Path) -> None:
    root = tmp_path / "x"
    (root / "a").mkdir(parents=True)
    assert nothing_in(scan_media(root)) == "no videos and no folders of images in it"
    cv2.imwrite(str(root / "a" / "one.jpg"), tud_frames(every=50)[0])
    why = nothing_in(scan_media(root))
    assert "no folder of at least 2 images" in why and str(root / "a") in why


def test_a_cancelled_walk_stops(tmp_path: Path) -> None:
    root = site(tmp_path / "site")
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 1  # the dropped folder itself is listed, nothing below it

    found = scan_media(root, cancelled)
    assert found.videos == () and root / "deep/er/cam2" not in found.sequences


@pytest.mark.parametrize("given", ["file", "missing"])
def test_a_path_that_is_no_folder_finds_nothing(tmp_path: Path, given: str) -> None:
    path = tmp_path / "x.mp4"
    if given == "file":
        path.write_bytes(b"\0" * 10)
    found = scan_media(path)
    assert found.media == [] and found.unreadable == (path,)


def test_a_file_without_its_extension_is_told_by_its_content(tmp_path: Path) -> None:
    """A photo saved as 'suspect' (a mail attachment, a phone's share sheet), a recorder's export
    named by channel: their first bytes say what they hold; a pipe is not read (it would block)."""
    import av
    import numpy as np

    frame = tud_frames(every=50)[0]
    for ext in (".jpg", ".png", ".bmp", ".tif", ".webp"):
        ok, data = cv2.imencode(ext, frame)
        assert ok
        (tmp_path / f"photo{ext[1:]}").write_bytes(data.tobytes())
        assert media_scan.content_kind(tmp_path / f"photo{ext[1:]}") == "image", ext
    for fmt, codec in (("mp4", "mpeg4"), ("avi", "mpeg4"), ("matroska", "mpeg4"), ("mpeg", "mpeg2video")):
        name = tmp_path / f"channel_{fmt}"
        with av.open(str(name), "w", format=fmt) as c:
            s = c.add_stream(codec, rate=5)
            s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
            for _ in range(3):
                c.mux(s.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="bgr24")))
            c.mux(s.encode())
        assert media_scan.content_kind(name) == "video", fmt
    (tmp_path / "notes").write_text("not media at all")
    os.mkfifo(tmp_path / "pipe")
    for neither in ("notes", "pipe", "missing"):
        assert media_scan.content_kind(tmp_path / neither) is None, neither
    assert media_scan.content_kind(tmp_path) is None


def test_a_folder_of_photos_of_every_size_is_not_a_camera(tmp_path: Path) -> None:
    """A sweep dropped a case folder: its "suspect photos" (a 110x200 crop and a 480x360 scene) were
    indexed as a camera, and each search for the suspect listed them as a sighting. A camera's
    snapshots share a size; a camera that changed resolution part-way still indexes."""
    from pipeline.errors import VideoError
    from pipeline.video import probe

    frame = tud_frames()[0]
    photos = tmp_path / "suspect photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "front.jpg"), cv2.resize(frame, (110, 200)))
    cv2.imwrite(str(photos / "side.jpg"), cv2.resize(frame, (480, 360)))
    with pytest.raises(VideoError, match="images are each of another size: photos, not one camera's"):
        probe(photos)
    cv2.imwrite(str(photos / "side2.jpg"), cv2.resize(frame, (480, 360)))  # two of one size: a camera
    assert (probe(photos).width, probe(photos).height) == (480, 360)
