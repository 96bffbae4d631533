"""The live matching state of one service process, kept in step with the database.

``Matcher`` holds the encoder, the profile corpus (FAISS + BM25 + the attribute table) and the
open needs. The database is the source of truth:

- Start-up loads the last saved snapshot of the corpus (``snapshot``) when it can be trusted;
  anything else is rebuilt from the stored vectors and terms (``loader``), never re-encoded
  (rows made by another model are re-encoded once and stored first: ``reencode``).
- The second dense channel (``quality``) is filled in the background by any process; the
  matcher reads its current rows when a profile or need changes and, every
  ``quality_poll_seconds``, the rows written since it last looked (``pull_second``).
- Every profile or need write leaves an audit event; events are numbered in commit order. Before
  answering, ``sync`` applies the events after the last one it saw, so a profile created or
  edited by any process is matchable on the very next request, and a deleted or deactivated one
  is gone.
"""

import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import faiss
import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import begin_read_only, utcnow
from app.matches import embeddings, quality
from app.matches.embeddings import NEEDS, PROFILES, Kind, Stamp
from app.matches.loader import build_corpus, chunks, load_counties
from app.matches.models import NeedEmbedding, ProfileEmbedding, StoredEncoding
from app.matches.open_needs import OpenNeeds
from app.matches.places import Places
from app.matches.reencode import ensure_embeddings
from app.matches.snapshot import (
    hash_at,
    index_root,
    latest_seq,
    load_snapshot,
    profile_changes_since,
    save_snapshot,
)
from app.needs.docs import need_doc
from app.needs.models import Need
from app.profiles.docs import profile_docs
from app.profiles.models import Profile
from matching.corpus import ProfileCorpus
from matching.encoders import Encoder, FloatArray
from matching.problems import Problem, ProblemMap, map_for, terms_of
from matching.text import need_lexical_text
from matching.types import CountyInfo, NeedDoc, ProfileDoc

log = logging.getLogger("xiangcai.matching")

OwnerT = TypeVar("OwnerT", Profile, Need)

# Replaying a profile change at start-up costs about six times what rebuilding costs per
# profile (0.5 ms, batched, against 0.085 ms at 134k profiles on a 2-core machine), so a
# snapshot that lags by more than an eighth of its size is dropped and the corpus rebuilt from
# the stored vectors instead. A large import by the CLI refreshes the snapshot itself
# (``app.cli``), so the service seldom meets either (bench/bench_restart.py, docs/load.md).
REPLAY_MIN = 2_000
REPLAY_FRACTION = 1 / 8
SAVE_AFTER_REPLAY = 1_000
# A quality row is stamped before its transaction commits: each poll looks this far back, so
# that a row committed a little after a later-stamped one is not missed.
POLL_OVERLAP = timedelta(seconds=15)


