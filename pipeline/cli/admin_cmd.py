"""The library and the installation: ``videos``, ``doctor``, ``install-weights``, ``export-detector``,
``eval-reid``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cli.common import model_set, open_library, video_of
from pipeline.cli.console import err, one_line, out
from pipeline.index_report import warning_labels
from pipeline.types import fmt_time, iso_time

if TYPE_CHECKING:
    from pipeline.storage import Library
    from pipeline.types import VideoSummary

STATUS_WIDTH = len("interrupted")
"""The ``videos`` listing's status column: its longest word (done, partial, failed, indexing,
interrupted), so that the columns after it stay in line."""


def cmd_videos(args: argparse.Namespace) -> int:
    library = open_library(args)
    if args.set_camera or args.set_start:
        return set_clock(library, args)
    rows = library.videos()
    if args.json:
        out(json.dumps({"videos": [video_json(v) for v in rows]}))
        return 0
    if not rows:
        out(f"no videos indexed in {library.where}")
        return 0
    width = max(STATUS_WIDTH, *(len(v.state) for v in rows))
    out(f"{'id':>4} {'status':<{width}} {'duration':>9} {'tracks':>6}  {'camera':<16} {'start':<19}  path")
    for v in rows:
        start = v.start_time.strftime("%Y-%m-%d %H:%M:%S") if v.start_time else "-"
        note = f"  ({v.message})" if v.message else ""
        for label in warning_labels(json.loads(v.report_json or "{}")):
            note += f"  [{label}: weaker search]"
        if v.aliases:
            note += f"  (same content also at: {', '.join(v.aliases)})"
        status = v.state
        out(
            f"{v.video_id:>4} {status:<{width}} {fmt_time(v.duration_s):>9} {v.tracks:>6}  "
            + one_line(f"{v.camera or '-':<16} {start:<19}  {v.path}{note}")
        )
    return 0


def set_clock(library: Library, args: argparse.Namespace) -> int:
    """``videos --set-camera VIDEO NAME`` / ``--set-start VIDEO ISO_TIME`` (VIDEO: a path or an id)."""
    from models.errors import SpotterError
    from pipeline.cameras import parse_clock

    touched: list[int] = []
    for option, value in (("--set-camera", args.set_camera), ("--set-start", args.set_start)):
        if not value:
            continue
        video, text = value
        video_id = video_of(library, video, option)
        if option == "--set-camera":
            for case in library.set_camera(video_id, text):
                err(f"note: case {case!r} was filtered to that camera's old name: it follows the rename")
        else:
            try:
                if not text.strip():  # an unset shell variable must not erase a known start
                    raise ValueError("no time given (give one, or none to forget the start)")
                when = None if text.strip().lower() == "none" else parse_clock(text)
            except ValueError as e:
                raise SpotterError(f"{option}: {e}") from None
            library.set_start(video_id, when)
        touched.append(video_id)
    clocks = library.clocks()
    for video_id in dict.fromkeys(touched):
        c = clocks[video_id]
        start = c.start.isoformat(sep=" ") if c.start else "unknown"
        out(f"video {video_id}: camera {c.camera!r}, start {start}")
    return 0


def video_json(v: VideoSummary) -> dict:
    """The ``videos --json`` object of one video (a stable interface for tools and scripts)."""
    return {
        "id": v.video_id,
        "path": v.path,
        "status": v.state,
        "duration_s": round(v.duration_s, 3),
        "tracks": v.tracks,
        "fps": round(v.fps, 3),
        "frames": v.frame_count,
        "width": v.width,
        "height": v.height,
        "message": v.message,
        "aliases": list(v.aliases),
        "report": json.loads(v.report_json or "{}"),
        "camera": v.camera,
        "start_time": iso_time(v.start_time),
    }


def cmd_doctor(args: argparse.Namespace) -> int:
    import platform

    import onnxruntime as ort

    from models.errors import SpotterError
    from models.providers import ort_available_providers
    from models.weights import WeightStore, default_dirs

    ok = True
    from models.openvino_cpu import openvino_version

    runtimes = f"onnxruntime {ort.__version__}, openvino {openvino_version() or 'not installed'}"
    out(f"python {platform.python_version()}, {runtimes}")
    out(f"onnxruntime providers: {', '.join(ort_available_providers())}")
    shown = [str(d) if d.is_dir() else f"{d} (no such folder)" for d in default_dirs()]
    out(f"weight folders: {', '.join(shown)}")
    for name, state in WeightStore().status():
        out(f"  {name}: {state}")
    from pipeline.storage.location import locate

    db = args.db or _default_db()
    library = None
    try:  # the library, then the models: a bad library does not hide what the models say
        where = locate(db)
        if where.is_server or where.path.is_file():  # doctor never creates a library file
            library = open_library(args)
            active = library.active_reid()
            if active:
                out(f"library ReID model: {active['id']} ({active['path']}; sha256 {active['sha256'][:12]})")
            out(f"database: {db} ({len(library.videos())} videos){_read_only(where)}")
        elif where.path.is_dir():
            raise SpotterError(f"{db} is a folder, not a library file (give --db FOLDER/spotter.db)")
        else:
            out(f"database: {db} (no library there yet: `index VIDEO --db {db}` makes one)")
    except SpotterError as e:
        ok = False
        err(f"error: {e}")
    try:
        models = model_set(args, library=library)
        out(f"device: {models.device.label}")
        out(f"detector: {models.detector.weights} on {models.detector.providers[0]}")
        out(f"reid: {models.reid.weights} on {models.reid.providers[0]} ({models.reid.dim}-d)")
    except SpotterError as e:
        ok = False
        err(f"error: {e}")
    from pipeline.cli.display_check import display_problem

    # the command line needs no display, so this is said, not failed
    out(f"desktop app: {display_problem() or 'can open its window here'}")
    return 0 if ok else 2


def _read_only(where: object) -> str:
    """`` (read-only: ...)`` for a library file this process cannot write, else ''."""
    import os

    path = getattr(where, "path", None)
    if path is None or (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return ""
    return " (read-only here: it can be searched, not indexed into; its searches are not saved)"


def _default_db() -> Path:
    from pipeline.storage import default_db_path

    return default_db_path()


def cmd_install_weights(args: argparse.Namespace) -> int:
    from models.detector import DetectorConfig
    from models.errors import SpotterError
    from models.reid import ReidConfig
    from models.weights import PROJECT_WEIGHTS_DIR, install_weights

    is_url = args.source.startswith(("http://", "https://", "file://"))
    if not is_url and not Path(args.source).is_dir():
        raise SpotterError(
            f"install-weights: {args.source} is not a folder (give the folder of the weights, or a URL)"
        )
    results = install_weights(args.source)
    for name, state in results:
        out(f"  {name}: {state}")
    needed = (DetectorConfig().weights, ReidConfig().weights)
    bad = {n: s for n, s in results if n in needed and s not in ("installed", "present")}
    if bad:
        what = "; ".join(f"{n}: {'not there' if s == 'missing' else s}" for n, s in bad.items())
        err(f"error: the default models could not be installed from {args.source} ({what})")
        return 1
    out(f"weights ready in {PROJECT_WEIGHTS_DIR}")
    return 0


def cmd_export_detector(args: argparse.Namespace) -> int:
    from models.export import export_onnx

    written = export_onnx(args.checkpoint, args.out, args.imgsz, trust=args.trust_model)
    out(f"wrote {written}")
    return 0


def cmd_eval_reid(args: argparse.Namespace) -> int:
    from pipeline.reid_benchmark import evaluate_reid

    if args.model:
        args.reid_model = args.model
    embedder = model_set(args, flip=args.flip).reid
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
    out(json.dumps(report.to_json()) if args.json else report.summary())
    return 0
