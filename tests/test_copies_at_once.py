"""Two copies of one recording (a recorder's export copied to two folders, two operators on a shared
library) are indexed once, whether the other copy is indexed, being indexed or left unfinished: a
sweep indexed two copies at once, and 8 s apart, and got two whole rows and every hit twice."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.indexer import index_video
from pipeline.storage import Library
from pipeline.types import Stage
from tests.conftest import tud


def _copies(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a" / "Gate.mp4", tmp_path / "b" / "Gate.mp4"
    for p in (a, b):
        p.parent.mkdir()
        shutil.copy(tud().video, p)
    return a, b


def test_a_copy_of_a_video_left_unfinished_is_not_indexed_again(tmp_path: Path, models) -> None:
    a, b = _copies(tmp_path)
    library = Library(tmp_path / "lib.db")
    seen = 0

    def after_a_few_frames() -> bool:
        nonlocal seen
        seen += 1
        return seen > 20

    events = list(index_video(a, library, models, cancel=after_a_few_frames))
    assert events[-1].stage == Stage.CANCELLED
    events_b = list(index_video(b, library, models))
    assert events_b[-1].stage == Stage.SKIPPED
    assert (
        f"same content as {a}, whose indexing did not finish: index that to resume it" in events_b[-1].message
    )
    (video,) = library.videos()
    assert video.path == str(a) and video.aliases == (str(b),) and video.status == "partial"
    assert list(index_video(a, library, models))[-1].stage == Stage.DONE
    (video,) = library.videos()
    assert video.status == "done" and video.aliases == (str(b),)
    library.close()


def test_a_copy_of_a_video_being_indexed_now_is_not_indexed_again(tmp_path: Path, models) -> None:
    a, b = _copies(tmp_path)
    library = Library(tmp_path / "lib.db")
    run_a = index_video(a, library, models)
    for ev in run_a:  # a is being indexed, and holds its lock, while b is asked for
        if ev.stage == Stage.INDEXING:
            break
    events_b = list(index_video(b, library, models))
    assert events_b[-1].stage == Stage.SKIPPED
    assert f"same content as {a}, which is being indexed now: indexed once" in events_b[-1].message
    assert list(run_a)[-1].stage == Stage.DONE
    (video,) = library.videos()
    assert video.status == "done" and video.aliases == (str(b),) and video.tracks > 0
    library.close()
