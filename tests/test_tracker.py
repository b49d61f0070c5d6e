"""ByteTracker on scripted frames: identities, the two association steps, the lost buffer, resume."""

from __future__ import annotations

import json

import numpy as np

from models.detections import Detections
from pipeline.tracking import ByteTracker, TrackerConfig
from pipeline.tracking.kalman import KalmanConfig, KalmanFilter, xyah_to_xyxy, xyxy_to_xyah
from pipeline.tracking.matching import assign, iou_matrix

FPS = 10.0


def dets(*boxes_scores: tuple[tuple[float, float, float, float], float]) -> Detections:
    if not boxes_scores:
        return Detections.empty()
    return Detections(np.array([b for b, _ in boxes_scores]), np.array([s for _, s in boxes_scores]))


def walker(x0: float, y: float = 100.0, w: float = 30.0, h: float = 80.0, vx: float = 4.0):
    """Box of a person walking right at vx pixels per frame."""
    return lambda f: (x0 + vx * f, y, x0 + vx * f + w, y + h)


def ids_by_det(step) -> dict[int, int]:
    return dict(zip(step.det_indices.tolist(), step.track_ids.tolist()))


def test_id_kept_through_low_score_frame() -> None:
    tracker = ByteTracker(TrackerConfig(), FPS)
    person = walker(10)
    first = tracker.update(dets((person(0), 0.9)), 0)
    tid = int(first.track_ids[0])
    for f in range(1, 5):
        tracker.update(dets((person(f), 0.9)), f)
    weak = tracker.update(dets((person(5), 0.3)), 5)  # occluded: only the second association can take it
    assert weak.track_ids.tolist() == [tid]
    back = tracker.update(dets((person(6), 0.9)), 6)
    assert back.track_ids.tolist() == [tid]


def test_low_score_detection_never_starts_a_track() -> None:
    tracker = ByteTracker(TrackerConfig(), FPS)
    step = tracker.update(dets(((0, 0, 30, 80), 0.3)), 0)
    assert len(step.track_ids) == 0 and not tracker.tracks


def test_id_kept_through_missed_frames_within_buffer() -> None:
    cfg = TrackerConfig(lost_buffer_s=1.0)
    tracker = ByteTracker(cfg, FPS)
    person = walker(10)
    tid = int(tracker.update(dets((person(0), 0.9)), 0).track_ids[0])
    for f in range(1, 4):
        tracker.update(dets((person(f), 0.9)), f)
    for f in range(4, 9):  # 5 frames unseen (< 10-frame buffer); the Kalman filter keeps predicting
        assert not tracker.update(Detections.empty(), f).ended
    assert tracker.update(dets((person(9), 0.9)), 9).track_ids.tolist() == [tid]


def test_track_dropped_after_buffer_and_new_id_on_return() -> None:
    cfg = TrackerConfig(lost_buffer_s=0.5)  # 5 frames at 10 fps
    tracker = ByteTracker(cfg, FPS)
    box = (100, 100, 130, 180)
    tid = int(tracker.update(dets((box, 0.9)), 0).track_ids[0])
    tracker.update(dets((box, 0.9)), 1)
    ended = []
    for f in range(2, 9):
        ended += tracker.update(Detections.empty(), f).ended
    assert [e.track_id for e in ended] == [tid]
    assert ended[0].confirmed and ended[0].last_frame == 1
    again = tracker.update(dets((box, 0.9)), 9)
    assert len(again.track_ids) == 1 and int(again.track_ids[0]) != tid


def test_unconfirmed_track_is_dropped_unconfirmed() -> None:
    tracker = ByteTracker(TrackerConfig(), FPS)
    tracker.update(dets(((0, 0, 30, 80), 0.9)), 0)  # first frame: confirmed at once (ByteTrack)
    step = tracker.update(dets(((0, 0, 30, 80), 0.9), ((300, 0, 330, 80), 0.9)), 1)  # a newcomer
    newcomer = [t for t in tracker.tracks if not t.confirmed]
    assert len(newcomer) == 1 and len(step.track_ids) == 2
    step = tracker.update(dets(((0, 0, 30, 80), 0.9)), 2)  # newcomer not seen again: noise
    assert [(e.track_id, e.confirmed) for e in step.ended] == [(newcomer[0].track_id, False)]


