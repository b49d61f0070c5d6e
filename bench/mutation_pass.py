"""A small mutation pass: deliberate bugs in the core modules, and whether the tests catch each.

Each mutant is one source edit applied to a copy of the checkout (the working tree is never touched);
the tests named for it run there, and the mutant is *killed* when they fail. A surviving mutant is a
gap in the tests.

    python -m bench.mutation_pass [--only NAME...] [--list]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTANTS = (
    # the ones an earlier audit found surviving (test files to run follow each edit)
    Mutant("best-crop re-scoring off", "pipeline/search.py", 'score_by: str = "crops"', 'score_by: str = "track"',
           ("tests/test_e2e.py::test_every_person_is_found",)),
    Mutant("track embedding not normalised", "pipeline/appearance.py",
           "mean /= max(float(np.linalg.norm(mean)), 1e-12)", "mean *= 1.0", ("tests/test_indexing.py",)),
    Mutant("fragment linking skipped", "pipeline/indexer.py",
           "        link_video(library, decision.video_id, models.reid_id, config.linking)\n", "",
           ("tests/test_indexing.py",)),
    Mutant("box drawn without --annotate", "pipeline/export.py", "                    if annotate:",
           "                    if True:", ("tests/test_export.py",)),
    Mutant("re-ranked order misaligned", "pipeline/search.py",
           "rr = dict(zip(pks.tolist(), self.rerank(vec, pks).tolist()))",
           "rr = dict(zip(pks.tolist(), self.rerank(vec, pks).tolist()[::-1]))", ("tests/test_search.py",)),
    Mutant("lost-track buffer off by one", "pipeline/tracking/byte_tracker.py",
           "frame_index - t.last_frame > self.buffer_frames", "frame_index - t.last_frame >= self.buffer_frames",
           ("tests/test_tracker.py",)),
    Mutant("checkpoints not written", "pipeline/indexer.py",
           'state = run.checkpoint(next_at) | {"stride": reader.stride, "seek": reader.seek_table}',
           "state = None", ("tests/test_indexing.py",)),
    # this session's own code
    Mutant("calibration ignored", "pipeline/search_config.py", "    calibrate: bool = True", "    calibrate: bool = False",
           ("tests/test_search.py", "tests/test_e2e.py::test_people_from_other_footage_get_no_hits")),
    Mutant("margin over the whole library", "pipeline/search_config.py", '    margin_over: str = "video"',
           '    margin_over: str = "library"', ("tests/test_search.py",)),
    Mutant("equal-error point one-sided", "pipeline/calibration.py",
           "k = int(np.argmin(np.abs(below - above)))", "k = int(np.argmin(np.abs(below)))",
           ("tests/test_calibration.py",)),
    Mutant("touching pairs counted as different people", "pipeline/calibration.py",
           "if a.person == t.person or boxes_touch(a, t):", "if a.person == t.person:", ("tests/test_calibration.py",)),
    Mutant("close looks never run", "pipeline/detection_plan.py",
           "self.active = detector.dynamic and self.close_scale > self.base_scale * 1.05", "self.active = False",
           ("tests/test_detection_plan.py",)),
    Mutant("close looks keep big people too", "pipeline/detection_plan.py",
           "keep = whole & (d.height * self.base_scale < self._tall_px)",
           "keep = whole", ("tests/test_detection_plan.py", "tests/test_e2e.py::test_low_frame_rates_snapshots_and_small_people_in_hd")),
    Mutant("appearance gate off", "pipeline/tracking/byte_tracker.py", "bad |= cos < cfg.min_appearance",
           "bad |= cos < -2", ("tests/test_tracker.py",)),
    Mutant("walk gate ignores time", "pipeline/tracking/byte_tracker.py",
           "reach = (cfg.walk_speed * walk * unseen_s)[:, None] + cfg.low_rate_slack",
           "reach = (cfg.walk_speed * walk * 0 * unseen_s)[:, None] + cfg.low_rate_slack", ("tests/test_tracker.py",)),
    Mutant("one sighting never a track", "pipeline/tracking/byte_tracker.py",
           "cfg.confirm_hits <= 1 or low or emb is not None", "cfg.confirm_hits <= 1 or emb is not None",
           ("tests/test_tracker.py",)),
    Mutant("night footage compared with the colour photo", "pipeline/search.py", "    like_with_like: bool = True",
           "    like_with_like: bool = False", ("tests/test_night_footage.py",)),
    Mutant("seek table ignored", "pipeline/decoding.py", "point = self._seek_point() if self.origin_pts is not None else None",
           "point = None", ("tests/test_decoding.py",)),
    Mutant("video lock always granted", "pipeline/storage/video_lock.py",
           "self.acquired = _try_lock(self._fd, self.offset)", "self.acquired = True",
           ("tests/test_bad_input.py::test_two_indexers_of_one_video_do_not_collide",)),
    Mutant("foreign databases accepted", "pipeline/storage/base.py", "    if tables and not ours:",
           "    if False:", ("tests/test_bad_input.py::test_another_applications_database_is_refused_untouched",)),
    Mutant("hit ids reused", "pipeline/storage/searches.py", "highest = max(int(mark.value) if mark else 0,",
           "highest = max(0,", ("tests/test_bad_input.py::test_hit_ids_are_never_reused",)),
    Mutant("changed content taken as the same file", "pipeline/storage/library.py",
           "same_file = quick or (row is not None and bool(digest) and digest == row.content_sha256)",
           "same_file = row is not None", ("tests/test_bad_input.py",)),
    Mutant("snapshots in name order", "pipeline/image_sequence.py", "files.sort(key=lambda f: (stamps[f], f.name))",
           "files.sort(key=lambda f: f.name)", ("tests/test_image_sequence.py",)),
    Mutant("no second try for tight crops", "pipeline/query.py", "    h, w = image.shape[:2]\n    zoom =",
           "    return Detections.empty()\n    h, w = image.shape[:2]\n    zoom =", ("tests/test_search.py",)),
    Mutant("declared frame rate trusted", "pipeline/decoding.py",
           "        if declared and abs(measured - declared) > FPS_TOLERANCE * measured:", "        if False:",
           ("tests/test_decoding.py",)),
    Mutant("linking windows too short", "pipeline/linking.py",
           "candidate_pairs(tracks, math.floor(config.max_gap_s * fps))",
           "candidate_pairs(tracks, math.floor(config.max_gap_s * fps) // 2)", ("tests/test_linking.py",)),
    # cameras, clock times and filters
    Mutant("filter after the candidates", "pipeline/search.py",
           "cfg.candidates, inside)", "cfg.candidates)", ("tests/test_cameras.py",)),
    Mutant("narrow IVF filter not widened", "pipeline/search_index.py",
           "nprobe=int(min(nlist, max(nprobe, widened)))", "nprobe=nprobe", ("tests/test_cameras.py",)),
    Mutant("indexing overwrites the operator's camera", "pipeline/storage/clock.py",
           "if row.camera_source != OPERATOR:", "if True:", ("tests/test_cameras.py",)),
    Mutant("time window ignores the video's start", "pipeline/search_filter.py",
           "keep &= t.end_s[rows] >= (where.start - start).total_seconds()",
           "keep &= t.end_s[rows] >= (start - where.start).total_seconds()",
           ("tests/test_cameras.py",)),
    Mutant("region shows a person's fragments outside it", "pipeline/search.py",
           "and (where.region is None or enters(t.path, where.region))", "", ("tests/test_cameras.py",)),
    Mutant("region margin taken before the boxes are checked", "pipeline/search.py",
           "keep = [i for i in keep if int(pks[i]) in paths and enters(paths[int(pks[i])].path, where.region)]",
           "keep = keep", ("tests/test_cameras.py",)),
    Mutant("filter rows of another video", "pipeline/search_filter.py",
           "return slice(int(self.bounds[k]), int(self.bounds[k + 1]))",
           "return slice(int(self.bounds[k]), int(self.bounds[k + 1]) + 1)", ("tests/test_cameras.py",)),
    Mutant("calibration pairs every live track", "pipeline/calibration.py",
           "for a, v in active[-rivals:]:", "for a, v in active:", ("tests/test_calibration.py",)),
    # training and adapting the ReID model
    Mutant("BatchNorm trains on PK batches", "models/reid_training/convert.py", "            m.eval()", "            pass",
           ("tests/test_reid_training.py::test_conversion_matches_the_onnx_model_on_real_crops",)),
    Mutant("triplet takes the easiest positive", "models/reid_training/losses.py",
           "d_ap = torch.where(pos, dist, torch.zeros_like(dist)).max(1).values",
           "d_ap = torch.where(pos, dist, torch.full_like(dist, 9.0)).min(1).values",
           ("tests/test_reid_training.py::test_batch_hard_triplet_loss",)),
    Mutant("last epoch kept, not the best", "models/reid_training/loop.py",
           "best = score >= self.best_score", "best = True",
           ("tests/test_reid_training.py::test_the_best_epoch_is_kept_even_when_it_is_the_start",)),
    Mutant("no distillation", "models/reid_training/loop.py",
           "loss = loss + c.distill_weight * drift", "loss = loss",
           ("tests/test_reid_training.py::test_distillation_keeps_the_embedding_near_the_starting_model",)),
    Mutant("people seen together merged", "pipeline/reid_training/library_set.py",
           " and not co_occur(cands[i], cands[j])", "",
           ("tests/test_adaptation.py::test_confident_merges_never_join_people_seen_together",)),
    Mutant("old embeddings deleted before the switch", "pipeline/storage/model_switch.py",
           "delete(EmbeddingRow).where(EmbeddingRow.model == model,", "delete(EmbeddingRow).where(EmbeddingRow.model != model,",
           ("tests/test_adaptation.py::test_reembed_killed_half_way_keeps_the_old_model_then_resumes_and_switches",)),
    Mutant("re-embedding never resumes", "pipeline/reid_training/reembed.py",
           "if count and library.embedded_tracks(v.video_id, model_id) == count:", "if False:",
           ("tests/test_adaptation.py::test_reembed_killed_half_way_keeps_the_old_model_then_resumes_and_switches",)),
    # shared libraries and Ray (issue 10)
    Mutant("server video lock per process", "pipeline/storage/base.py",
           'AdvisoryLock(self.engine, f"video:{video}", wait=False)', 'AdvisoryLock(self.engine, f"video:{video}:{id(self)}", wait=False)',
           ("tests/test_shared_library.py::test_two_indexers_on_one_server_library_lose_and_duplicate_nothing",)),
    Mutant("schema never upgraded", "pipeline/storage/migrate.py",
           "        if revision != HEAD:\n", "        if False:\n",
           ("tests/test_shared_library.py", "tests/test_cameras.py::test_an_older_library_gets_cameras_and_starts_from_its_paths")),
    Mutant("dead worker's video not retried", "pipeline/distributed/ray_index.py",
           "MAX_ATTEMPTS = 3", "MAX_ATTEMPTS = 1", ("tests/test_ray_index.py::test_a_ray_job_gives_the_library_of_one_by_one",)),
    Mutant("stitching joins any pair", "pipeline/distributed/stitch.py",
           "if score[r, c] > 0}", "if True}", ("tests/test_ray_index.py::test_stitching_joins_a_walk_across_the_boundary_and_nothing_else",)),
    Mutant("segments without warm-up", "pipeline/distributed/stitch.py",
           "overlap_s: float = 3.0", "overlap_s: float = 0.0",
           ("tests/test_ray_index.py::test_stitching_joins_a_walk_across_the_boundary_and_nothing_else",)),
    Mutant("compressed scores reported", "pipeline/search_index.py",
           "            pks, found = self._exact(q[0], pks, floor, wanted)\n", "",
           ("tests/test_search_index.py::test_a_compressed_index_reports_exact_scores",)),
    Mutant("velocity noise per frame at any rate", "pipeline/tracking/kalman.py",
           "m = s * self.velocity_scale", "m = s",
           ("tests/test_tracker.py::test_kalman_learns_a_walk_at_one_frame_per_second",)),
    Mutant("narrow filter walks the nearest lists", "pipeline/search_index.py",
           "        if holding is None or len(holding) >= widened:\n",
           "        if True:\n",
           ("tests/test_search_index.py::test_a_narrow_filter_scans_only_the_lists_that_hold_its_tracks",)),
    Mutant("key-list map never follows additions", "pipeline/search_index.py",
           "        if int(sizes.sum()) != index.ntotal:\n", "        if not sizes.any():\n",
           ("tests/test_search_index.py::test_a_narrow_filter_scans_only_the_lists_that_hold_its_tracks",)),
    Mutant("filter never widens", "pipeline/search_index.py",
           "math.ceil(nlist * k / len(allowed))", "nprobe",
           ("tests/test_cameras.py::test_a_narrow_filter_on_an_ivf_index_finds_its_exact_best",
            "tests/test_search_index.py::test_a_narrow_filter_scans_only_the_lists_that_hold_its_tracks")),
    Mutant("service ignores the caller's environment", "pipeline/cli/search_service.py",
           "if env is not None and env != self.environment:", "if False:", ("tests/test_search_service.py",)),
    Mutant("service works in its own folder", "pipeline/cli/search_service.py",
           "            os.chdir(cwd)  # relative paths are the caller's", "            pass",
           ("tests/test_search_service.py",)),
    Mutant("service of other code asked", "pipeline/cli/search_service.py", "    if not same_code:",
           "    if False:", ("tests/test_search_service.py",)),
    Mutant("service takes anyone", "pipeline/cli/search_service.py",
           "if not hmac.compare_digest(said[:32], proof(key, b\"client\", challenge)):", "if False:",
           ("tests/test_search_service.py",)),
    Mutant("runtime folder trusted whoever owns it", "pipeline/cli/service_channel.py",
           "st.st_uid != os.getuid() or st.st_mode & 0o077", "False", ("tests/test_search_service.py",)),
)  # fmt: skip


def run_mutant(m: Mutant, python: str) -> tuple[str, float]:
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        copy = Path(tmp) / "spotter"
        (Path(tmp) / "shared").symlink_to(ROOT.parent / "shared")  # the assets and tools beside it
        shutil.copytree(
            ROOT, copy, ignore=shutil.ignore_patterns(".venv", "out", ".git", "__pycache__", "*.db*")
        )
        target = copy / m.path
        source = target.read_text()
        if m.old not in source:
            return "NOT APPLIED (source changed)", 0.0
        target.write_text(source.replace(m.old, m.new, 1))
        t0 = time.perf_counter()
        p = subprocess.run(
            [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *m.tests],
            cwd=copy,
            capture_output=True,
            text=True,
        )
        return ("killed" if p.returncode != 0 else "SURVIVED"), time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", default=None, help="mutant names (substrings)")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    chosen = [m for m in MUTANTS if a.only is None or any(s in m.name for s in a.only)]
    print("| mutant | module | tests run | result |")
    print("| --- | --- | --- | --- |")
    for m in chosen:
        result, secs = ("-", 0.0) if a.list else run_mutant(m, sys.executable)
        tests = ", ".join(t.removeprefix("tests/") for t in m.tests)
        print(f"| {m.name} | {m.path} | {tests} | {result} ({secs:.0f} s) |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
