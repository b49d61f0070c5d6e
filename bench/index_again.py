"""What indexing a video again keeps of an operator's review: tracks and case marks, part-way and at
the end.

For each video and scenario the video is indexed, every track is marked in a case (confirmed and
rejected in turn), and the video is indexed again: with ``--force`` to the end; with ``--force``
cancelled after a few progress events (as a Ctrl-C) and then resumed; with another ReID model.
Printed: the tracks and marks the library holds after the stop and at the end, how many tracks kept
their keys, and the run's closing message (the marks it dropped).

    python -m bench.index_again [--videos pets tud] [--reid reid/osnet_x0_5_msmt17.onnx]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.sequences import ASSETS
from models.loader import ModelConfig, ModelSet
from models.reid import ReidConfig
from pipeline.indexer import IndexConfig, index_video
from pipeline.storage import Library

VIDEOS = {
    "tud": ASSETS / "mot15" / "TUD-Campus" / "TUD-Campus.mp4",
    "pets": ASSETS / "video" / "vtest_pets09_s2l1_480x360.mp4",
}
SCENARIOS = ("force", "force, Ctrl-C, resume", "other ReID model")
STOP_AFTER_EVENTS = 3  # progress events before the "Ctrl-C"


def reviewed(video: Path, db: Path) -> tuple[Library, int, set[int]]:
    """``video`` indexed into a new library at ``db``, every track marked in case 'gate'."""
    library = Library(db)
    list(index_video(video, library, ModelSet(), IndexConfig()))
    video_id = library.video_id(video)
    keys = {t.pk for t in library.video_tracks(video_id)}
    library.create_case("gate", [])
    for k, pk in enumerate(sorted(keys)):
        library.mark("gate", pk, "confirmed" if k % 2 else "rejected")
    return library, video_id, keys


def state(library: Library, video_id: int, keys: set[int]) -> str:
    now = {t.pk for t in library.video_tracks(video_id)}
    return f"{len(now):3d} tracks, {len(now & keys):3d} kept keys, {len(library.case('gate').marks):3d} marks"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", nargs="+", choices=sorted(VIDEOS), default=["tud", "pets"])
    ap.add_argument("--reid", default="reid/osnet_x0_5_msmt17.onnx", help="the other ReID model")
    args = ap.parse_args()
    print("video | scenario | marks before | after the stop | at the end | closing message")
    with tempfile.TemporaryDirectory(prefix="spotter-again-") as tmp:
        for name in args.videos:
            for k, scenario in enumerate(SCENARIOS):
                library, video_id, keys = reviewed(VIDEOS[name], Path(tmp) / f"{name}{k}.db")
                models = ModelSet()
                if scenario == "other ReID model":
                    models = ModelSet(ModelConfig(reid=ReidConfig(weights=args.reid)))
                seen: list = []

                def cancel(seen: list = seen, stops: bool = "Ctrl-C" in scenario) -> bool:
                    return stops and len(seen) >= STOP_AFTER_EVENTS

                stops = "Ctrl-C" in scenario
                for ev in index_video(VIDEOS[name], library, models, IndexConfig(), cancel, True):
                    seen.append(ev)  # (the cancel above counts them as they come)
                stopped = state(library, video_id, keys) if stops else "-"
                if stops:
                    seen.append(list(index_video(VIDEOS[name], library, models, IndexConfig()))[-1])
                end = state(library, video_id, keys)
                print(
                    f"{name} | {scenario} | {len(keys)} | {stopped} | {end} | {seen[-1].message!r}",
                    flush=True,
                )
                library.close()


if __name__ == "__main__":
    main()
