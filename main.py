"""Spotter: find a person in video.

    python main.py                      open the desktop app
    python main.py index VIDEO...       index videos (once; later runs skip or resume them)
    python main.py search --query IMG   find the person in the photo in every indexed video
    python main.py export --hit ID --out CLIP.mp4 [--annotate]
    python main.py videos [--json]      list the library
    python main.py doctor               check models and hardware
    python main.py eval-reid DATASET    evaluate the ReID model on a Market-1501-style dataset
    python main.py export-detector M.pt convert a YOLO checkpoint to ONNX
    python main.py install-weights SRC  copy/download the model weights (done by install.sh)

Every command takes --db PATH (default: spotter.db in the user's data directory).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.types import fmt_time

if TYPE_CHECKING:
    from models.loader import ModelSet
    from pipeline.storage import Library
    from pipeline.types import VideoSummary

log = logging.getLogger("spotter")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spotter", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command")

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", type=Path, default=None, help="library database (default: user data dir)")
        p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where models run")
        p.add_argument("--reid-model", default=None, help="ReID ONNX file or manifest name")
        p.add_argument("--detector", default=None, help="YOLO .onnx/.pt file or manifest name")
        p.add_argument("--max-input", type=int, default=None, help="longest side of the detector input (px)")
        return p

    p = with_db(sub.add_parser("index", help="index video files (skips unchanged, resumes interrupted)"))
    p.add_argument("videos", nargs="+", type=Path, help="video files or folders")
    p.add_argument("--stride", type=int, default=None, help="run the detector on every n-th frame")
    p.add_argument("--force", action="store_true", help="redo videos that are already indexed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = with_db(sub.add_parser("search", help="find the person in a photo"))
    p.add_argument("--query", type=Path, required=True, help="photo of the person (a crop or a scene)")
    p.add_argument("--video", type=Path, default=None, help="search only this indexed video")
    p.add_argument("--threshold", type=float, default=None, help="least similarity of a hit (0..1)")
    p.add_argument("--top", type=int, default=None, help="at most this many hits")
    p.add_argument("--person", type=int, default=None, help="which person in a scene photo (0 = largest)")
    p.add_argument("--box", type=float, nargs=4, default=None, metavar=("X1", "Y1", "X2", "Y2"))
    p.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking of the candidates")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = with_db(sub.add_parser("export", help="cut a hit to an MP4 clip (and a JPEG thumbnail)"))
    p.add_argument("--hit", type=int, required=True, help="hit id (shown by search)")
    p.add_argument("--out", type=Path, required=True, help="output .mp4 path (never overwritten)")
    p.add_argument("--annotate", action="store_true", help="draw the person's box")
    p.add_argument("--margin", type=float, default=None, help="seconds added before and after")

    p = with_db(sub.add_parser("videos", help="list the indexed videos"))
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    with_db(sub.add_parser("doctor", help="check model files and execution providers"))

    p = sub.add_parser("install-weights", help="copy or download the model weights into models/weights/")
    p.add_argument("source", help="folder holding the weight files, or a base URL")

    p = sub.add_parser("export-detector", help="convert a YOLO .pt checkpoint to ONNX (dynamic shapes)")
    p.add_argument("checkpoint", type=Path, help="YOLO .pt file")
    p.add_argument("--out", type=Path, default=None, help="output .onnx (default: beside the .pt)")
    p.add_argument("--imgsz", type=int, default=640, help="nominal input size recorded in the model")

    p = with_db(sub.add_parser("eval-reid", help="Market-1501 protocol evaluation of the ReID model"))
    p.add_argument("dataset", type=Path, help="folder with query/ and bounding_box_test/")
    p.add_argument("--model", default=None, help="ReID ONNX file (default: the configured model)")
    p.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking")
    p.add_argument("--flip", action="store_true", help="average each crop with its mirror image")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command is None:
        from gui.app import run_app

        return run_app()
    from models.errors import SpotterError

    handler = {
        "index": cmd_index,
        "search": cmd_search,
        "export": cmd_export,
        "videos": cmd_videos,
        "doctor": cmd_doctor,
        "eval-reid": cmd_eval_reid,
        "export-detector": cmd_export_detector,
        "install-weights": cmd_install_weights,
    }[args.command]
    try:
        return handler(args)
    except SpotterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


# ----- helpers -----------------------------------------------------------------------------------


def open_library(args: argparse.Namespace) -> Library:
    from pipeline.storage import Library, default_db_path

    return Library(args.db or default_db_path())


def model_set(args: argparse.Namespace, flip: bool | None = None) -> ModelSet:
    from dataclasses import replace

    from models.loader import ModelConfig, ModelSet

    cfg = ModelConfig(device=args.device)
    if args.detector:
        cfg = replace(cfg, detector=replace(cfg.detector, weights=args.detector))
    if getattr(args, "max_input", None):
        cfg = replace(cfg, detector=replace(cfg.detector, max_input=args.max_input))
    if getattr(args, "reid_model", None):
        cfg = replace(cfg, reid=replace(cfg.reid, weights=args.reid_model))
    if flip is not None:
        cfg = replace(cfg, reid=replace(cfg.reid, flip=flip))
    return ModelSet(cfg)


def expand_videos(paths: list[Path]) -> list[Path]:
    """Files as given; folders expanded to the videos below them and the folders of images in them
    (each indexed as one sequence), sorted."""
    from pipeline.video import media_in

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += media_in(p)
        else:
            out.append(p)
    return out


def print_report(report_json: str) -> None:
    """What indexing did (how the detector looked, how tall people were) and its warnings."""
    if not report_json:
        return
    from pipeline.index_report import summary

    report = json.loads(report_json)
    line = summary(report)
    if line:
        print(f"  {line}", file=sys.stderr)
    for note in report.get("notes", []):
        print(f"  note: {note}", file=sys.stderr)
    for warning in report.get("warnings", []):
        print(f"  warning: {warning}", file=sys.stderr)


# ----- commands ----------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from models.errors import SpotterError
    from pipeline.indexer import IndexConfig, index_video
    from pipeline.types import Stage

    cancel = threading.Event()

    def on_sigint(_sig: int, _frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\ncancelling after the current batch (Ctrl-C again to abort at once)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    library, models = open_library(args), model_set(args)
    config = IndexConfig() if args.stride is None else replace(IndexConfig(), stride=args.stride)
    show_bar = not args.quiet and sys.stderr.isatty()
    failures = 0
    try:
        for video in expand_videos(args.videos):
            bar = None
            try:
                for ev in index_video(video, library, models, config, cancel.is_set, args.force):
                    if ev.stage == Stage.INDEXING and show_bar:
                        if bar is None:
                            from tqdm import tqdm

                            bar = tqdm(total=ev.frames_total, desc=video.name, unit="frame", leave=False)
                        bar.n = ev.frames_done
                        bar.set_postfix_str(
                            f"{ev.x_realtime:.1f}x real time, {ev.tracks} tracks, {ev.device}"
                        )
                    elif ev.stage in (Stage.DONE, Stage.SKIPPED, Stage.CANCELLED):
                        if bar is not None:
                            bar.close()
                        speed = f", {ev.x_realtime:.1f}x real time" if ev.stage == Stage.DONE else ""
                        note = f" ({ev.message})" if ev.message else ""
                        print(
                            f"{ev.stage.value}: {ev.video_path}: {ev.tracks} tracks{speed}{note}",
                            file=sys.stderr,
                        )
                        print_report(ev.report_json)
            except SpotterError as e:
                failures += 1
                if bar is not None:
                    bar.close()
                print(f"error: {e}", file=sys.stderr)
            if cancel.is_set():
                return 130
    finally:
        signal.signal(signal.SIGINT, previous)
        library.close()
    return 1 if failures else 0


def cmd_search(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from pipeline.search import SearchConfig, Searcher

    library = open_library(args)
    config = SearchConfig()
    if args.rerank:
        config = replace(config, rerank=True)
    searcher = Searcher(library, model_set(args), config)
    result = searcher.search(
        args.query,
        box=args.box,
        person=args.person,
        video=args.video,
        min_score=args.threshold,
        max_hits=args.top,
    )
    if result.query.note:
        print(f"note: {result.query.note}", file=sys.stderr)
    if args.json:
        print(json.dumps({"query": str(args.query.resolve()), "hits": [h.to_json() for h in result.hits]}))
        return 0
    floor = config.min_score if args.threshold is None else args.threshold
    if not result.hits:
        best = "none indexed" if result.best_score is None else f"{result.best_score:.3f}"
        print(f"no hits at threshold {floor:.2f} (best score {best}): the person was not found")
        return 0
    print(f"{len(result.hits)} hits ({result.elapsed_s * 1000:.0f} ms, search {result.search_id}):")
    print(f"{'hit':>6} {'score':>6}  {'start':>9} {'end':>9}  track  video")
    for h in result.hits:
        print(
            f"{h.hit_id:>6} {h.score:6.3f}  {fmt_time(h.start_s):>9} {fmt_time(h.end_s):>9}  "
            f"{h.track_id:5d}  {h.video_path}"
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pipeline.export import ExportConfig, export_hit

    library = open_library(args)
    config = ExportConfig() if args.margin is None else ExportConfig(margin_s=args.margin)
    clip = export_hit(library, args.hit, args.out, annotate=args.annotate, config=config)
    print(
        f"wrote {clip.path} ({clip.frames} frames, {fmt_time(clip.start_s)}-{fmt_time(clip.end_s)}) "
        f"and {clip.thumbnail}"
    )
    return 0


def cmd_videos(args: argparse.Namespace) -> int:
    library = open_library(args)
    rows = library.videos()
    if args.json:
        print(json.dumps({"videos": [video_json(v) for v in rows]}))
        return 0
    if not rows:
        print(f"no videos indexed in {library.db_path}")
        return 0
    print(f"{'id':>4} {'status':<8} {'duration':>9} {'tracks':>6}  path")
    for v in rows:
        note = f"  ({v.message})" if v.message else ""
        if json.loads(v.report_json or "{}").get("warnings"):
            note += "  [people small: weaker search]"
        status = v.status if v.status != "indexing" else "interrupted"
        print(f"{v.video_id:>4} {status:<8} {fmt_time(v.duration_s):>9} {v.tracks:>6}  {v.path}{note}")
    return 0


def video_json(v: VideoSummary) -> dict:
    """The ``videos --json`` object of one video (a stable interface for tools and scripts)."""
    return {
        "id": v.video_id,
        "path": v.path,
        "status": "interrupted" if v.status == "indexing" else v.status,
        "duration_s": round(v.duration_s, 3),
        "tracks": v.tracks,
        "fps": round(v.fps, 3),
        "frames": v.frame_count,
        "width": v.width,
        "height": v.height,
        "message": v.message,
        "report": json.loads(v.report_json or "{}"),
    }


def cmd_doctor(args: argparse.Namespace) -> int:
    import platform

    import onnxruntime as ort

    from models.errors import SpotterError
    from models.providers import ort_available_providers
    from models.weights import WeightStore, default_dirs

    ok = True
    print(f"python {platform.python_version()}, onnxruntime {ort.__version__}")
    print(f"onnxruntime providers: {', '.join(ort_available_providers())}")
    print(f"weight folders: {', '.join(str(d) for d in default_dirs())}")
    for name, state in WeightStore().status():
        print(f"  {name}: {state}")
    models = model_set(args)
    try:
        print(f"device: {models.device.label}")
        print(f"detector: {models.detector.weights} on {models.detector.providers[0]}")
        print(f"reid: {models.reid.weights} on {models.reid.providers[0]} ({models.reid.dim}-d)")
    except SpotterError as e:
        ok = False
        print(f"error: {e}")
    print("database:", args.db or _default_db())
    return 0 if ok else 1


def _default_db() -> Path:
    from pipeline.storage import default_db_path

    return default_db_path()


def cmd_install_weights(args: argparse.Namespace) -> int:
    from models.detector import DetectorConfig
    from models.reid import ReidConfig
    from models.weights import PROJECT_WEIGHTS_DIR, install_weights

    results = install_weights(args.source)
    for name, state in results:
        print(f"  {name}: {state}")
    needed = (DetectorConfig().weights, ReidConfig().weights)
    bad = [n for n, s in results if n in needed and s not in ("installed", "present")]
    if bad:
        print(f"error: the default models are missing from {args.source}: {', '.join(bad)}", file=sys.stderr)
        return 1
    print(f"weights ready in {PROJECT_WEIGHTS_DIR}")
    return 0


def cmd_export_detector(args: argparse.Namespace) -> int:
    from models.export import export_onnx

    out = export_onnx(args.checkpoint, args.out, args.imgsz)
    print(f"wrote {out}")
    return 0


def cmd_eval_reid(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from models.reid import ReidEmbedder
    from pipeline.reid_benchmark import evaluate_reid

    models = model_set(args, flip=args.flip)
    weights = models.store.resolve(args.model or models.config.reid.weights)
    flip_cfg = replace(models.config.reid, flip=args.flip)
    embedder = ReidEmbedder(weights, flip_cfg, models.device.ort_providers)
    bar = None
    if not args.json and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(desc="embedding", unit="crop", leave=False)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    report = evaluate_reid(args.dataset, embedder, rerank=args.rerank, progress=progress)
    if bar is not None:
        bar.close()
    print(json.dumps(report.to_json()) if args.json else report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
