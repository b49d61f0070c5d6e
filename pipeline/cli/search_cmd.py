"""``main.py search``, ``main.py serve`` and ``main.py export``: find a person (in this process or in a
warm search service), cut a hit to a clip."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
from collections import Counter
from typing import TYPE_CHECKING

from pipeline.cameras import clock_label
from pipeline.cli.common import existing_library, model_set, open_library, video_of
from pipeline.cli.console import err, one_line, out
from pipeline.file_names import shown
from pipeline.types import clock_at, end_second, fmt_time

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline.cli.search_service import WarmSearch
    from pipeline.search import Searcher, SearchResult
    from pipeline.search_filter import SearchFilter
    from pipeline.storage import Library
    from pipeline.types import Hit


def cmd_search(args: argparse.Namespace, warm: WarmSearch | None = None) -> int:
    """``main.py search``; ``warm``: a search service's open library, models and searchers."""
    from dataclasses import replace

    from models.errors import SpotterError
    from pipeline.search import SearchConfig, Searcher
    from pipeline.search_filter import SearchFilter

    if args.query is None and not (args.upper or args.lower):
        raise SpotterError("search needs --query PHOTO, or a description (--upper and/or --lower COLOUR)")
    if args.query is None:  # a description ranks people by their clothes' colours: no likeness to cut
        given = (("--threshold", args.threshold), ("--person", args.person), ("--box", args.box))
        photo_only = [o for o, v in (*given, ("--rerank", args.rerank or None)) if v is not None]
        if photo_only:
            raise SpotterError(
                f"{' and '.join(photo_only)}: for a search by photo (--query); a description lists the "
                "people wearing the colours, best match first (--top K keeps the first K)"
            )
    library = warm.library if warm else open_library(args)
    config = SearchConfig()
    if args.rerank:
        config = replace(config, rerank=True)
    models = warm.models(args) if warm else model_set(args, library=library)
    video_id = None if args.video is None else video_of(library, str(args.video), "--video")
    video = None if video_id is None else next(v.path for v in library.videos() if v.video_id == video_id)
    check_reid_model(library, models.reid_id)
    where = SearchFilter(tuple(dict.fromkeys(args.camera)), args.time_from, args.time_to, region=args.region)
    searcher = warm.searcher(models, config) if warm else Searcher(library, models, config)
    if args.query is None:
        if video_id is not None:
            where = replace(where, videos=(video_id,))
        return print_description_hits(searcher, args, where)
    result = searcher.search(
        args.query,
        box=args.box,
        person=args.person,
        video=video,
        min_score=args.threshold,
        max_hits=None if args.upper or args.lower else args.top,  # the best K that wear the colours
        where=where,
    )
    if result.query.note:
        err(f"note: {result.query.note}")
    found = len(result.query.people)
    if args.person is None and args.box is None and found > 1 and not result.query.whole_photo:
        err(
            f"note: {found} people in the photo: searched the largest (--person K picks another, 0 = largest)"
        )
    if result.unsaved:
        err(f"note: the search is not saved, so its hits have no ids for export --hit: {result.unsaved}")
    if result.videos_without_start:
        err(without_start_note(result.videos_without_start))
    hits = result.hits
    if args.upper or args.lower:  # a photo narrowed by colour
        from pipeline.description import wearing

        hits = tuple(wearing(library, hits, args.upper, args.lower))[: args.top or None]
    left_out = filtered_out(searcher, result, args, where, video) if not hits else ""
    higher = better_outside(searcher, result, args, where, video, hits)
    if higher:
        err(f"note: {higher}")
    gone_away(library, hits)
    if args.json:
        if left_out:  # the JSON stays as it is (a contract): the note goes with the other notes
            err(f"note: no hits: {left_out}")
        out(json.dumps({"query": shown(args.query.resolve()), "hits": [h.to_json() for h in hits]}))
        return 0
    if not hits:
        nothing = "no track within the cameras, times or region asked" if where.active else "no track indexed"
        best = nothing if result.best_score is None else f"best score {result.best_score:.3f}"
        cut = f"{result.cut:.2f}"
        floors = searcher.calibrated_floors()
        if args.threshold is None and f"{floors.colourless:.2f}" != cut:  # one camera's day and night
            cut += f", {floors.colourless:.2f} for footage without colour"
        out(f"no hits at threshold {cut} ({best}): {left_out or 'the person was not found'}")
        return 0
    saved = f", search {result.search_id}" if result.search_id is not None else ", not saved"
    out(f"{len(hits)} hits ({result.elapsed_s * 1000:.0f} ms{saved}):")
    out(f"{'hit':>6} {'score':>6}  {'seen':<34}  track  video")
    for h in hits:
        seen = f"{clock_label(h.video_start, h.start_s, h.camera)} +{h.end_s - h.start_s:.1f} s"
        out(one_line(f"{h.hit_id or '-':>6} {h.score:6.3f}  {seen:<34}  {h.track_id:5d}  {h.video_path}"))
    return 0