def test_two_trackers_never_share_state() -> None:
    a, b = ByteTracker(TrackerConfig(), FPS), ByteTracker(TrackerConfig(), FPS)
    a.update(dets(((0, 0, 30, 80), 0.9), ((100, 0, 130, 80), 0.9)), 0)
    step_b = b.update(dets(((0, 0, 30, 80), 0.9)), 0)
    assert step_b.track_ids.tolist() == [1]  # b numbers from 1 whatever a did
    assert a.next_id == 3 and b.next_id == 2
    assert len(a.tracks) == 2 and len(b.tracks) == 1


def test_detection_indices_follow_the_people_when_order_changes() -> None:
    tracker = ByteTracker(TrackerConfig(), FPS)
    left, right = walker(10), walker(300, vx=-3)
    first = ids_by_det(tracker.update(dets((left(0), 0.9), (right(0), 0.8)), 0))
    for f in range(1, 6):
        order = [(left(f), 0.9), (right(f), 0.8)]
        if f % 2:
            order.reverse()
        step = tracker.update(dets(*order), f)
        by_det = ids_by_det(step)
        left_idx = 0 if f % 2 == 0 else 1
        assert by_det[left_idx] == first[0]
        assert by_det[1 - left_idx] == first[1]


def test_strided_updates_keep_a_fast_walker() -> None:
    """Detector on every 3rd frame: the motion model predicts across the gap."""
    tracker = ByteTracker(TrackerConfig(), FPS)
    person = walker(0, vx=8.0, w=24)  # 24 px wide, moves 24 px between processed frames: no raw overlap
    ids = {int(tracker.update(dets((person(f), 0.9)), f).track_ids[0]) for f in (0, 1, 2)}
    for f in range(5, 60, 3):
        step = tracker.update(dets((person(f), 0.9)), f)
        ids.add(int(step.track_ids[0]))
    assert len(ids) == 1


def test_state_dict_roundtrip_resumes_identically() -> None:
    people = [walker(10), walker(200, vx=-2), walker(400, y=50, vx=-5)]

    def frame(f: int) -> Detections:
        rows = [(p(f), 0.9 - 0.1 * i) for i, p in enumerate(people) if (f + i) % 7]
        return dets(*rows)

    straight = ByteTracker(TrackerConfig(), FPS)
    for f in range(0, 40, 2):
        straight.update(frame(f), f)
    reference = [straight.update(frame(f), f) for f in range(40, 80, 2)]

    first = ByteTracker(TrackerConfig(), FPS)
    for f in range(0, 40, 2):
        first.update(frame(f), f)
    state = json.loads(json.dumps(first.state_dict()))  # as stored in the database
    resumed = ByteTracker(TrackerConfig(), FPS)
    resumed.load_state_dict(state)
    for ref, f in zip(reference, range(40, 80, 2)):
        step = resumed.update(frame(f), f)
        assert step.track_ids.tolist() == ref.track_ids.tolist()
        assert step.det_indices.tolist() == ref.det_indices.tolist()
        assert [e.track_id for e in step.ended] == [e.track_id for e in ref.ended]


def test_finish_ends_every_track() -> None:
    tracker = ByteTracker(TrackerConfig(), FPS)
    tracker.update(dets(((0, 0, 30, 80), 0.9), ((100, 0, 130, 80), 0.9)), 0)
    ended = tracker.finish()
    assert sorted(e.track_id for e in ended) == [1, 2] and not tracker.tracks


def test_kalman_predicts_dt_frames_ahead() -> None:
    kf = KalmanFilter()
    box = np.array([100.0, 100.0, 130.0, 180.0])
    mean, cov = kf.initiate(xyxy_to_xyah(box)[0])
    for k in range(1, 6):  # constant velocity of 5 px/frame in x
        mean, cov = kf.predict(mean[None], cov[None], np.array([1.0]))
        mean, cov = mean[0], cov[0]
        mean, cov = kf.update(mean, cov, xyxy_to_xyah(box + np.array([5 * k, 0, 5 * k, 0]))[0])
    ahead, _ = kf.predict(mean[None], cov[None], np.array([4.0]))
    predicted = xyah_to_xyxy(ahead[0, :4])[0]
    assert abs(predicted[0] - (box[0] + 5 * 9)) < 4.0  # four frames beyond the last (x = 125)