class Matcher:
    def __init__(
        self,
        *,
        encoder: Encoder,
        corpus: ProfileCorpus,
        counties: dict[str, CountyInfo],
        applied_seq: int,
        applied_hash: str | None,
        index_root: Path,
    ) -> None:
        self.encoder = encoder
        self.stamp: Stamp = embeddings.stamp_for(encoder)
        self.corpus = corpus
        self.counties = counties
        self.open_needs = OpenNeeds()
        self.applied_seq = applied_seq
        self.applied_hash = applied_hash
        self.index_root = index_root
        self._sync_lock = threading.Lock()
        self._saved_seq = -1
        # Places left (app/matches/places.py): None until read; a read may be kept only if its
        # transaction had seen at least the audit event that last invalidated it.
        self._places: Places | None = None
        self._places_from = 0
        self._places_lock = threading.Lock()
        # While the dense index is rebuilt in the background: the profiles changed meanwhile.
        self._dirty: set[int] | None = None
        # The last background rebuild started by sync; a shutdown meanwhile saves the old index.
        self.rebuild_thread: threading.Thread | None = None
        # The second dense channel (``use_quality``): its encoder, and how far its rows are read.
        self.quality: Encoder | None = None
        # The problem -> technique map read into every need's query terms (None: off).
        self.problems: ProblemMap | None = None
        # Rows written after this are read by the next pull (None: never pulled), and the
        # stamps of the rows already taken that are still inside the overlap.
        self._poll_low: datetime | None = None
        self._taken: dict[str, dict[int, datetime]] = {}
        self._poll_stop = threading.Event()
        self._poller: threading.Thread | None = None

    def use_quality(self, encoder: Encoder) -> None:
        """Rank with a second dense channel of this encoder's vectors (none held yet: they are
        read by ``pull_second``)."""
        self.quality = encoder
        self.corpus.use_second(encoder.version)
        self._poll_low = None
        self._taken = {}

    @property
    def model_version(self) -> str:
        return self.encoder.version.tag

    # ------------------------------------------------------------------ start-up

    @classmethod
    def start(cls, settings: Settings, db_engine: Engine) -> "Matcher":
        # The start-up build (IVF training from 50k profiles) uses every core: nothing else
        # runs yet. Request threads and background rebuilds use one (see ``sync``).
        embeddings.use_encoder(settings.encoder)
        encoder = embeddings.current_encoder()
        tokenizer = embeddings.tokenizer()
        # Load the model and jieba's dictionary now, not on the first request (~1–2 s each).
        encoder.encode_queries(["预热"])
        tokenizer.tokenize("预热")
        stamp = embeddings.stamp_for(encoder)
        root = index_root(settings)
        with Session(db_engine) as session:
            encoded = ensure_embeddings(session, encoder)
            session.commit()
            if encoded:
                log.info("encoded %d rows made by another model or never encoded", encoded)
            corpus, applied = load_snapshot(session, root, encoder, stamp)
            pending = 0
            if corpus is not None:
                pending = profile_changes_since(session, applied)
                if pending > max(REPLAY_MIN, len(corpus) * REPLAY_FRACTION):
                    log.info(
                        "%d profile changes since the snapshot of %d profiles: rebuilding",
                        pending,
                        len(corpus),
                    )
                    corpus = None
                elif pending:
                    log.info("replaying %d profile changes since the snapshot", pending)
            rebuilt = corpus is None
            if corpus is None:
                # The position first: changes committed while the rows are read are applied
                # again by the sync below, which is harmless (upserts and removals).
                applied = latest_seq(session)
                corpus = build_corpus(session, encoder, tokenizer.version)
            matcher = cls(
                encoder=encoder,
                corpus=corpus,
                counties=load_counties(session),
                applied_seq=applied,
                applied_hash=hash_at(session, applied),
                index_root=root,
            )
            matcher.open_needs = OpenNeeds.load(session, matcher.need_vector)
            if settings.problem_expansion:
                matcher.problems = map_for(encoder)
                if matcher.problems.nearest is not None:
                    matcher.problems.prepare()  # now, not on the first request
            spec = quality.quality_spec(settings)
            if spec is not None:
                matcher.use_quality(embeddings.encoder_for(spec))
            matcher.sync(session)
        if matcher.corpus.dense.needs_rebuild:
            matcher.rebuild_dense()
            rebuilt = True
        if rebuilt or pending >= SAVE_AFTER_REPLAY:
            matcher.save()  # so that the next start does not replay the same changes again
        if matcher.quality is not None and settings.quality_poll_seconds > 0:
            # the held second-channel vectors are read in the background: start-up stays fast,
            # and until they are in, matches rank on the first channel as before
            matcher.start_polling(db_engine, settings.quality_poll_seconds)
        log.info(
            "matching ready: %d profiles, %d open needs, model %s",
            len(corpus),
            len(matcher.open_needs),
            matcher.model_version,
        )
        return matcher

    # ------------------------------------------------------------------ keeping up

    def sync(self, session: Session) -> int:
        """Apply every profile and need change committed since the last call; returns the
        latest audit event this session's transaction sees."""
        # Every request path starts here. One FAISS thread per request thread: an exact query
        # at 100k took 9.6 ms on one thread and 15.9 ms on two on a 2-core machine
        # (docs/matching.md), and requests run in parallel. OpenMP's thread count belongs to
        # the calling thread, so it is set here, in the thread that will search, not once.
        faiss.omp_set_num_threads(1)
        latest = latest_seq(session)
        if latest <= self.applied_seq:
            return latest
        with self._sync_lock:
            start = self.applied_seq
            if latest <= start:
                return latest
            rows = session.exec(
                select(AuditEvent.entity, AuditEvent.entity_id).where(
                    col(AuditEvent.seq) > start,
                    col(AuditEvent.seq) <= latest,
                    col(AuditEvent.entity).in_(("profile", "need", "placement")),
                    col(AuditEvent.entity_id).is_not(None),
                )
            ).all()
            profile_ids = sorted({int(e) for k, e in rows if k == "profile" and e is not None})
            need_ids = sorted({int(e) for k, e in rows if k == "need" and e is not None})
            with self._places_lock:
                held = self._places
                # With nothing held, a read under way elsewhere may predate these edits: it
                # must not be kept either, so the mark moves whenever it may matter.
                if any(k == "placement" for k, _ in rows) or (
                    profile_ids and (held is None or held.touches(profile_ids))
                ):
                    self._places = None
                    self._places_from = latest
            self._refresh_profiles(session, profile_ids)
            self._refresh_needs(session, need_ids)
            self.applied_seq = latest
            self.applied_hash = hash_at(session, latest)
            if self._dirty is not None:
                self._dirty.update(profile_ids)
            elif self.corpus.dense.needs_rebuild:
                self._dirty = set()
                self.rebuild_thread = threading.Thread(
                    target=self.rebuild_dense, name="dense-rebuild", daemon=True
                )
                self.rebuild_thread.start()
        return latest

    def places(self, session: Session, seen: int) -> Places:
        """Places left per person (read once, then kept in step by ``sync``); ``seen`` is what
        ``sync`` returned for this session."""
        held = self._places
        if held is not None:
            return held
        fresh = Places.read(session)
        with self._places_lock:
            if self._places is None and seen >= self._places_from:
                self._places = fresh
        return fresh

    def rebuild_dense(self) -> None:
        """Re-choose exact or IVF for the current size, off the request path.

        The new index is trained from a copy of the vectors while requests go on using the old
        one; the profiles changed in the meantime are carried over before the swap.
        """
        faiss.omp_set_num_threads(1)  # requests go on meanwhile: leave them a core
        if self._dirty is None:
            with self._sync_lock:
                self._dirty = set()
        try:
            old = self.corpus.dense
            with self.corpus.lock:
                ids = old.ids.copy()
                vectors = old.vectors_for(ids)
            fresh = old.built_like(ids, vectors)
            with self._sync_lock, self.corpus.lock:
                changed = sorted(self._dirty or ())
                if changed:
                    fresh.remove(changed)
                    live = [pid for pid in changed if pid in old]
                    if live:
                        fresh.add(live, old.vectors_for(np.asarray(live, dtype=np.int64)))
                self.corpus.dense = fresh
            log.info("dense index rebuilt as %s for %d profiles", fresh.kind, len(fresh))
        except Exception:
            # The old index still answers correctly, only more slowly; try again next time.
            log.exception("rebuilding the dense index failed; keeping the current one")
        finally:
            self._dirty = None

    def _refresh_profiles(self, session: Session, ids: Sequence[int]) -> None:
        """Bring these profiles up to date in the corpus, a chunk at a time: plain-column reads
        and one batched upsert per chunk (replaying a bulk import at start-up)."""
        for chunk in chunks(ids):
            docs = profile_docs(session, chunk)
            stored = {
                e.profile_id: e
                for e in session.exec(
                    select(ProfileEmbedding).where(col(ProfileEmbedding.profile_id).in_(chunk))
                )
            }
            kept: list[ProfileDoc] = []
            vectors: list[FloatArray] = []
            token_lists: list[list[str]] = []
            for pid in chunk:
                doc = docs.get(pid)
                if doc is None:  # deleted
                    self.corpus.remove(pid)
                    continue
                vector, tokens = self.profile_vector(doc, stored.get(pid))
                kept.append(doc)
                vectors.append(vector)
                token_lists.append(tokens)
            if kept:
                self.corpus.upsert_many(kept, np.stack(vectors), token_lists)
                self._read_second(session, quality.PROFILES, [d.id for d in kept if d.active])
            for row in stored.values():  # read once, not kept in the caller's session
                session.expunge(row)

    def _refresh_needs(self, session: Session, ids: Sequence[int]) -> None:
        held = []
        for nid, need, stored in _with_stored(session, Need, NEEDS, ids):
            if need is None or need.status != "open":
                self.open_needs.drop(nid)
                continue
            doc = need_doc(need)
            self.open_needs.put(doc, *self.need_vector(doc, stored))
            held.append(nid)
        self._read_second(session, quality.NEEDS, held)

    # ------------------------------------------------------------------ the second channel

    def _read_second(
        self,
        session: Session,
        owner: quality.Owner,
        ids: Sequence[int] | None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> list[int]:
        """Read the current second-channel vectors of these ids (None: a page of all of them)
        and hold them; returns the ids read. The caller holds the sync lock or runs in
        ``sync``."""
        if self.quality is None or (ids is not None and not ids):
            return []
        tag = quality.tag_of(owner, self.quality, self.problems)
        got, vectors = quality.current_rows(
            session, owner, tag, self.quality.version.dim, ids=ids, after_id=after_id, limit=limit
        )
        if owner is quality.PROFILES:
            self.corpus.put_second(got, vectors)  # the inactive are skipped
        else:
            for nid, vector in zip(got, vectors, strict=True):
                self.open_needs.put_second(nid, vector)
        return got

    def pull_second(self, session: Session, page: int = 2000) -> int:
        """Hold the second-channel vectors written since the last pull (all of them the first
        time, a page at a time); returns how many were read.

        Each read and its use happen under the sync lock, in a fresh transaction, so that a
        profile edit is either seen by the read (its first-channel digest then differs and the
        old vector is not taken) or applied afterwards by ``sync`` (which drops the vector and
        reads it again).

        As the channel grows past the exact index's threshold it is rebuilt as IVF here, off
        the request path (``ProfileCorpus.rebuild_second``), as ``sync`` does for the first.
        """
        if self.quality is None:
            return 0
        try:
            count = self._pull(session, page)
        finally:
            session.rollback()  # never leave the caller inside a read-only transaction
        if self.corpus.rebuild_second():
            second = self.corpus.second
            assert second is not None
            log.info("second dense channel rebuilt as %s for %d profiles", second.kind, len(second))
        return count

    def _pull(self, session: Session, page: int) -> int:
        assert self.quality is not None
        count = 0
        started = utcnow()
        if self._poll_low is None:
            for owner in quality.OWNERS:
                after: int | None = None
                while True:
                    with self._sync_lock:
                        session.rollback()
                        begin_read_only(session)
                        got = self._read_second(session, owner, None, after, page)
                    if not got:
                        break
                    count += len(got)
                    after = got[-1]
        else:
            # Rows stamped since the last pull began (less the overlap for a row stamped before
            # its transaction committed): their keys first, then the vectors of those not
            # already taken with the same stamp, so that a large batch written at one instant
            # is not read again at every poll within the overlap.
            with self._sync_lock:
                session.rollback()
                begin_read_only(session)
                for owner in quality.OWNERS:
                    seen = self._taken.setdefault(owner.name, {})
                    written = quality.written_since(session, owner, self._poll_low)
                    fresh = [i for i, at in written if seen.get(i) != at]
                    for chunk in chunks(fresh):
                        count += len(self._read_second(session, owner, chunk))
                    seen.update((i, at) for i, at in written)
        # From now on a row stamped before this pull began, less the overlap, has committed
        # and been read (same-host clocks; docs/matching.md).
        self._poll_low = started - POLL_OVERLAP
        for seen in self._taken.values():
            for i in [i for i, at in seen.items() if at <= self._poll_low]:
                del seen[i]
        return count

    def start_polling(self, engine: Engine, seconds: float) -> None:
        """Pull second-channel vectors every ``seconds`` in a thread of its own."""

        def loop() -> None:
            while not self._poll_stop.is_set():
                try:
                    with Session(engine) as session:
                        self.pull_second(session)
                except Exception:
                    log.exception("reading second-channel vectors failed; retrying")
                self._poll_stop.wait(seconds)

        self._poller = threading.Thread(target=loop, name="quality-poll", daemon=True)
        self._poller.start()

    def stop_polling(self) -> None:
        self._poll_stop.set()
        if self._poller is not None:
            self._poller.join(10)

    def problem_tokens(self, doc: NeedDoc, vector: FloatArray | None = None) -> list[str]:
        """The index terms of the techniques and disciplines answering the problems the need
        describes (``matching.problems``); none when the map is off. ``vector``: the need's
        first-channel query vector when the caller has it (no encoding then)."""
        if self.problems is None:
            return []
        return list(_problem_tokens(self.problems, need_lexical_text(doc), _Aside(vector)))

    def problems_in(self, doc: NeedDoc) -> list[tuple[Problem, str]]:
        """The problems the need describes, each with the phrase that showed it (for reasons);
        none when the map is off."""
        if self.problems is None:
            return []
        return list(_problems_found(self.problems, need_lexical_text(doc), _Aside(None)))

    def second_query_for_need(self, session: Session, doc: NeedDoc) -> FloatArray | None:
        """A need's vector in the second channel when a current one exists, else None."""
        if self.quality is None:
            return None
        if doc.id in self.open_needs:
            return self.open_needs.second(doc)
        tag = quality.tag_of(quality.NEEDS, self.quality, self.problems)
        got, vectors = quality.current_rows(
            session, quality.NEEDS, tag, self.quality.version.dim, ids=[doc.id]
        )
        return vectors[0] if got else None

    def second_profile_vector(self, profile_id: int) -> FloatArray | None:
        """A held profile's vector in the second channel, or None."""
        second = self.corpus.second
        if second is None:
            return None
        with self.corpus.lock:
            if profile_id not in second:
                return None
            vector: FloatArray = second.vectors_for([profile_id])[0]
            return vector

    def profile_vector(
        self, doc: ProfileDoc, stored: StoredEncoding | None
    ) -> tuple[FloatArray, list[str]]:
        """A profile's stored vector and terms, or encoded in memory when the stored row is
        not current (written by a process with another model)."""
        return embeddings.stored_or_encoded(PROFILES, doc, stored, self.encoder, self.stamp)

    def need_vector(
        self, doc: NeedDoc, stored: StoredEncoding | None
    ) -> tuple[FloatArray, list[str]]:
        """A need's stored query vector and terms (encoded on the spot if none is current)."""
        return embeddings.stored_or_encoded(NEEDS, doc, stored, self.encoder, self.stamp)

    def query_for_need(self, session: Session, doc: NeedDoc) -> tuple[FloatArray, list[str]]:
        """A need's query vector and terms: those held for the open needs when they are for this
        very document (no read, no digest), else the stored row's or encoded."""
        held = self.open_needs.held(doc)
        if held is not None:
            return held
        return self.need_vector(doc, session.get(NeedEmbedding, doc.id))

    # ------------------------------------------------------------------ snapshots

    def save(self) -> None:
        """Write the corpus to a new snapshot directory and point ``current`` at it atomically."""
        with self._sync_lock:
            seq = self.applied_seq
            if seq == self._saved_seq:
                return
            save_snapshot(
                self.index_root, self.corpus, seq=seq, seq_hash=self.applied_hash, stamp=self.stamp
            )
            self._saved_seq = seq


class _Aside:
    """A value handed through an ``lru_cache``d call without being part of its key (all are
    equal): a need's vector, which its text determines."""

    __slots__ = ("value",)

    def __init__(self, value: FloatArray | None) -> None:
        self.value = value

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Aside)


