"""The live matching state of one service process, kept in step with the database.

``Matcher`` holds the encoder, the profile corpus (FAISS + BM25 + the attribute table) and the
open needs. The database is the source of truth:

- Start-up loads the last saved snapshot of the corpus (``snapshot``) when it can be trusted;
  anything else is rebuilt from the stored vectors and terms (``loader``), never re-encoded
  (rows made by another model are re-encoded once and stored first: ``reencode``).
- Every profile or need write leaves an audit event; events are numbered in commit order. Before
  answering, ``sync`` applies the events after the last one it saw, so a profile created or
  edited by any process is matchable on the very next request, and a deleted or deactivated one
  is gone.
"""

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import faiss
import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.config import Settings
from app.matches import embeddings
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
from matching.index import DenseIndex
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

    @property
    def model_version(self) -> str:
        return self.encoder.version.tag

    # ------------------------------------------------------------------ start-up

    @classmethod
    def start(cls, settings: Settings, db_engine: Engine) -> "Matcher":
        # The start-up build (IVF training above 200k profiles) uses every core: nothing else
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
            matcher.sync(session)
        if matcher.corpus.dense.needs_rebuild:
            matcher.rebuild_dense()
            rebuilt = True
        if rebuilt or pending >= SAVE_AFTER_REPLAY:
            matcher.save()  # so that the next start does not replay the same changes again
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
            fresh = DenseIndex.build(
                ids,
                vectors,
                old.version,
                exact_threshold=old.exact_threshold,
                nprobe=old.nprobe,
                exact_subset_max=old.exact_subset_max,
            )
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
            for row in stored.values():  # read once, not kept in the caller's session
                session.expunge(row)

    def _refresh_needs(self, session: Session, ids: Sequence[int]) -> None:
        for nid, need, stored in _with_stored(session, Need, NEEDS, ids):
            if need is None or need.status != "open":
                self.open_needs.drop(nid)
                continue
            doc = need_doc(need)
            self.open_needs.put(doc, *self.need_vector(doc, stored))

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
