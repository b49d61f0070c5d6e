"""Database schema (SQLAlchemy 2.0 typed models) and engine setup (SQLite, WAL, foreign keys)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Engine,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    create_engine,
    event,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

BOX_COLUMNS = ("box_x1", "box_y1", "box_x2", "box_y2")  # tracks: the union of the track's boxes

# 2: tracks.person (fragments of one person linked after indexing)
# 3: videos.seek_json (key frames), report_json (what indexing did), content_sha256, aliases_json;
#    calibration
# 4: videos.camera, camera_source, start_time, start_source (cameras and clock times);
#    tracks.box_x1, box_y1, box_x2, box_y2 (the union of a track's boxes, for region filters);
#    cases, case_photos, case_marks (an operator's review of a search); tracks.colours (clothing)
# 5: from here on, Alembic revisions (pipeline/storage/migrations) version the schema; this number
#    only tells an older Spotter that the library is newer than it
SCHEMA_VERSION = 5
BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another process's write lock
CONNECT_TIMEOUT_S = 10  # how long opening a server library waits for the server to answer
WRITE = "spotter_write"  # execution option of a write transaction: on SQLite, BEGIN IMMEDIATE
SQLITE_PAGE_SIZE = 16384  # bytes per page of a new SQLite library (see make_engine)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class VideoRow(Base):
    """One video file in the library and how far its indexing got."""

    __tablename__ = "videos"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String, unique=True)
    size: Mapped[int] = mapped_column(BigInteger)  # bytes: more than 2 GiB for a long 4K file
    mtime: Mapped[float]
    fingerprint: Mapped[str] = mapped_column(String(64))  # cheap: size, ends and sampled blocks
    content_sha256: Mapped[str] = mapped_column(String(64), default="")  # the whole file's
    aliases_json: Mapped[str] = mapped_column(default="[]")  # other paths with the same content
    fps: Mapped[float]
    frame_count: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    duration_s: Mapped[float]
    status: Mapped[str] = mapped_column(String(16))  # indexing | partial | done | failed
    frames_done: Mapped[int] = mapped_column(default=0)
    detector_id: Mapped[str] = mapped_column(default="")
    reid_id: Mapped[str] = mapped_column(default="")
    settings_key: Mapped[str] = mapped_column(default="")
    settings_json: Mapped[str] = mapped_column(default="{}")
    message: Mapped[str] = mapped_column(default="")
    checkpoint: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    seek_json: Mapped[str] = mapped_column(default="")  # [[frame index, pts], ...] of key frames
    report_json: Mapped[str] = mapped_column(default="{}")  # what indexing did (detector plan, sizes)
    camera: Mapped[str] = mapped_column(default="")  # see pipeline.cameras
    camera_source: Mapped[str] = mapped_column(default="")  # file name | folder | operator
    start_time: Mapped[datetime | None] = mapped_column(default=None)  # recording start, local time
    start_source: Mapped[str] = mapped_column(default="")  # file name | snapshots | container | operator
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    indexed_at: Mapped[datetime | None] = mapped_column(default=None)

    tracks: Mapped[list[TrackRow]] = relationship(
        back_populates="video", cascade="all, delete-orphan", passive_deletes=True
    )


class TrackRow(Base):
    """One person track: when and where they were, and a thumbnail of their best crop."""

    __tablename__ = "tracks"
    __table_args__ = (
        UniqueConstraint("video_id", "track_id"),
        Index("ix_tracks_video_person", "video_id", "person"),
        Index("ix_tracks_video_first", "video_id", "first_frame"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int]
    first_frame: Mapped[int]
    last_frame: Mapped[int]
    start_s: Mapped[float]
    end_s: Mapped[float]
    n_obs: Mapped[int]
    path: Mapped[bytes] = mapped_column(LargeBinary)  # float64 (N, 7): frame, ts, x1, y1, x2, y2, score
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary)  # JPEG of the best crop
    quality: Mapped[float]
    person: Mapped[int | None] = mapped_column(default=None)  # chain of linked tracks (its first track id)
    # the smallest box holding all of the track's boxes (video pixels): region filters start from it
    box_x1: Mapped[float] = mapped_column(default=0.0)
    box_y1: Mapped[float] = mapped_column(default=0.0)
    box_x2: Mapped[float] = mapped_column(default=0.0)
    box_y2: Mapped[float] = mapped_column(default=0.0)
    colours: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # float32 (2, 11); empty: not yet
    # from before the run now indexing the video again, until it replaces it (pipeline.storage.replacing)
    stale: Mapped[bool] = mapped_column(default=False, server_default=false())

    video: Mapped[VideoRow] = relationship(back_populates="tracks")


class EmbeddingRow(Base):
    """Appearance vector of a track ('track': the mean) or of one of its chosen crops ('crop')."""

    __tablename__ = "embeddings"
    __table_args__ = (Index("ix_embeddings_model_kind", "model", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    track_pk: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    model: Mapped[str]
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32 (D,)


class SearchRow(Base):
    """A search as run: the query, the model and the thresholds."""

    __tablename__ = "searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    query_path: Mapped[str]
    query_box: Mapped[str] = mapped_column(default="")  # JSON [x1, y1, x2, y2] in the photo
    model: Mapped[str]
    params_json: Mapped[str] = mapped_column(default="{}")
    query_vector: Mapped[bytes] = mapped_column(LargeBinary)
    n_hits: Mapped[int] = mapped_column(default=0)

    hits: Mapped[list[HitRow]] = relationship(back_populates="search", cascade="all, delete-orphan")


class HitRow(Base):
    """One ranked result of a search."""

    __tablename__ = "hits"

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"), index=True)
    track_pk: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int]
    score: Mapped[float]

    search: Mapped[SearchRow] = relationship(back_populates="hits")
    track: Mapped[TrackRow] = relationship()


class CalibrationRow(Base):
    """How alike the same person and certainly-different people of one video score with one ReID
    model: two histograms (``pipeline.calibration``) that calibrate the search floor."""

    __tablename__ = "calibration"
    __table_args__ = (UniqueConstraint("video_id", "model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    model: Mapped[str]
    method: Mapped[str]  # how the pairs were chosen (pipeline.calibration.METHOD): others are redone
    genuine: Mapped[bytes] = mapped_column(LargeBinary)  # int64 histogram
    impostor: Mapped[bytes] = mapped_column(LargeBinary)  # int64 histogram


class MetaRow(Base):
    """Small key/value facts: schema version, embedding change counters."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[str]


