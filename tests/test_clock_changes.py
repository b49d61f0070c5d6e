"""Clock changes in a folder of snapshots (pipeline.clock_changes): EXIF offsets from UTC."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from pipeline.video import probe
from tests.test_image_sequence import tud_frames


def test_exif_offsets_keep_the_hour_repeated_when_clocks_go_back_in_order(tmp_path: Path) -> None:
    """The night the clocks go back, local times repeat an hour: ordered as written, the two passes
    through 01:00-02:00 interleaved (tracks mixed the two hours). A camera that writes EXIF's
    OffsetTimeOriginal says which pass an image belongs to: the times are put on one offset."""
    frames = tud_frames(10)[:4]
    taken = [("01:30:00", "+02:00"), ("01:45:00", "+02:00"), ("01:15:00", "+01:00"), ("01:40:00", "+01:00")]
    for folder, offsets in (("dst", True), ("garbled", False)):
        (tmp_path / folder).mkdir()
        for k, (img, (when, offset)) in enumerate(zip(frames, taken)):
            exif = Image.Exif()
            exif.get_ifd(0x8769)[36867] = f"2026:10:25 {when}"
            exif.get_ifd(0x8769)[0x9011] = offset if offsets or k else "+2:00 CEST"
            name = f"cam_{'abcd'[k]}.jpg"
            Image.fromarray(img[:, :, ::-1]).save(tmp_path / folder / name, exif=exif)
    info = probe(tmp_path / "dst")
    assert [p.name for p in info.images.files] == ["cam_a.jpg", "cam_b.jpg", "cam_c.jpg", "cam_d.jpg"]
    assert info.images.times == pytest.approx((0, 900, 2700, 4200))
    assert info.images.start == datetime(2026, 10, 25, 1, 30)
    assert "UTC offsets +01:00, +02:00 (daylight saving): put on +02:00" in info.note
    garbled = probe(tmp_path / "garbled")  # one offset unreadable: the times as written
    assert [p.name for p in garbled.images.files] == ["cam_c.jpg", "cam_a.jpg", "cam_d.jpg", "cam_b.jpg"]
    assert "offset" not in garbled.note
