"""The live matching state of one service process, kept in step with the database.

``Matcher`` holds the encoder, the profile corpus (FAISS + BM25 + the attribute table) and the
open needs. The database is the source of truth:

- Start-up loads the last saved snapshot of the corpus from the data directory when it is sound,
  built by the same model, tokenizer and text recipe, and taken from this database (the audit
  event it was current to must still exist with the same hash). Anything else — missing, corrupt,
  foreign, stale or from a restored backup — is rebuilt from the stored vectors and terms, never
  trusted and never re-encoded (rows made by another model are re-encoded once and stored).
- Every profile or need write leaves an audit event; events are numbered in commit order. Before
  answering, ``sync`` applies the events after the last one it saw, so a profile created or
  edited by any process is matchable on the very next request, and a deleted or deactivated one
  is gone.
"""

import ctypes
import gc
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha1
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt
from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.config import Settings
from app.counties.models import County
from app.matches import embeddings
from app.matches.models import NeedEmbedding, ProfileEmbedding
from app.needs.models import Need
from app.profiles.models import Profile
from matching.corpus import ProfileCorpus
from matching.encoders import Encoder
from matching.index import DenseIndex, vectors_from_bytes
from matching.lexical import LexicalIndex
from matching.persist import IndexFileError
from matching.table import ProfileTable
from matching.text import TEXT_RECIPE_VERSION
from matching.tokenizer import split_tokens
from matching.types import CountyInfo, NeedDoc, ProfileDoc

log = logging.getLogger("xiangcai.matching")

FloatArray = npt.NDArray[np.float32]
STATE_FILE = "state.json"
CHUNK = 2000


@dataclass
class OpenNeeds:
    """The open needs with their query vectors and terms, for a person's match list."""

    docs: dict[int, NeedDoc]
    vectors: dict[int, FloatArray]
    tokens: dict[int, list[str]]

    def arrays(self) -> tuple[list[NeedDoc], FloatArray, list[list[str]]]:
        ids = sorted(self.docs)
        dim = next(iter(self.vectors.values())).shape[0] if self.vectors else 1
        matrix = np.stack([self.vectors[i] for i in ids]) if ids else np.zeros((0, dim), np.float32)
        return [self.docs[i] for i in ids], matrix, [self.tokens[i] for i in ids]


def _chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def index_root(settings: Settings) -> Path:
    # One directory per database, so that several databases can share a data directory.
    url = settings.database_url.split("@")[-1]
    return settings.data_dir / "index" / sha1(url.encode()).hexdigest()[:12]