def test_kalman_learns_a_walk_at_one_frame_per_second() -> None:
    """Velocity noise is per second, not per frame: at 1 fps a walker (0.8 heights a second) is
    predicted within a tenth of a height from the second sighting on, as at 10-30 fps; with the
    per-frame noise of 30 fps footage the filter still put them most of a walk behind (0.74 h)."""

    def errors(config: KalmanConfig, fps: float) -> list[float]:
        kf, step = KalmanFilter(config, fps), 0.8 * 100 / fps
        mean, cov = kf.initiate(np.array([0.0, 0.0, 0.4, 100.0]))
        out = []
        for k in range(1, 5):
            mean, cov = kf.predict(mean[None], cov[None], np.array([1.0]))
            out.append(abs(mean[0, 0] - step * k) / 100)
            mean, cov = kf.update(mean[0], cov[0], np.array([step * k, 0.0, 0.4, 100.0]))
        return out

    assert max(errors(KalmanConfig(), 1.0)[1:]) < 0.1
    assert errors(KalmanConfig(reference_fps=0.0), 1.0)[1] > 0.5  # the old per-frame noise
    assert KalmanFilter(KalmanConfig(), 30.0).velocity_scale == 1.0  # 30 fps and faster: unchanged
    assert KalmanFilter(KalmanConfig(), 60.0).velocity_scale == 1.0


def test_iou_and_assignment() -> None:
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
    b = np.array([[20, 20, 30, 30], [0, 0, 10, 5], [100, 100, 110, 110]])
    iou = iou_matrix(a, b)
    assert np.allclose(iou, [[0, 0.5, 0], [1, 0, 0]])
    matches, um_rows, um_cols = assign(1 - iou, 0.6)
    assert sorted(matches) == [(0, 1), (1, 0)] and um_rows == [] and um_cols == [2]
    matches, _, _ = assign(1 - iou, 0.4)  # the 0.5-IoU pair no longer qualifies
    assert matches == [(1, 0)]


def test_needs_attention_only_in_difficult_scenes() -> None:
    tracker = ByteTracker(TrackerConfig(lost_buffer_s=5.0), FPS)
    alone = walker(100)
    tracker.update(dets((alone(0), 0.9)), 0)
    tracker.update(dets((alone(1), 0.9)), 1)
    assert not tracker.needs_attention()  # one person walking in the open
    tracker.update(dets((alone(2), 0.9), ((500, 100, 530, 180), 0.9)), 2)
    assert tracker.needs_attention()  # a newcomer, not yet confirmed
    tracker.update(dets((alone(3), 0.9), ((500, 100, 530, 180), 0.9)), 3)
    assert not tracker.needs_attention()  # two confirmed people far apart
    tracker.update(dets((alone(4), 0.9), ((125, 100, 155, 180), 0.9)), 4)
    tracker.update(dets((alone(5), 0.9), ((125, 100, 155, 180), 0.9)), 5)
    assert tracker.needs_attention()  # overlapping: identities could be swapped
    tracker.update(dets((alone(6), 0.9), ((125, 100, 155, 180), 0.3)), 6)
    occluded = ByteTracker(TrackerConfig(lost_buffer_s=5.0), FPS)
    occluded.update(dets(((300, 100, 330, 180), 0.9)), 0)
    occluded.update(dets(((300, 100, 330, 180), 0.9)), 1)
    occluded.update(dets(((300, 100, 330, 180), 0.3)), 2)
    assert occluded.needs_attention()  # only a weak detection: being occluded
    occluded.update(Detections.empty(), 3)
    assert not occluded.needs_attention()  # fully hidden: looking more often does not help


# ----- appearance-assisted matching and low frame rates ------------------------------------------