def make_engine(url: str) -> Engine:
    """The engine of a library: SQLite with WAL journaling, foreign keys and a busy timeout on every
    connection; PostgreSQL with connections checked before use (a server restart is not an error).

    ``page_size``: a new library's pages are 16 KB instead of SQLite's 4 KB. A 512-d appearance
    vector (2 KB and its row) leaves no room for a second in a 4 KB page, so half of every page was
    empty: an embedding took 4 KB on disk, 2.3 KB with 16 KB pages (a library is ~40 % smaller,
    measured by ``bench/search_latency.py``'s tracks: 8.5 -> 5.0 KB per track with its two vectors;
    reading 200 candidates' vectors for a search: 3-5 ms either way). An existing library keeps its
    pages (SQLite changes them only when a database is created).

    Transactions: pysqlite's own transaction handling began a transaction only at the first write, so
    what a writer read before it (the next search id, a change counter) was read outside it, and two
    processes writing at once (the app and ``main.py search`` on one library) read the same value: 3
    of 24 concurrent searches failed to save ("UNIQUE constraint failed: searches.id"). SQLAlchemy
    begins every transaction here instead: a write transaction (:data:`WRITE`) with ``BEGIN
    IMMEDIATE``, which takes the write lock before its first read (a second writer waits, up to the
    busy timeout), a read with a plain ``BEGIN`` (one snapshot for the whole read).

    ``synchronous=FULL``: every commit (an indexing chunk, a search) is on disk before it returns, so
    a power cut loses at most the chunk being indexed (which the next run redoes), never a committed
    one; it costs one flush per commit, a few per minute of footage. (PostgreSQL's own default,
    ``synchronous_commit=on``, promises the same.)"""
    if not url.startswith("sqlite"):
        # times are stored as UTC without a zone, as SQLite stores them: a session in the server's
        # own zone would turn the aware times given (a case file's) into its local time
        options = {"connect_timeout": CONNECT_TIMEOUT_S, "options": "-c TimeZone=UTC"}
        return create_engine(url, pool_pre_ping=True, connect_args=options)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions begin where SQLAlchemy says (``_begin``)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL: it fixes the size of a new file
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # a power cut loses no committed chunk or search
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

    return engine


class CaseRow(Base):
    """An operator's case: the person looked for, and the review of what was found."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(default="")
    notes: Mapped[str] = mapped_column(default="")
    filter_json: Mapped[str] = mapped_column(default="{}")  # the search filter of the case's work


class CasePhotoRow(Base):
    """A query photo of a case, with its appearance vector (of one ReID model), that of the photo
    turned grey (NULL when the photo has no colour itself), and the box of the person searched for
    in it (JSON ``[x1, y1, x2, y2]`` in photo pixels; NULL when the photo was used whole)."""

    __tablename__ = "case_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    path: Mapped[str]
    model: Mapped[str]
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32 (D,)
    grey_vector: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # float32 (D,)
    box: Mapped[str | None] = mapped_column(String, nullable=True)


class CaseMarkRow(Base):
    """A track the operator confirmed (is the person) or rejected (is not), by whom and when."""

    __tablename__ = "case_marks"
    __table_args__ = (UniqueConstraint("case_id", "track_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    track_pk: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))  # confirmed | rejected
    marked_by: Mapped[str] = mapped_column(default="")
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