class Matcher:
    def __init__(
        self,
        *,
        encoder: Encoder,
        corpus: ProfileCorpus,
        counties: dict[str, CountyInfo],
        open_needs: OpenNeeds,
        applied_seq: int,
        applied_hash: str | None,
        index_root: Path,
    ) -> None:
        self.encoder = encoder
        self.corpus = corpus
        self.counties = counties
        self.open_needs = open_needs
        self.applied_seq = applied_seq
        self.applied_hash = applied_hash
        self.index_root = index_root
        self._sync_lock = threading.Lock()
        self._saved_seq = -1
        # While the dense index is rebuilt in the background: the profiles changed meanwhile.
        self._dirty: set[int] | None = None
        # The last background rebuild started by sync; a shutdown meanwhile saves the old index.
        self.rebuild_thread: threading.Thread | None = None

    @property
    def model_version(self) -> str:
        return self.encoder.version.tag

    # ------------------------------------------------------------------ start-up

    @classmethod
    def start(cls, settings: Settings, engine: Engine) -> "Matcher":
        # The start-up build (IVF training above 200k profiles) uses every core: nothing else
        # runs yet. Request threads and background rebuilds use one (see ``sync``).
        embeddings.use_encoder(settings.encoder)
        encoder = embeddings.current_encoder()
        tokenizer = embeddings.tokenizer()
        # Load the model and jieba's dictionary now, not on the first request (~1–2 s each).
        encoder.encode_queries(["预热"])
        tokenizer.tokenize("预热")
        root = index_root(settings)
        with Session(engine) as session:
            encoded = ensure_embeddings(session, encoder)
            session.commit()
            if encoded:
                log.info("encoded %d rows made by another model or never encoded", encoded)
            counties = {
                c.code: CountyInfo(c.code, c.name, c.prefecture, c.region)  # type: ignore[arg-type]
                for c in session.exec(select(County)).all()
            }
            corpus, applied = _load_snapshot(session, root, encoder, tokenizer.version)
            rebuilt = corpus is None
            if corpus is None:
                # The position first: changes committed while the rows are read are applied
                # again by the sync below, which is harmless (upserts and removals).
                applied = _latest_seq(session)
                corpus = _build_corpus(session, encoder, tokenizer.version)
            matcher = cls(
                encoder=encoder,
                corpus=corpus,
                counties=counties,
                open_needs=_load_open_needs(session, encoder),
                applied_seq=applied,
                applied_hash=_hash_at(session, applied),
                index_root=root,
            )
            matcher.sync(session)
        if matcher.corpus.dense.needs_rebuild:
            matcher.rebuild_dense()
            rebuilt = True
        if rebuilt:
            matcher.save()
        log.info(
            "matching ready: %d profiles, %d open needs, model %s",
            len(corpus),
            len(matcher.open_needs.docs),
            matcher.model_version,
        )
        return matcher

    # ------------------------------------------------------------------ keeping up

    def sync(self, session: Session) -> None:
        """Apply every profile and need change committed since the last call."""
        # Every request path starts here. One FAISS thread per request thread: an exact query
        # at 100k took 9.6 ms on one thread and 15.9 ms on two on a 2-core machine
        # (docs/matching.md), and requests run in parallel. OpenMP's thread count belongs to
        # the calling thread, so it is set here, in the thread that will search, not once.
        faiss.omp_set_num_threads(1)
        latest = _latest_seq(session)
        if latest <= self.applied_seq:
            return
        with self._sync_lock:
            start = self.applied_seq
            if latest <= start:
                return
            rows = session.exec(
                select(AuditEvent.entity, AuditEvent.entity_id).where(
                    col(AuditEvent.seq) > start,
                    col(AuditEvent.seq) <= latest,
                    col(AuditEvent.entity).in_(("profile", "need")),
                    col(AuditEvent.entity_id).is_not(None),
                )
            ).all()
            profile_ids = sorted({int(e) for k, e in rows if k == "profile" and e is not None})
            need_ids = sorted({int(e) for k, e in rows if k == "need" and e is not None})
            self._refresh_profiles(session, profile_ids)
            self._refresh_needs(session, need_ids)
            self.applied_seq = latest
            self.applied_hash = _hash_at(session, latest)
            if self._dirty is not None:
                self._dirty.update(profile_ids)
            elif self.corpus.dense.needs_rebuild:
                self._dirty = set()
                self.rebuild_thread = threading.Thread(
                    target=self.rebuild_dense, name="dense-rebuild", daemon=True
                )
                self.rebuild_thread.start()

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
        for chunk in _chunks(ids):
            found = {
                p.id: p for p in session.exec(select(Profile).where(col(Profile.id).in_(chunk)))
            }
            stored = {
                e.profile_id: e
                for e in session.exec(
                    select(ProfileEmbedding).where(col(ProfileEmbedding.profile_id).in_(chunk))
                )
            }
            for pid in chunk:
                profile = found.get(pid)
                if profile is None:
                    self.corpus.remove(pid)
                    continue
                doc = embeddings.profile_doc(profile)
                vector, tokens = self.profile_vector(doc, stored.get(pid))
                self.corpus.upsert(doc, vector, tokens)

    def _unpack(self, vector: bytes, tokens: str) -> tuple[FloatArray, list[str]]:
        return vectors_from_bytes([vector], self.encoder.version.dim)[0], split_tokens(tokens)

    def profile_vector(
        self, doc: ProfileDoc, row: ProfileEmbedding | None
    ) -> tuple[FloatArray, list[str]]:
        """A profile's stored vector and terms, or encoded in memory when the stored row is
        not current (written by a process with another model)."""
        if (
            row is not None
            and row.model_tag == self.model_version
            and row.text_digest == embeddings.profile_digest(doc)
        ):
            return self._unpack(row.vector, row.tokens)
        prepared = next(iter(embeddings.prepare_profiles([doc], self.encoder).values()))
        return self._unpack(prepared.vector, prepared.tokens)

    def _refresh_needs(self, session: Session, ids: Sequence[int]) -> None:
        for chunk in _chunks(ids):
            found = {n.id: n for n in session.exec(select(Need).where(col(Need.id).in_(chunk)))}
            stored = {
                e.need_id: e
                for e in session.exec(
                    select(NeedEmbedding).where(col(NeedEmbedding.need_id).in_(chunk))
                )
            }
            for nid in chunk:
                need = found.get(nid)
                if need is None or need.status != "open":
                    self.open_needs.docs.pop(nid, None)
                    self.open_needs.vectors.pop(nid, None)
                    self.open_needs.tokens.pop(nid, None)
                    continue
                vector, tokens = self.need_vector(embeddings.need_doc(need), stored.get(nid))
                self.open_needs.docs[nid] = embeddings.need_doc(need)
                self.open_needs.vectors[nid] = vector
                self.open_needs.tokens[nid] = tokens

    def need_vector(self, doc: NeedDoc, row: NeedEmbedding | None) -> tuple[FloatArray, list[str]]:
        """A need's stored query vector and terms (encoded on the spot if none is current)."""
        if (
            row is not None
            and row.model_tag == self.model_version
            and row.text_digest == embeddings.need_digest(doc)
        ):
            return self._unpack(row.vector, row.tokens)
        prepared = next(iter(embeddings.prepare_needs([doc], self.encoder).values()))
        return self._unpack(prepared.vector, prepared.tokens)

    # ------------------------------------------------------------------ snapshots

    def save(self) -> None:
        """Write the corpus to a new snapshot directory and point ``current`` at it atomically."""
        with self._sync_lock:
            seq = self.applied_seq
            if seq == self._saved_seq:
                return
            self.index_root.mkdir(parents=True, exist_ok=True)
            snap = self.index_root / f"snap-{seq}-{uuid.uuid4().hex[:8]}"
            self.corpus.save(snap)
            state = {
                "applied_seq": seq,
                "seq_hash": self.applied_hash,
                "model_tag": self.model_version,
                "tokenizer_version": embeddings.tokenizer().version,
                "recipe": TEXT_RECIPE_VERSION,
            }
            (snap / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
            link = self.index_root / "current"
            tmp_link = self.index_root / f".current-{uuid.uuid4().hex[:8]}"
            os.symlink(snap.name, tmp_link)
            os.replace(tmp_link, link)
            self._saved_seq = seq
            for old in self.index_root.glob("snap-*"):
                if old.name != snap.name:
                    shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------- helpers


def _latest_seq(session: Session) -> int:
    return int(session.exec(select(func.coalesce(func.max(AuditEvent.seq), 0))).one())


def _hash_at(session: Session, seq: int) -> str | None:
    if seq <= 0:
        return None
    return session.exec(select(AuditEvent.hash).where(AuditEvent.seq == seq)).first()


def _load_snapshot(
    session: Session, root: Path, encoder: Encoder, tokenizer_version: str
) -> tuple[ProfileCorpus | None, int]:
    current = root / "current"
    try:
        state = json.loads((current / STATE_FILE).read_text(encoding="utf-8"))
        seq = int(state["applied_seq"])
        if (
            state.get("model_tag") != encoder.version.tag
            or state.get("tokenizer_version") != tokenizer_version
            or state.get("recipe") != TEXT_RECIPE_VERSION
        ):
            log.info("index snapshot made by another model or recipe: rebuilding")
            return None, 0
        if seq > _latest_seq(session) or state.get("seq_hash") != _hash_at(session, seq):
            log.warning("index snapshot does not belong to this database state: rebuilding")
            return None, 0
        corpus = ProfileCorpus.load(current, encoder.version, tokenizer_version)
    except FileNotFoundError:
        return None, 0
    except (IndexFileError, ValueError, KeyError, TypeError, OSError) as exc:
        log.warning("index snapshot unusable (%s): rebuilding from the database", exc)
        return None, 0
    return corpus, seq


class _StoredTokens(Sequence[list[str]]):
    """Token lists split from their stored strings only when the lexical index reads them:
    a million profiles' terms as Python lists would take gigabytes."""

    def __init__(self, stored: list[str]) -> None:
        self._stored = stored

    def __len__(self) -> int:
        return len(self._stored)

    def __getitem__(self, i: int) -> list[str]:  # type: ignore[override]
        return split_tokens(self._stored[i])


def _build_corpus(session: Session, encoder: Encoder, tokenizer_version: str) -> ProfileCorpus:
    """The corpus from the stored vectors and terms of every profile (no encoding).

    Reads plain columns (no ORM objects) in one pass into preallocated arrays; only the active
    profiles go into the dense and lexical indexes, every profile into the attribute table.
    """
    dim = encoder.version.dim
    expected = int(session.exec(select(func.count()).select_from(ProfileEmbedding)).one())
    # Only the active profiles' vectors and terms are kept (the indexes hold nothing else), in
    # one preallocated array handed to FAISS without a copy: at 1M x 512 every copy is 2 GB.
    vectors = np.empty((expected, dim), dtype=np.float32)
    active_ids: list[int] = []
    docs: list[ProfileDoc] = []
    tokens: list[str] = []
    query = (
        sa_select(
            col(Profile.id),
            col(Profile.kind),
            col(Profile.hometown_county_code),
            col(Profile.availability),
            col(Profile.capacity),
            col(Profile.preferred_regions),
            col(Profile.active),
            col(ProfileEmbedding.vector),
            col(ProfileEmbedding.tokens),
        )
        .join(ProfileEmbedding, col(ProfileEmbedding.profile_id) == Profile.id)
        .order_by(col(Profile.id))
        .execution_options(yield_per=CHUNK)
    )
    for pid, kind, home, availability, capacity, regions, active, vector, terms in session.execute(
        query
    ):
        # The table keeps only these attributes; texts are read per request for the shown page.
        docs.append(
            ProfileDoc(
                id=pid,
                kind=kind,
                name="",
                affiliation="",
                title="",
                fields=(),
                expertise="",
                hometown_county_code=home,
                availability=availability,
                capacity=capacity,
                preferred_regions=tuple(regions or ()),
                active=active,
            )
        )
        if active:
            row = len(active_ids)
            if row == len(vectors):  # rows added since the count: grow
                vectors = np.resize(vectors, (max(16, 2 * len(vectors)), dim))
            vectors[row] = np.frombuffer(vector, dtype="<f4", count=dim)
            active_ids.append(pid)
            tokens.append(terms)
    session.expunge_all()
    ids_arr = np.asarray(active_ids, dtype=np.int64)
    del active_ids
    dense = DenseIndex.build(ids_arr, vectors[: len(ids_arr)], encoder.version)
    del vectors
    lexical = LexicalIndex.build(
        ids_arr, _StoredTokens(tokens), tokenizer_version=tokenizer_version
    )
    del tokens
    corpus = ProfileCorpus(dense, lexical, ProfileTable.build(docs))
    del docs
    _release_freed_memory()
    return corpus


def _release_freed_memory() -> None:
    """Hand memory freed after a big build back to the system (glibc keeps it otherwise)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _load_open_needs(session: Session, encoder: Encoder) -> OpenNeeds:
    open_needs = OpenNeeds({}, {}, {})
    rows = session.exec(
        select(Need, NeedEmbedding)
        .join(NeedEmbedding, col(NeedEmbedding.need_id) == Need.id)
        .where(Need.status == "open")
    ).all()
    dim = encoder.version.dim
    for need, emb in rows:
        assert need.id is not None
        open_needs.docs[need.id] = embeddings.need_doc(need)
        open_needs.vectors[need.id] = vectors_from_bytes([emb.vector], dim)[0]
        open_needs.tokens[need.id] = split_tokens(emb.tokens)
    return open_needs


def ensure_embeddings(
    session: Session, encoder: Encoder, progress: Callable[[int, int], None] | None = None
) -> int:
    """Encode profiles and needs whose stored row is missing or made by another model/recipe.

    Commits after every batch, so that a long re-encoding (another model) keeps what it did if
    it is interrupted and never holds one write transaction for hours; ``progress(done, total)``
    is called after each batch.
    """
    tag = encoder.version.tag
    tk = embeddings.tokenizer().version
    encoded = 0
    for model, stored, key, store in (
        (Profile, ProfileEmbedding, "profile_id", embeddings.store_profiles),
        (Need, NeedEmbedding, "need_id", embeddings.store_needs),
    ):
        stale_ids = session.exec(
            select(model.id)
            .outerjoin(stored, getattr(stored, key) == model.id)
            .where(
                or_(
                    col(getattr(stored, key)).is_(None),
                    col(stored.model_tag) != tag,
                    col(stored.recipe) != TEXT_RECIPE_VERSION,
                    col(stored.tokenizer_version) != tk,
                )
            )
            .order_by(col(model.id))
        ).all()
        todo = [int(i) for i in stale_ids if i is not None]
        for done, chunk in enumerate(_chunks(todo, 256), start=1):
            items = session.exec(select(model).where(col(model.id).in_(chunk))).all()
            encoded += store(session, list(items), encoder)  # type: ignore[arg-type]
            session.commit()
            if progress is not None:
                progress(min(done * 256, len(todo)), len(todo))
    return encoded
