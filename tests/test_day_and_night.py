"""One camera's day and night in one library: tracks recorded without colour are calibrated apart
from the colour ones (pipeline.calibration), so adding the night's footage changes neither the day's
floor nor its hits, and the night is held to the floor it would have alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.calibration import CalibrationConfig
from pipeline.indexer import index_video
from pipeline.search import SearchConfig, Searcher
from pipeline.storage import Library
from tests.conftest import copy_library, load_gt, tud
from tests.test_night_footage import night_video, photo_of


@pytest.fixture(scope="module")
def libraries(indexed: Library, models, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Library]:
    """PETS09-S2L1 and TUD-Campus by day, TUD-Campus by night (no colour): together, and the night
    alone."""
    folder = tmp_path_factory.mktemp("day_and_night")
    night = night_video(folder / "tud_night.mp4")
    both = Library(copy_library(indexed.db_path, folder / "both.db"))
    for _ in index_video(night, both, models):
        pass
    alone = Library(copy_library(both.db_path, folder / "night.db"))
    for v in alone.videos():
        if Path(v.path).name != night.name:
            alone.remove_video(v.video_id)
    return {"day": indexed, "both": both, "night": alone}


# TUD-Campus is 3 s: its night alone gives 50-100 pairs of each truth, below the default's 100
CONFIG = SearchConfig(calibration=CalibrationConfig(min_samples=30))


def test_each_kind_of_footage_keeps_its_own_floor(libraries: dict[str, Library], models) -> None:
    day, both, night = (
        Searcher(libraries[k], models, CONFIG).calibrated_floors() for k in ("day", "both", "night")
    )
    assert day.calibrated and both.calibrated and night.calibrated
    assert both.colour == day.colour  # the night's pairs do not move the day's floor
    assert both.colourless == night.colourless == night.colour  # a night alone: one kind only
    assert both.colourless > both.colour  # in grey, strangers look more alike


def test_adding_the_night_changes_no_hit_of_the_day_or_of_the_night(
    libraries: dict[str, Library], models, tmp_path: Path
) -> None:
    """Every TUD-Campus person seen long enough to be searched for: their hits in the day's video are
    those of the library without the night, and in the night's video those of the night alone."""
    searchers = {k: Searcher(lib, models, CONFIG) for k, lib in libraries.items()}
    people = [p for p, boxes in load_gt(tud()).items() if len(boxes) >= 20]
    day, night = tud().video.name, "tud_night.mp4"
    found = 0
    for person in people:
        photo = photo_of(person, tmp_path)
        hits = {k: s.search(photo, save=False).hits for k, s in searchers.items()}

        def tracks(kind: str, video: str, hits: dict = hits) -> set[int]:
            return {h.track_id for h in hits[kind] if Path(h.video_path).name == video}

        assert tracks("both", day) == tracks("day", day), person
        assert tracks("both", night) == tracks("night", night), person
        found += bool(tracks("both", night))
    assert found >= 3  # of 7 (4 here, at the night floor calibrated with these few pairs)


def test_the_command_line_names_both_floors_when_nobody_is_found(
    libraries: dict[str, Library], models, tmp_path: Path, frame_of
) -> None:
    """'no hits at threshold X' named the colour floor alone, while a night look-alike scoring above
    it had to reach the night's: both are named."""
    from tests.conftest import pets
    from tests.test_cli import cli, gt_crop

    both = libraries["both"]
    floors = Searcher(both, models).calibrated_floors()
    colour, night = f"{floors.colour:.2f}", f"{floors.colourless:.2f}"
    assert colour != night
    (video,) = [v.path for v in both.videos() if Path(v.path).name == "tud_night.mp4"]
    stranger = gt_crop(tmp_path, frame_of, pets(), 1, 554)  # in PETS09-S2L1, not in TUD-Campus
    p = cli("search", "--db", str(both.db_path), "--query", str(stranger), "--video", video)
    assert p.returncode == 0, p.stderr
    assert f"no hits at threshold {colour}, {night} for footage without colour (best score" in p.stdout