def looks(*vectors: np.ndarray) -> np.ndarray:
    out = np.array(vectors, dtype=np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


A, B = np.eye(8)[0], np.eye(8)[1]  # two people who look nothing alike


def test_one_frame_per_second_walker_keeps_one_track_with_appearance() -> None:
    """At 1 fps a walker moves most of a box height between frames: box overlap loses them, the walk
    gate (scaled by the time since last seen) with their appearance keeps them."""
    fps = 1.0
    person = walker(10, vx=50.0)  # 50 px per frame = 0.6 heights per second, boxes never overlap
    with_looks = ByteTracker(TrackerConfig(), fps)
    ids = {int(with_looks.update(dets((person(f), 0.9)), f, looks(A)).track_ids[0]) for f in range(6)}
    assert len(ids) == 1
    boxes_only = ByteTracker(TrackerConfig(), fps)
    ids = set()
    for f in range(6):
        ids |= set(boxes_only.update(dets((person(f), 0.9)), f).track_ids.tolist())
    assert len(ids) > 1  # what the appearance fixes


def test_crossing_people_keep_their_identities_with_appearance() -> None:
    """Two people walking towards each other and past: by motion alone the tracker may swap them
    when their boxes meet; their appearance keeps them apart."""
    tracker = ByteTracker(TrackerConfig(), 2.0)  # 2 fps
    left, right = walker(0, vx=40.0), walker(400, vx=-40.0)
    first = tracker.update(dets((left(0), 0.9), (right(0), 0.9)), 0, looks(A, B))
    ids = ids_by_det(first)
    for f in range(1, 10):
        step = tracker.update(dets((left(f), 0.9), (right(f), 0.9)), f, looks(A, B))
        assert ids_by_det(step) == ids, f"identities swapped at frame {f}"


def test_a_single_sighting_is_a_track_at_low_frame_rates() -> None:
    tracker = ByteTracker(TrackerConfig(), 1.0)
    tracker.update(Detections.empty(), 0)
    seen = tracker.update(dets(((10, 10, 40, 90), 0.9)), 1)
    assert len(seen.track_ids) == 1
    (ended,) = tracker.finish()
    assert ended.confirmed  # at 10 fps the same sighting would be an unconfirmed, dropped track
    fast = ByteTracker(TrackerConfig(), FPS)
    fast.update(Detections.empty(), 0)
    fast.update(dets(((10, 10, 40, 90), 0.9)), 1)
    assert not fast.finish()[0].confirmed


def test_appearance_is_wanted_only_where_a_match_is_ambiguous() -> None:
    tracker = ByteTracker(TrackerConfig(), FPS)
    alone, pair_a, pair_b = walker(10), walker(300), walker(330)
    d0 = dets((alone(0), 0.9), (pair_a(0), 0.9), (pair_b(0), 0.9))
    assert tracker.wants_appearance(d0, 0).all()  # nobody followed yet: everyone needs a look
    tracker.update(d0, 0, looks(A, B, np.eye(8)[2]))
    d1 = dets((alone(1), 0.9), (pair_a(1), 0.9), (pair_b(1), 0.9))
    assert tracker.wants_appearance(d1, 1).tolist() == [False, True, True]
    later = int(FPS * TrackerConfig().refresh_s) + 1  # the lone walker's look is stale by then
    assert tracker.wants_appearance(dets((alone(later), 0.9)), later).tolist() == [True]


def test_missing_appearance_rows_fall_back_to_motion() -> None:
    tracker = ByteTracker(TrackerConfig(), FPS)
    person = walker(10)
    tid = int(tracker.update(dets((person(0), 0.9)), 0, looks(A)).track_ids[0])
    nan = np.full((1, 8), np.nan, np.float32)
    for f in range(1, 4):
        assert tracker.update(dets((person(f), 0.9)), f, nan).track_ids.tolist() == [tid]


def test_appearance_state_survives_a_checkpoint() -> None:
    tracker = ByteTracker(TrackerConfig(), 1.0)
    person = walker(10, vx=50.0)
    for f in range(3):
        tracker.update(dets((person(f), 0.9)), f, looks(A))
    copy = ByteTracker(TrackerConfig(), 1.0)
    copy.load_state_dict(json.loads(json.dumps(tracker.state_dict())))
    a = tracker.update(dets((person(3), 0.9)), 3, looks(A))
    b = copy.update(dets((person(3), 0.9)), 3, looks(A))
    assert a.track_ids.tolist() == b.track_ids.tolist()
    assert np.allclose(tracker.tracks[0].feature, copy.tracks[0].feature)


def test_lost_buffer_is_exact_to_the_frame() -> None:
    """Last seen at frame 1 with a 5-frame buffer: still waiting at frame 6, ended at frame 7."""
    tracker = ByteTracker(TrackerConfig(lost_buffer_s=0.5), FPS)
    box = (100, 100, 130, 180)
    tracker.update(dets((box, 0.9)), 0)
    tracker.update(dets((box, 0.9)), 1)
    for f in range(2, 7):
        assert not tracker.update(Detections.empty(), f).ended, f
    assert tracker.update(Detections.empty(), 7).ended


def test_someone_who_looks_different_does_not_take_a_lost_track() -> None:
    """A person leaves; someone else appears where the first was heading, within the walk gate: with
    appearance they get a new track instead of the first person's identity."""
    tracker = ByteTracker(TrackerConfig(), 1.0)
    first = walker(10, vx=40.0)
    tid = int(tracker.update(dets((first(0), 0.9)), 0, looks(A)).track_ids[0])
    tracker.update(dets((first(1), 0.9)), 1, looks(A))
    stranger = tracker.update(dets((first(2), 0.9)), 2, looks(B))
    assert stranger.track_ids.tolist() != [tid]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def look_alike_takes_over(height: float) -> bool:
    """At 1 fps, in a crowd of five people who look alike to each other (0.75) and stand still,
    someone walks (a look of their own); then a look-alike of them (0.72) stands where they were going.
    Whether the look-alike takes the walker's track."""
    e = np.eye(16)
    crowd = [unit(0.87 * e[0] + 0.5 * e[k]) for k in range(1, 6)]  # 0.75 between any two of them
    tracker = ByteTracker(TrackerConfig(), 1.0)
    w = height * 0.4
    standing = [(2000 + 4 * h_ * height, 50, 2000 + 4 * h_ * height + w, 50 + height) for h_ in range(5)]
    me = walker(0, y=50, w=w, h=height, vx=0.5 * height)
    frames = TrackerConfig().distinct_min_pairs // 10 + 2  # ten pairs a frame
    for f in range(frames):
        step = tracker.update(dets(*[(b, 0.9) for b in [*standing, me(f)]]), f, looks(*crowd, e[6]))
    walker_id = ids_by_det(step)[5]
    alike = unit(0.72 * e[6] + np.sqrt(1 - 0.72**2) * e[7])
    step = tracker.update(dets(*[(b, 0.9) for b in [*standing, me(frames)]]), frames, looks(*crowd, alike))
    return ids_by_det(step)[5] == walker_id


def test_where_people_look_alike_a_look_alike_does_not_walk_on_with_a_track() -> None:
    """People seen in full detail must look more alike than 99 % of the pairs of people seen together
    in this video: here 0.75, so a 0.72 look-alike starts a track of their own (the floor, 0.65, would
    have let them take over: at 1-2 fps the tracks of people hidden in a group did). People too small
    for the ReID model to see in detail keep the floor: their own sightings are less alike."""
    assert TrackerConfig().detail_height <= 300
    assert not look_alike_takes_over(300.0)
    assert look_alike_takes_over(60.0)


def test_the_crowds_similarities_survive_a_checkpoint() -> None:
    from pipeline.tracking.distinct import DistinctPeople

    people = DistinctPeople()
    vectors = looks(*[unit(0.87 * np.eye(8)[0] + 0.5 * np.eye(8)[k]) for k in range(1, 6)])
    for _ in range(25):
        people.observe(vectors, np.ones(5, bool))
    assert people.pairs == 250
    assert 0.75 <= people.gate(0.65, 0.99, 200, 0.8) <= 0.77
    assert people.gate(0.65, 0.99, 300, 0.8) == 0.65  # too few pairs yet: the floor
    assert people.gate(0.65, 0.99, 200, 0.7) == 0.7  # never above the cap
    copy = DistinctPeople()
    copy.load_state_dict(json.loads(json.dumps(people.state_dict())))
    assert np.array_equal(copy.counts, people.counts)
    weak = np.array([True, True, False, False, False])  # a weak box may be a second box on someone
    fresh = DistinctPeople()
    fresh.observe(vectors, weak)
    assert fresh.pairs == 1