def gone_away(library: Library, hits: Sequence[Hit]) -> None:
    """A note naming the hits' videos whose file is gone (moved, removed, a share not mounted): the
    hits are listed from the library, but cannot be played or exported until the file is back."""
    from pipeline.source_check import missing_sources

    gone = missing_sources(library, (h.video_id for h in hits))
    if gone:
        where = ", ".join(gone[:3]) + (f" and {len(gone) - 3} more" if len(gone) > 3 else "")
        err(
            f"note: {len(gone)} video(s) of these hits are not where they were indexed ({where}): their "
            "hits cannot be played or exported until the file is back there (or indexed where it is now)"
        )


def filtered_out(
    searcher: Searcher, result: SearchResult, args: argparse.Namespace, where: SearchFilter, video: str | None
) -> str:
    """What the filters (a video, cameras, times, region, clothing colours) left out of a search that found
    no one: the hits the same search has without them, said as such, so that "not found" is not
    read as "not in the footage" when it is "not inside the filter" (a hostile review: a photo
    narrowed by a colour the person does not wear said "not found (best score 0.966)"). "" when
    no filter was given or none left out a hit."""
    given = _filters_given(args)
    if not given:
        return ""
    hits = _without_filter(searcher, result, args, where, video)
    if not hits:
        return ""
    best = max(h.score for h in hits)
    return (
        f"the filter ({', '.join(given)}) left out {len(hits)} candidate track(s) scoring up to "
        f"{best:.3f}; run without it to see them"
    )


def better_outside(
    searcher: Searcher,
    result: SearchResult,
    args: argparse.Namespace,
    where: SearchFilter,
    video: str | None,
    hits: Sequence[Hit],
) -> str:
    """A note where the video, cameras, times or region asked left out tracks that score above every
    hit inside them: inside a narrow window the best there may be a look-alike, and it reads as the
    person with nothing to compare it with (a helper's sweep: a window of the first 20 s held one hit,
    another man at 0.792, whom no search without the window lists). "" otherwise."""
    if not (where.active or video) or not hits:
        return ""
    inside, best = {h.track_pk for h in hits}, max(h.score for h in hits)
    outside = [h for h in _without_filter(searcher, result, args, where, video) if h.track_pk not in inside]
    higher = [h.score for h in outside if h.score > best]
    if not higher:
        return ""
    return (
        f"the filter ({', '.join(_filters_given(args))}) left out {len(higher)} track(s) scoring above its "
        f"best hit ({best:.3f}), up to {max(higher):.3f}: the person may be one of those; run without it "
        "to compare"
    )


def _filters_given(args: argparse.Namespace) -> list[str]:
    given = [f"--video {args.video}"] if args.video is not None else []
    given += [f"--camera {c}" for c in dict.fromkeys(args.camera)]
    given += [
        o for o, v in (("--from", args.time_from), ("--to", args.time_to), ("--region", args.region)) if v
    ]
    return given + [f"--{part} {v}" for part, v in (("upper", args.upper), ("lower", args.lower)) if v]


def _without_filter(
    searcher: Searcher, result: SearchResult, args: argparse.Namespace, where: SearchFilter, video: str | None
) -> tuple[Hit, ...]:
    """The hits of the same search without its video, cameras, times and region (the embedding is
    kept)."""
    if where.active or video:
        return searcher.match(result.vector, None, args.threshold, None, None, result.grey_vector).hits
    return result.hits  # only a colour narrowed the hits


def check_reid_model(library: Library, reid_id: str) -> None:
    """A search (or a case's refining) compares the embeddings of one ReID model: refused where the
    library holds none of ``reid_id``'s (its "no hits" would read as "not there"), and the footage
    indexed with another model said."""
    from models.errors import SpotterError

    videos = library.videos()
    done = [v for v in videos if v.status == "done"]
    unfinished = [v for v in videos if v.status != "done"]
    if unfinished:  # its "no hits" must not read as "not in this footage"
        states = ", ".join(f"{n} {s}" for s, n in sorted(Counter(v.state for v in unfinished).items()))
        err(
            f"note: {len(unfinished)} video(s) not fully indexed ({states}): only what was indexed of "
            "them is searched (`videos` lists them; index them again to finish)"
        )
    indexed_with = {v.models[1] for v in done}
    if indexed_with and reid_id not in indexed_with:
        raise SpotterError(
            f"the library was indexed with the ReID model {', '.join(sorted(indexed_with))}, not "
            f"{reid_id}: a search compares only embeddings of one model (use --reid-model "
            "with that model, or index again with this one)"
        )
    others = sorted(indexed_with - {reid_id})
    if others:  # a search compares one model's embeddings: say which footage it cannot see
        count = sum(v.models[1] != reid_id for v in done)
        err(
            f"note: {count} video(s) indexed with the ReID model {', '.join(others)} are not searched "
            f"with {reid_id} (search them with --reid-model, or index them again with "
            f"--force --reid-model {reid_id})"
        )


