"""``ProfileCorpus``: the dense index, the lexical index and the attribute table, kept in step.

The service holds one corpus, passes it explicitly, and calls ``upsert``/``remove`` on every
profile create, edit, deactivation and deletion; the change is visible to the next request.
It owns one lock: FAISS and the sparse matrices must not be read while they are being modified,
so index reads and writes are serialised (a read is a few ms). ``search`` returns the shown page
as plain data; fetching its profiles and writing the reasons (``page_to_matches``) happen outside
the lock, in the caller.

Persistence: ``save(directory)`` writes ``dense.faiss`` (+ ``dense.faiss.meta.json``),
``lexical.bin`` and ``profiles.bin``; ``load(directory, model_version, tokenizer_version)`` raises
``IndexFileError`` for anything missing, corrupt, truncated or built by another model/tokenizer,
and the service then rebuilds with ``build`` from the vectors and token lists stored in the
database (no re-encoding, no re-tokenising).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from matching.encoders import ModelVersion
from matching.fusion import FusionWeights, default_weights
from matching.index import DenseIndex
from matching.ivf import DEFAULT_EXACT_THRESHOLD
from matching.lexical import BM25Params, LexicalIndex
from matching.persist import IncompatibleIndexError
from matching.scoring import (
    rank_needs_for_profile,
    score_profile_pool,
    second_channel,
    take_page,
)
from matching.table import ProfileTable
from matching.types import (
    NO_FILTERS,
    CountyInfo,
    MatchFilters,
    NeedDoc,
    NeedMatch,
    ProfileDoc,
    Query,
    RankedPage,
)

DENSE_FILE = "dense.faiss"
LEXICAL_FILE = "lexical.bin"
TABLE_FILE = "profiles.bin"


class ProfileCorpus:
    """Everything searchable about the profiles, updated together under one lock."""

    def __init__(self, dense: DenseIndex, lexical: LexicalIndex, table: ProfileTable) -> None:
        self.dense = dense
        self.lexical = lexical
        self.table = table
        # The second dense channel (``use_second``): vectors of a slower, better encoder, added
        # as a background fill reaches each profile; never saved (the database holds them).
        self.second: DenseIndex | None = None
        # While the second channel is rebuilt (``rebuild_second``): the ids put or dropped
        # meanwhile, carried over before the swap.
        self._second_changed: set[int] | None = None
        self.lock = threading.RLock()

    def use_second(self, model_version: ModelVersion) -> None:
        """Start an empty second dense channel for this model (drops one of another model)."""
        with self.lock:
            if self.second is None or self.second.version != model_version:
                self.second = DenseIndex(model_version, exact_threshold=self.dense.exact_threshold)

    def put_second(self, ids: Sequence[int], vectors: npt.ArrayLike) -> int:
        """Add second-channel vectors (``(len(ids), dim2)``) of profiles the first channel
        holds (active ones); others are skipped. Returns how many were added."""
        if not len(ids):
            return 0
        x = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        with self.lock:
            if self.second is None:
                return 0
            ids_arr = np.asarray(ids, dtype=np.int64)
            keep = self.dense.holds(ids_arr)
            if keep.any():
                self.second.add(ids_arr[keep], x[keep])
                if self._second_changed is not None:
                    self._second_changed.update(ids_arr[keep].tolist())
            return int(keep.sum())

    def drop_second(self, ids: Sequence[int]) -> None:
        with self.lock:
            if self.second is not None and len(ids):
                self.second.remove(ids)
                if self._second_changed is not None:
                    self._second_changed.update(int(i) for i in ids)

    def rebuild_second(self, chunk: int = 8192) -> bool:
        """Re-choose exact or IVF for the second channel's size when it has grown past the
        threshold (or shrunk), as the service does for the first channel. Returns whether it
        rebuilt.

        The second channel grows a page at a time as the background fill reaches each profile,
        so without this it stayed an exact index at any size. The vectors are copied a chunk at
        a time under the lock (a search waits for one chunk, not the whole copy), the new index
        is trained with the lock free, and what was put or dropped meanwhile is carried over
        before the swap. Call it from one thread at a time (the service's poll thread).
        """
        with self.lock:
            old = self.second
            if old is None or not old.needs_rebuild or self._second_changed is not None:
                return False
            self._second_changed = set()
            ids = old.ids.copy()
        try:
            vectors = np.zeros((len(ids), old.dim), dtype=np.float32)
            held = np.zeros(len(ids), dtype=bool)
            for start in range(0, len(ids), chunk):
                with self.lock:
                    # an id dropped meanwhile is not held any more (and is in the changed set)
                    part = ids[start : start + chunk]
                    held[start : start + len(part)] = old.holds(part)
                    vectors[start : start + len(part)] = old.vectors_for(part)
            fresh = old.built_like(ids[held], vectors[held])
            with self.lock:
                if self.second is not old:  # another model's channel started meanwhile
                    return False
                changed = np.array(sorted(self._second_changed), dtype=np.int64)
                if len(changed):
                    fresh.remove(changed)
                    live = changed[old.holds(changed)]
                    if len(live):
                        fresh.add(live, old.vectors_for(live))
                self.second = fresh
                return True
        finally:
            with self.lock:
                self._second_changed = None

    @property
    def model_version(self) -> ModelVersion:
        return self.dense.version

    @classmethod
    def empty(
        cls,
        model_version: ModelVersion,
        tokenizer_version: str,
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
        bm25: BM25Params | None = None,
    ) -> ProfileCorpus:
        return cls(
            DenseIndex(model_version, exact_threshold=exact_threshold),
            LexicalIndex(bm25, tokenizer_version=tokenizer_version),
            ProfileTable(),
        )

    @classmethod
    def build(
        cls,
        profiles: Sequence[ProfileDoc],
        vectors: npt.ArrayLike,
        token_lists: Sequence[Sequence[str]],
        model_version: ModelVersion,
        tokenizer_version: str,
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
        bm25: BM25Params | None = None,
    ) -> ProfileCorpus:
        """Start-up rebuild from stored data: ``vectors`` ``(len(profiles), dim)`` passage
        vectors and one token list per profile, aligned with ``profiles``."""
        vecs = np.asarray(vectors, dtype=np.float32)
        if len(vecs) != len(profiles) or len(token_lists) != len(profiles):
            raise ValueError("profiles, vectors and token_lists differ in length")
        active = np.array([p.active for p in profiles], dtype=bool)
        ids = np.array([p.id for p in profiles], dtype=np.int64)
        dense = DenseIndex.build(
            ids[active],
            vecs[active] if len(vecs) else np.zeros((0, model_version.dim), np.float32),
            model_version,
            exact_threshold=exact_threshold,
        )
        lexical = LexicalIndex.build(
            ids[active].tolist(),
            [token_lists[int(i)] for i in np.flatnonzero(active)],
            bm25,
            tokenizer_version,
        )
        return cls(dense, lexical, ProfileTable.build(profiles))

    # ------------------------------------------------------------------ updates
    def upsert(self, profile: ProfileDoc, vector: npt.ArrayLike, tokens: Sequence[str]) -> None:
        """Create or edit a profile. An inactive profile is kept in the table only."""
        self.upsert_many([profile], vector, [tokens])

    def upsert_many(
        self,
        profiles: Sequence[ProfileDoc],
        vectors: npt.ArrayLike,
        token_lists: Sequence[Sequence[str]],
    ) -> None:
        """Create or edit many profiles (distinct ids) at once: one pass over the dense index
        instead of one per profile (replaying a bulk import at start-up, docs/load.md). An
        inactive profile is kept in the table only."""
        x = np.asarray(vectors, dtype=np.float32).reshape(len(profiles), -1)
        active = [i for i, p in enumerate(profiles) if p.active]
        gone = [p.id for p in profiles if not p.active]
        with self.lock:
            # a changed text makes the second channel's vector stale: the caller puts back
            # the ones still current (``put_second``)
            self.drop_second([p.id for p in profiles])
            for p in profiles:
                self.table.upsert(p)
            if gone:
                self.dense.remove(gone)
                for g in gone:
                    self.lexical.remove(g)
            if active:
                self.dense.add([profiles[i].id for i in active], x[active])
                for i in active:
                    self.lexical.add(profiles[i].id, token_lists[i])

    def remove(self, profile_id: int) -> None:
        """Delete a profile from every structure."""
        with self.lock:
            self.table.remove(profile_id)
            self.dense.remove([profile_id])
            self.drop_second([profile_id])
            self.lexical.remove(profile_id)

    def __len__(self) -> int:
        return len(self.table)

    # ------------------------------------------------------------------ queries
    def search(
        self,
        query: Query,
        *,
        counties: Mapping[str, CountyInfo],
        weights: FusionWeights | None = None,
        limit: int = 10,
        filters: MatchFilters = NO_FILTERS,
    ) -> RankedPage:
        """The best ``limit`` profiles for a need or a free-text query, as a page of ids, scores
        and matched terms; the caller fetches those profiles and writes the reasons with
        ``page_to_matches``.

        Inactive profiles, ``filters.exclude_ids`` (e.g. no capacity left) and profiles failing
        the kind/availability filters are never returned. ``weights``: None means the dense
        model's ``default_weights``.
        """
        with self.lock:
            pool = score_profile_pool(
                query,
                lexical_index=self.lexical,
                dense_index=self.dense,
                table=self.table,
                counties=counties,
                weights=weights,
                filters=filters,
                second_index=self.second,
            )
            return take_page(pool, limit, query, self.lexical)

    def needs_for_profile(
        self,
        profile: ProfileDoc,
        profile_vector: npt.ArrayLike,
        profile_tokens: Sequence[str],
        needs: Sequence[NeedDoc],
        need_vectors: npt.ArrayLike,
        need_token_lists: Sequence[Sequence[str]],
        *,
        counties: Mapping[str, CountyInfo],
        weights: FusionWeights | None = None,
        limit: int = 10,
        profile_vector2: npt.ArrayLike | None = None,
        need_vectors2: npt.ArrayLike | None = None,
        need_present2: npt.ArrayLike | None = None,
    ) -> list[NeedMatch]:
        """``rank_needs_for_profile`` using this corpus's BM25 statistics; the second dense
        channel counts when the profile and some needs have vectors in it."""
        with self.lock:
            if weights is None:
                weights = self.weights_for(
                    profile_vector2 is not None
                    and need_vectors2 is not None
                    and (need_present2 is None or bool(np.any(need_present2)))
                )
            return rank_needs_for_profile(
                profile,
                profile_vector,
                profile_tokens,
                needs,
                need_vectors,
                need_token_lists,
                lexical_index=self.lexical,
                counties=counties,
                weights=weights,
                limit=limit,
                profile_vector2=profile_vector2,
                need_vectors2=need_vectors2,
                need_present2=need_present2,
            )

    def weights_for(self, two_channels: bool) -> FusionWeights:
        """The default weights of one dense channel, or of both when ``two_channels`` (the
        caller knows the query and some candidates have a second vector) and a second channel
        is held."""
        second = self.second.version.name if two_channels and self.second is not None else None
        return default_weights(self.dense.version.name, second)

    def weights_for_query(self, query: Query) -> FusionWeights:
        """The weights ``search`` ranks ``query`` with by default (``second_channel``'s rule)."""
        return self.weights_for(second_channel(query, self.second) is not None)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> None:
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        with self.lock:
            self.dense.save(folder / DENSE_FILE)
            self.lexical.save(folder / LEXICAL_FILE)
            self.table.save(folder / TABLE_FILE)

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        model_version: ModelVersion,
        tokenizer_version: str,
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
    ) -> ProfileCorpus:
        """Load a saved corpus; raises ``IndexFileError`` if any part is unusable.

        The three files are also checked against each other (same live ids), so a crash between
        two writes is caught too. ``exact_threshold`` is this code's, not the snapshot's: a
        snapshot saved under another threshold reports ``needs_rebuild`` when its size now
        calls for the other kind, and the service rebuilds it at start-up.
        """
        folder = Path(directory)
        dense = DenseIndex.load(folder / DENSE_FILE, model_version)
        dense.exact_threshold = exact_threshold
        lexical = LexicalIndex.load(folder / LEXICAL_FILE, tokenizer_version)
        table = ProfileTable.load(folder / TABLE_FILE)
        if len(dense) != len(lexical) or not np.array_equal(
            np.sort(dense.ids), np.sort(lexical.ids)
        ):
            raise IncompatibleIndexError(
                f"{folder}: dense and lexical indexes hold different profiles"
            )
        return cls(dense, lexical, table)