@lru_cache(maxsize=8192)
def _problems_found(
    problems: ProblemMap, text: str, vector: _Aside
) -> tuple[tuple[Problem, str], ...]:
    return tuple(problems.find(text, vector.value))


@lru_cache(maxsize=8192)
def _problem_tokens(problems: ProblemMap, text: str, vector: _Aside) -> tuple[str, ...]:
    # from the problems found (one reading of a need for its terms and its reasons)
    terms = terms_of(_problems_found(problems, text, vector))
    return tuple(embeddings.tokenizer().tokenize(" ".join(terms))) if terms else ()


def _with_stored(
    session: Session,
    owner: type[OwnerT],
    kind: Kind[ProfileDoc] | Kind[NeedDoc],
    ids: Sequence[int],
) -> Iterator[tuple[int, OwnerT | None, StoredEncoding | None]]:
    """Each id with its profile or need (None: deleted) and stored row, read a chunk at a time."""
    key = getattr(kind.table, kind.key)
    for chunk in chunks(ids):
        found = {o.id: o for o in session.exec(select(owner).where(col(owner.id).in_(chunk)))}
        stored = {
            getattr(e, kind.key): e
            for e in session.exec(select(kind.table).where(col(key).in_(chunk)))
        }
        for i in chunk:
            yield i, found.get(i), stored.get(i)