def cmd_serve(args: argparse.Namespace) -> int:
    """``main.py serve``: answer this library's command-line searches from one warm process until
    Ctrl-C or SIGTERM (see :mod:`pipeline.cli.search_service`)."""
    from pipeline.cli.parser import build_parser
    from pipeline.cli.search_service import SearchService
    from pipeline.search import SearchConfig

    for h in logging.getLogger().handlers:  # the service's own log: no request's debug lines
        h.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
    parse = build_parser("").parse_args
    existing_library(args)  # a mistyped --db is refused, not served empty (checked, not opened)
    service = SearchService(args.db, parse)
    plain = parse(["search", "--db", service.url])  # what a search with no options asks for

    def ready() -> None:  # the library is this service's: load the models, build the index
        service.warm.searcher(service.warm.models(plain), SearchConfig()).warm_up()
        err(
            f"serving searches of {service.warm.library.where} (process {os.getpid()}): `main.py search` "
            "on this library is answered here; Ctrl-C stops"
        )

    def stop(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        service.serve(ready)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    err(f"stopped after {service.served} searches")
    return 0


def without_start_note(videos: int) -> str:
    """The note of a time window that left out videos whose start is unknown."""
    return (
        f"note: {videos} video(s) left out by --from/--to: their start time is unknown (set it with: "
        "videos --set-start VIDEO ISO_TIME)"
    )


def print_description_hits(searcher: Searcher, args: argparse.Namespace, where: SearchFilter) -> int:
    """``search --upper/--lower`` without a photo: the people who best match the colours; the notes of
    a photo search where its filter left videos or people out (a sweep: a window silently left out
    the videos without a start, and one that held nobody printed "0 people")."""
    from pipeline.description import describe

    hits = describe(searcher, args.upper, args.lower, where, max_hits=args.top or 20)
    gone_away(searcher.library, hits)
    if where.start is not None or where.end is not None:
        left = searcher.filter.allowed(where, searcher.library.clocks()).videos_without_start
        if left:
            err(without_start_note(left))
    given = [f for f in _filters_given(args) if not f.startswith(("--upper", "--lower"))]
    if not hits and given:
        err(
            f"note: no hits inside the filter ({', '.join(given)}); "
            "run without it to see who wears the colours"
        )
    if args.json:
        doc = {"query": "", "description": {"upper": args.upper, "lower": args.lower}}
        out(json.dumps(doc | {"hits": [h.to_json() for h in hits]}))
        return 0
    said = ", ".join(f"{k} {v}" for k, v in (("upper", args.upper), ("lower", args.lower)) if v)
    out(f"{len(hits)} people matching {said}, best first:")
    for h in hits:
        seen = clock_label(h.video_start, h.start_s, h.camera)
        out(one_line(f"{h.score:6.3f}  {seen:<34}  {h.track_id:5d}  {h.video_path}"))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pipeline.export import ExportConfig, export_hit

    library = open_library(args)
    config = ExportConfig() if args.margin is None else ExportConfig(margin_s=args.margin)
    clip = export_hit(library, args.hit, args.out, annotate=args.annotate, config=config)
    out(
        f"wrote {clip.path} ({clip.frames} frames, {clip_when(library, args.hit, clip)}) and {clip.thumbnail}"
    )
    return 0


def clip_when(library: Library, hit_id: int, clip: object) -> str:
    """When a clip of a hit was recorded: its camera's clock time where the video's start is known
    (``Entrance, 2026-12-01 14:00:46-14:01:19``), else offsets into the video."""
    offsets = f"{fmt_time(clip.start_s)}-{fmt_time(clip.end_s)}"  # type: ignore[attr-defined]
    found = library.hit(hit_id)
    track = library.tracks([found[1]]).get(found[1]) if found else None
    video = next((v for v in library.videos() if track and v.video_id == track.video_id), None)
    if video is None or video.start_time is None:
        return offsets
    start, end = (clock_at(video.start_time, t) for t in (clip.start_s, clip.end_s))  # type: ignore[attr-defined]
    if start is None or end is None:  # a start typed past the calendar's end (year 9999)
        return offsets
    end = end_second(end)  # to the second that covers the clip's end (0:00.0-0:02.8 read 09:00:00-09:00:02)
    camera = f"{video.camera}, " if video.camera else ""
    return f"{camera}{start:%Y-%m-%d %H:%M:%S}-{end:%H:%M:%S}, {offsets} into the video"
