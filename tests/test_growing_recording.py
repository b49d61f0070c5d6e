"""A recording indexed while it was still being written (an MPEG-TS a recorder appends to, copied off
before it closed) is the same recording once complete: indexed again whole, its review marks kept on
the tracks that agree. A sweep indexed such a file cut at 60 % of its bytes, confirmed a person, and
lost the mark when the file was complete ("file changed: ... the review mark(s) are dropped")."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.sequences import frames_of, write_video
from pipeline.indexer import index_video
from pipeline.source_check import verify_source
from pipeline.storage import Library
from pipeline.types import Stage
from tests.conftest import pets


def _as_ts(source: Path, out: Path) -> None:
    import av

    with av.open(str(source)) as src, av.open(str(out), "w", format="mpegts") as dst:
        s = src.streams.video[0]
        o = dst.add_stream_from_template(s)
        for packet in src.demux(s):
            if packet.dts is not None:
                packet.stream = o
                dst.mux(packet)


def test_a_recording_that_grew_keeps_its_review_marks(tmp_path: Path, models) -> None:
    clip, whole = tmp_path / "clip.mp4", tmp_path / "whole.ts"
    write_video(clip, (f for k, f in enumerate(frames_of(pets().video)) if k < 300), 10.0)  # 30 s
    _as_ts(clip, whole)
    data = whole.read_bytes()
    video = tmp_path / "Gate_20261203_080000.ts"
    video.write_bytes(data[: (len(data) * 6 // 10) // 188 * 188])  # still being written: 60 %
    library = Library(tmp_path / "lib.db")
    assert list(index_video(video, library, models))[-1].stage == Stage.DONE
    video_id = library.video_id(video)
    first = library.video_tracks(video_id)
    marked = max(first, key=lambda t: t.last_frame - t.first_frame)  # someone seen a long while
    library.create_case("gate", [])
    library.mark("gate", marked.pk, "confirmed")
    shutil.copy(whole, video)  # the recording, complete: the same bytes and more after them
    assert verify_source(library, video_id) == str(video)  # its evidence is cut before it is indexed again
    events = list(index_video(video, library, models))
    assert events[-1].stage == Stage.DONE
    said = " ".join(e.reason for e in events if e.reason) + " ".join(e.message for e in events if e.message)
    assert "file grew by" in said and "indexed again whole" in said and "dropped" not in said, said
    (kept,) = library.case("gate").marks
    track = next(t for t in library.video_tracks(video_id) if t.pk == kept.track_pk)
    assert kept.verdict == "confirmed" and track.first_frame <= marked.last_frame
    assert track.last_frame >= marked.last_frame  # the same person, followed into the added part
    shutil.copy(
        clip, video
    )  # another recording at the path (the same people, not these bytes): its marks go, and it is said
    said = " ".join(e.reason for e in index_video(video, library, models) if e.reason)
    assert "file changed" in said and library.case("gate").marks == (), said
    library.close()


def test_the_content_indexed_is_the_bytes_probed(tmp_path: Path) -> None:
    """A recording still being written grows between probing it and hashing it (seconds per GB): the
    content was the whole file by then, and a later "only grew" check of the probed size never
    matched it, so its marks were dropped after all (a review)."""
    import hashlib

    from pipeline.video import content_sha256, only_appended, probe

    video = tmp_path / "live.ts"
    _as_ts(pets().video, video)
    info = probe(video)
    data = video.read_bytes()
    with open(video, "ab") as f:
        f.write(data[: 188 * 2000])  # the recorder wrote on meanwhile
    indexed = content_sha256(info)
    assert indexed == hashlib.sha256(data[: info.size]).hexdigest()
    assert only_appended(probe(video), info.size, indexed)


def test_a_marked_hash_gives_every_prefix_hash_of_the_file(tmp_path: Path) -> None:
    import hashlib
    import os

    from models.weights import sha256_marked, sha256_of

    data = os.urandom(3500)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    marked = sha256_marked(path, every=1000, chunk=256)  # marks that fall inside a read
    assert marked.hexdigest == sha256_of(path) == hashlib.sha256(data).hexdigest()
    assert len(marked.states) == 4  # after 0, 1000, 2000 and 3000 bytes
    for n in (0, 1, 999, 1000, 1001, 2999, 3000, 3499, 3500):
        assert marked.prefix(n) == hashlib.sha256(data[:n]).hexdigest(), n
    limited = sha256_marked(path, limit=2100, every=1000)
    assert limited.hexdigest == hashlib.sha256(data[:2100]).hexdigest() and len(limited.states) == 3


def test_a_recording_that_grew_is_read_once_to_recognise_it(tmp_path: Path, monkeypatch) -> None:
    """Its whole hash and the hash of the bytes indexed come from one read (it was read whole, then
    its first bytes again: a 10 GB recording on a share read twice)."""
    import io
    import os

    import models.weights
    from models.weights import sha256_of
    from pipeline.index_run import content_checks
    from pipeline.video import probe

    clip = tmp_path / "clip.ts"
    write_video(tmp_path / "c.mp4", (f for k, f in enumerate(frames_of(pets().video)) if k < 40), 10.0)
    _as_ts(tmp_path / "c.mp4", clip)
    size = clip.stat().st_size
    indexed = sha256_of(clip)
    with open(clip, "ab") as f:  # the recorder wrote on
        f.write(os.urandom(size // 188 * 188))
    grown, whole = clip.stat().st_size, sha256_of(clip)
    mark = 1 << 16
    monkeypatch.setattr(models.weights, "PREFIX_MARK_BYTES", mark)
    read = [0]

    class Counted(io.FileIO):
        def read(self, n: int = -1) -> bytes:
            block = super().read(n)
            read[0] += len(block)
            return block

    monkeypatch.setattr(models.weights, "open", lambda p, mode="rb": Counted(p, "r"), raising=False)
    content, _, appended = content_checks(probe(clip))
    assert content() == whole and appended(size, indexed)
    assert grown <= read[0] <= grown + mark, (read[0], grown, size)  # the file once (and a mark's rest)
