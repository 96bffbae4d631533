"""Candidate pairs for a plan: each open need's best people from the live matcher, as arrays.

This is the seam between the database and ``matching.allocation`` (an id <-> row encoder): it
reads the open needs in scope and the people who appear on their lists, ranks each need with
the same pipeline as its match list (``score_profile_pool``: pool -> filter -> fuse, people
whose capacity is used up excluded), and hands the solver rows, never database ids.

- Only the ranking is reused, not the page: no matched terms and no reason sentences, which at
  10,000 needs would cost more than the ranking itself.
- Both dense channels, as on the match list: a need with a vector in the second channel (the
  quality encoder's, filled in the background) is ranked with both and the two-channel
  weights, a need without one with the first alone (``scoring.second_channel``).
- Each channel's search is done for a batch of needs at once: one matrix product instead of
  one scan of the whole index per need, which at 100k profiles was most of a need's cost (20 ms
  of 25). Up to ``COPY_MAX`` profiles the product is numpy's against a copy of the vectors taken
  once per plan (``_DenseCopy``; with ``top_columns``, 0.55 ms a need and channel; FAISS's own
  batched search spends about as long per query as one search, keeping the best 100 of each),
  exact even where the live index is IVF (from 50k profiles; the lists' top 10 are the same,
  matching/ivf.py); above it FAISS's batched search. Each need's pool is then scored by
  ``score_profile_pool`` as on its match list, with those searches already answered
  (``_Prefetched``). The copy is the corpus when the plan started: a profile edited while the
  plan runs is ranked as it was.
- A pair's score is the need's fused match score and its ``rank`` the person's place on that
  need's list as a county officer sees it now (the list excludes the same full people).
- Places: a person's remaining capacity is capacity minus accepted and active placements
  (``Matcher.places``); a need's remaining headcount is headcount minus its accepted and active
  placements. A proposal still awaiting an answer holds no place, as everywhere else.
- Eligibility: DOMAIN.md lists hometown (三乡工程), region and availability among "what matters
  in a match", not as rules, and the ranking already weighs them (``matching.fusion``), so every
  pair is eligible and they act through the score.
- Employer: the profile's affiliation, normalised (NFKC, no spaces); blank means unknown, which
  ``max_per_employer`` does not limit.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlmodel import Session, col, select

from app.counties.models import County
from app.matches.loader import chunks
from app.matches.matcher import Matcher
from app.needs.models import Need
from app.placements import counts
from app.profiles.models import Profile
from matching.allocation import AllocationProblem
from matching.encoders import l2_normalise
from matching.fusion import default_weights
from matching.idrows import IdRows
from matching.index import DenseIndex
from matching.scoring import ScoredPool, score_profile_pool, second_channel
from matching.types import MatchFilters, NeedDoc, Query

TOP_K = 50
# Needs whose dense search is done together. On the live index (IVF) each batch holds the
# corpus lock once for the search (tens of ms at 100k profiles), so that a request waits for at
# most one batch; on copies no lock is held, and a larger batch reads the copied vectors from
# memory fewer times (the product is bound by memory bandwidth: 0.9 ms a need at 32, 0.45 ms at
# 128, 100k x 512).
BATCH = 32
COPY_BATCH = 128
COPY_CHUNK = 8192  # vectors copied per hold of the corpus lock
# Channels of at most this many profiles are copied (exact or IVF alike: 0.9 GB for both at
# 250k); larger ones are searched with FAISS's batched search on the live index. At 100k
# profiles with both channels IVF (nprobe 64, k 100) was no faster (candidates for 10,000
# needs 64.5 s, the copies 62.5 s on the same machine), and the copies' search is exact.
COPY_MAX = 250_000
_TERM_SPLIT = re.compile(r"[/／、,，;；|\s]+")


@dataclass(frozen=True)
class Scope:
    program: str | None = None
    region: str | None = None
    prefecture: str | None = None


@dataclass(frozen=True, eq=False)
class Candidates:
    """Rows of the allocation problem and the ids they stand for.

    Needs (``N``, in posting order): ``need_ids``, ``need_county`` (codes), ``need_prefecture``,
    ``need_terms`` (skill terms for the shortage table), ``need_headcount`` (seats left),
    ``need_poverty``. People (``P``): ``profile_ids``, ``person_capacity`` (places left),
    ``person_employer`` (label, -1 unknown). Pairs (``E``): ``cand_need``, ``cand_person``,
    ``cand_score``, ``cand_rank`` (1 = top of the need's list), ``cand_hometown``.
    """

    need_ids: npt.NDArray[np.int64]
    need_county: list[str]
    need_prefecture: list[str]
    need_terms: list[tuple[str, ...]]
    need_headcount: npt.NDArray[np.int32]
    need_poverty: npt.NDArray[np.bool_]
    profile_ids: npt.NDArray[np.int64]
    person_capacity: npt.NDArray[np.int32]
    person_employer: npt.NDArray[np.int64]
    cand_need: npt.NDArray[np.int32]
    cand_person: npt.NDArray[np.int32]
    cand_score: npt.NDArray[np.float64]
    cand_rank: npt.NDArray[np.int32]
    cand_hometown: npt.NDArray[np.bool_]
    model_version: str
    top_k: int
    seconds: float

    def problem(
        self,
        *,
        poverty_floor: bool | float,
        min_score: float | None,
        max_per_employer: int | None,
    ) -> AllocationProblem:
        n = len(self.need_ids)
        return AllocationProblem.build(
            cand_need=self.cand_need,
            cand_person=self.cand_person,
            cand_score=self.cand_score,
            person_capacity=self.person_capacity,
            person_employer=self.person_employer,
            need_headcount=self.need_headcount,
            need_poverty=self.need_poverty,
            need_county=np.array([int(c) for c in self.need_county], np.int64),
            need_order=np.arange(n, dtype=np.int64),  # rows are in posting order
            poverty_floor=poverty_floor,
            min_score=min_score,
            max_per_employer_per_county=max_per_employer,
        )


def skill_terms(industry: str) -> tuple[str, ...]:
    """A need's skill terms: its industry field split at / 、 , and spaces (现代农业/玉米种植)."""
    return tuple(dict.fromkeys(t for t in _TERM_SPLIT.split(industry.strip()) if t))


def employer_key(affiliation: str | None) -> str:
    """The same employer written twice the same way: full-width folded, no spaces."""
    if not affiliation:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", affiliation)).lower()


class _Prefetched:
    """The corpus's dense index with one need's unrestricted top-``k`` search already done (in a
    batch); every other call, such as the search among a county's natives, goes to the index,
    or, when the channel was copied, to the need's row of the batch's matrix product (every
    profile's similarity to this need, already computed for the top ``k``)."""

    def __init__(
        self,
        index: DenseIndex,
        hit: tuple[Any, Any],
        k: int,
        copy: _DenseCopy | None,
        query: npt.NDArray[np.float32] | None = None,
        row: npt.NDArray[np.float32] | None = None,
    ) -> None:
        self._index = index
        self._hit: tuple[Any, Any] | None = hit
        self._k = k
        self._copy = copy
        self._query = query
        self._row = row

    def _row_for(self, query: Any) -> npt.NDArray[np.float32] | None:
        """The batch's row when ``query`` is the (normalised) query it was computed for."""
        if self._row is None or self._query is None:
            return None
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        return self._row if np.array_equal(q, self._query) else None

    def scores_for(self, query: Any, ids: Any) -> Any:
        return self.scores_present(query, ids)[0]

    def search(
        self, queries: Any, k: int, allowed_ids: Any = None, exclude_ids: Any = ()
    ) -> tuple[Any, Any]:
        hit, self._hit = self._hit, None
        if hit is not None and k == self._k and allowed_ids is None:
            return hit
        if self._copy is not None and allowed_ids is not None:
            return self._copy.search_among(
                queries, k, allowed_ids, exclude_ids, self._row_for(queries)
            )
        return self._index.search(queries, k, allowed_ids, exclude_ids)

    def scores_present(self, query: Any, ids: Any) -> tuple[Any, Any]:
        if self._copy is None:
            return self._index.scores_present(query, ids)
        return self._copy.scores_present(query, ids, self._row_for(query))

    def __len__(self) -> int:
        return len(self._index)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


class _DenseCopy:
    """An exact dense index's vectors copied once (``(n, dim)``), people excluded from every
    search marked, searched a batch of queries at a time with one matrix product."""

    def __init__(self, dense: DenseIndex, excluded: npt.NDArray[np.int64], lock: Any) -> None:
        # Copied a chunk at a time, each under the corpus lock: a request waits for one chunk,
        # not the whole copy (the plan's thread runs at a lower priority and, holding the lock
        # for the 350 MB of both channels, kept a request of its worker waiting up to 1 s). A
        # profile removed meanwhile is copied as zeros and marked out like the excluded.
        with lock:
            self.ids = dense.ids
        self.vectors = np.zeros((len(self.ids), dense.dim), dtype=np.float32)
        for start in range(0, len(self.ids), COPY_CHUNK):
            with lock:
                part = dense.vectors_for(self.ids[start : start + COPY_CHUNK])
            self.vectors[start : start + len(part)] = part
        gone = ~self.vectors.any(axis=1)
        self.out = np.flatnonzero(np.isin(self.ids, excluded) | gone)
        self.positions = IdRows(self.ids)

    def scores_for(self, query: Any, ids: Any) -> npt.NDArray[np.float32]:
        """``DenseIndex.scores_for`` from the copy (0 for a profile it does not hold)."""
        return self.scores_present(query, ids)[0]

    def scores_present(
        self, query: Any, ids: Any, row: npt.NDArray[np.float32] | None = None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """``DenseIndex.scores_present`` from the copy: the scores, and which ids it holds (the
        second channel holds only the profiles the fill has reached). ``row``: this query's
        similarity to every copied vector, when a batch's product already holds it."""
        pos = self.positions.rows(np.asarray(ids, dtype=np.int64))
        found = pos >= 0
        out = np.zeros(len(pos), np.float32)
        if row is not None:
            out[found] = row[pos[found]]
        else:
            q = l2_normalise(query)[0].astype(np.float32)
            out[found] = self.vectors[pos[found]] @ q
        return out, found

    def search_among(
        self,
        query: Any,
        k: int,
        allowed: Any,
        excluded: Any,
        row: npt.NDArray[np.float32] | None = None,
    ) -> tuple[Any, Any]:
        """``DenseIndex.search`` of one query among ``allowed`` ids (a county's natives):
        ``(scores, ids)``, both ``(1, k)``, ties by id as ``DenseIndex`` breaks them."""
        ids = np.asarray(allowed, dtype=np.int64)
        ids = ids[~np.isin(ids, np.asarray(excluded, dtype=np.int64))]
        sims = self.scores_present(query, ids, row)[0]
        out_s = np.full((1, k), -np.inf, np.float32)
        out_i = np.full((1, k), -1, np.int64)
        kk = min(k, len(ids))
        if kk:
            top = np.argpartition(-sims, kk - 1)[:kk]
            top = top[np.lexsort((ids[top], -sims[top]))]
            out_s[0, :kk], out_i[0, :kk] = sims[top], ids[top]
        return out_s, out_i

    def search(
        self, matrix: npt.NDArray[np.float32], k: int
    ) -> tuple[Any, Any, npt.NDArray[np.float32]]:
        """``(scores, ids, rows)``: the first two ``(len(matrix), k)``, best first, padded with
        -inf / -1 as ``DenseIndex.search`` pads them; ``rows`` every query's similarity to every
        copied vector, ``(len(matrix), n)``."""
        b, n = len(matrix), len(self.ids)
        if n == 0:
            empty = np.zeros((b, 0), np.float32)
            return np.full((b, k), -np.inf, np.float32), np.full((b, k), -1, np.int64), empty
        scores = matrix.astype(np.float32) @ self.vectors.T
        kept = scores[:, self.out].copy()
        scores[:, self.out] = -np.inf
        m = min(k, n)
        part = top_columns(scores, m)
        top = np.take_along_axis(scores, part, axis=1)
        scores[:, self.out] = kept
        order = np.argsort(-top, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        ids = self.ids[np.take_along_axis(part, order, axis=1)]
        ids[~np.isfinite(top)] = -1
        if m < k:
            top = np.pad(top, ((0, 0), (0, k - m)), constant_values=-np.inf)
            ids = np.pad(ids, ((0, 0), (0, k - m)), constant_values=-1)
        return top, ids, scores


def top_columns(scores: npt.NDArray[np.float32], m: int) -> npt.NDArray[np.intp]:
    """Each row's ``m`` largest columns, in no particular order: ``(rows, m)``.

    The same set as ``np.argpartition(-scores, m - 1, axis=1)[:, :m]`` (up to ties), about four
    times faster at 100k columns: a row's values at or above the ``2m / 8``-th largest of every
    eighth column are usually a few hundred, which then hold its ``m`` largest and are
    partitioned alone; a row where they are fewer than ``m`` is partitioned whole.
    """
    rows, n = scores.shape
    if n < 32 * m:
        return np.argpartition(-scores, m - 1, axis=1)[:, :m]
    stride = 8
    j = -((2 * m + stride - 1) // stride)  # the ceil(2m / stride)-th largest of the sample
    floor = np.partition(scores[:, ::stride], j, axis=1)[:, j]
    out = np.empty((rows, m), dtype=np.intp)
    for r in range(rows):
        row = scores[r]
        above = np.flatnonzero(row >= floor[r])
        if len(above) < m:
            out[r] = np.argpartition(-row, m - 1)[:m]
        else:
            out[r] = above[np.argpartition(-row[above], m - 1)[:m]]
    return out


@dataclass(frozen=True, slots=True)
class _Copies:
    """The exact dense channels copied for the plan (None: search the live index)."""

    dense: _DenseCopy | None
    second: _DenseCopy | None
    batch: int = BATCH


def _copies(matcher: Matcher, filters: MatchFilters, any_queries: bool) -> _Copies:
    corpus = matcher.corpus
    with corpus.lock:
        allowed, excluded = corpus.table.filter_ids(filters)
        if allowed is not None or not any_queries:
            return _Copies(None, None)
        first = corpus.dense if len(corpus.dense) <= COPY_MAX else None
        second = corpus.second if corpus.second is not None and len(corpus.second) else None
    dense = _DenseCopy(first, excluded, corpus.lock) if first is not None else None
    copy2 = (
        _DenseCopy(second, excluded, corpus.lock)
        if second is not None and len(second) <= COPY_MAX
        else None
    )
    copied = dense is not None and (copy2 is not None or second is None)
    return _Copies(dense, copy2, COPY_BATCH if copied else BATCH)


def _batched(
    index: DenseIndex | None,
    copy: _DenseCopy | None,
    vectors: list[Any],
    k: int,
    filters: MatchFilters,
    corpus: Any,
) -> list[_Prefetched | None]:
    """Each vector's top-``k`` search in ``index`` (None where there is no vector), done as one
    batch: a matrix product on the copy, or FAISS's batched search."""
    rows = [i for i, v in enumerate(vectors) if v is not None]
    out: list[_Prefetched | None] = [None] * len(vectors)
    if not rows or index is None:
        return out
    matrix = np.concatenate([l2_normalise(vectors[i]) for i in rows])
    if copy is not None:
        scores, ids, sims = copy.search(matrix, k)
    else:
        with corpus.lock:
            allowed, excluded = corpus.table.filter_ids(filters)
            scores, ids = index.search(matrix, k, allowed, excluded)
        sims = None
    for j, i in enumerate(rows):
        hit = (scores[j : j + 1], ids[j : j + 1])
        row = sims[j] if sims is not None else None
        out[i] = _Prefetched(index, hit, k, copy, matrix[j], row)
    return out


def _pools(
    matcher: Matcher, queries: list[Query], filters: MatchFilters, copies: _Copies
) -> list[ScoredPool]:
    """Each query's scored pool, as ``ProfileCorpus.search`` scores it (both dense channels
    where the need has a second vector, with the same weights), the dense searches batched."""
    corpus = matcher.corpus
    with corpus.lock:
        second = corpus.second
        weights = [corpus.weights_for_query(q) for q in queries]
        twos = [second_channel(q, second) is not None for q in queries]
    pool = default_weights(corpus.dense.version.name).pool
    firsts = _batched(
        corpus.dense, copies.dense, [q.vector for q in queries], pool, filters, corpus
    )
    seconds = _batched(
        second,
        copies.second,
        [q.vector2 if two else None for q, two in zip(queries, twos, strict=True)],
        pool,
        filters,
        corpus,
    )
    out = []
    for i, query in enumerate(queries):
        first = firsts[i]
        dense = first if first is not None else corpus.dense
        second_index = seconds[i] if twos[i] and second is not None else None
        with corpus.lock:  # what ProfileCorpus.search holds, without writing the page
            out.append(
                score_profile_pool(
                    query,
                    lexical_index=corpus.lexical,
                    dense_index=dense,  # type: ignore[arg-type]
                    table=corpus.table,
                    counties=matcher.counties,
                    weights=weights[i],
                    filters=filters,
                    second_index=second_index,  # type: ignore[arg-type]
                )
            )
    return out


def _open_needs(session: Session, scope: Scope) -> list[tuple[Need, County]]:
    query = (
        select(Need, County)
        .join(County, col(County.code) == Need.county_code)
        .where(Need.status == "open")
        .order_by(col(Need.created_at), col(Need.id))
    )
    if scope.program:
        query = query.where(Need.program == scope.program)
    if scope.region:
        query = query.where(County.region == scope.region)
    if scope.prefecture:
        query = query.where(County.prefecture == scope.prefecture)
    return list(session.exec(query).all())


def _people(session: Session, ids: Sequence[int]) -> dict[int, tuple[int, str, str | None]]:
    """Profile id -> (capacity, affiliation, hometown county), read a chunk at a time."""
    out: dict[int, tuple[int, str, str | None]] = {}
    for chunk in chunks(ids):
        for pid, capacity, affiliation, home in session.exec(
            select(
                Profile.id, Profile.capacity, Profile.affiliation, Profile.hometown_county_code
            ).where(col(Profile.id).in_(chunk))
        ).all():
            assert pid is not None
            out[int(pid)] = (int(capacity), affiliation, home)
    return out


def generate(session: Session, matcher: Matcher, scope: Scope, top_k: int = TOP_K) -> Candidates:
    """Every open need in ``scope`` with seats left, and its ``top_k`` people."""
    started = time.perf_counter()
    places = matcher.places(session, matcher.sync(session))
    filters = MatchFilters(exclude_ids=places.full)
    held = counts.open_counts_by_need(session)
    need_ids: list[int] = []
    need_county: list[str] = []
    need_prefecture: list[str] = []
    need_terms: list[tuple[str, ...]] = []
    headcount: list[int] = []
    poverty: list[bool] = []
    pair_need: list[npt.NDArray[np.int64]] = []
    pair_profile: list[npt.NDArray[np.int64]] = []
    pair_score: list[npt.NDArray[np.float64]] = []
    pair_rank: list[npt.NDArray[np.int64]] = []
    queries: list[Query] = []
    for need, county in _open_needs(session, scope):
        assert need.id is not None
        left = need.headcount - held.get(need.id, 0)
        if left <= 0:
            continue
        need_ids.append(need.id)
        need_county.append(need.county_code)
        need_prefecture.append(county.prefecture)
        need_terms.append(skill_terms(need.industry))
        headcount.append(left)
        poverty.append(bool(county.poverty_county_2018))
        doc = NeedDoc(
            id=need.id,
            county_code=need.county_code,
            program=need.program,  # type: ignore[arg-type]
            title=need.title,
            description=need.description,
            industry=need.industry,
            headcount=need.headcount,
        )
        vector, tokens = matcher.query_for_need(session, doc)
        tokens = tokens + matcher.problem_tokens(doc, vector)  # as on its match list
        vector2 = matcher.second_query_for_need(session, doc)
        queries.append(Query.for_need(doc, vector, tokens, vector2))
    copies = _copies(matcher, filters, bool(queries))
    for start in range(0, len(queries), copies.batch):
        batch = queries[start : start + copies.batch]
        for offset, pool in enumerate(_pools(matcher, batch, filters, copies)):
            k = min(top_k, len(pool.ids))
            if k:
                pair_need.append(np.full(k, start + offset, np.int64))
                pair_profile.append(pool.ids[:k].astype(np.int64))
                # rounded as a match list shows it, so that a proposal records the same score
                scores: npt.NDArray[np.float64] = np.asarray(pool.scores[:k], dtype=np.float64)
                pair_score.append(np.round(scores, 6))
                pair_rank.append(np.arange(1, k + 1, dtype=np.int64))
    cand_profile = np.concatenate(pair_profile) if pair_profile else np.zeros(0, np.int64)
    profile_ids, cand_person = np.unique(cand_profile, return_inverse=True)
    people = _people(session, profile_ids.tolist())
    capacity = np.zeros(len(profile_ids), np.int32)
    employer = np.full(len(profile_ids), -1, np.int64)
    home: list[str | None] = []
    labels: dict[str, int] = {}
    for row, pid in enumerate(profile_ids.tolist()):
        cap, affiliation, hometown = people.get(pid, (0, "", None))  # deleted meanwhile: no room
        capacity[row] = max(0, cap - places.open.get(pid, 0))
        key = employer_key(affiliation)
        if key:
            employer[row] = labels.setdefault(key, len(labels))
        home.append(hometown)
    cand_need = np.concatenate(pair_need) if pair_need else np.zeros(0, np.int64)
    home_arr = np.array([h or "" for h in home], dtype=object)
    county_arr = np.array(need_county, dtype=object)
    cand_hometown = (
        (home_arr[cand_person] == county_arr[cand_need]).astype(bool)
        if len(cand_need)
        else np.zeros(0, bool)
    )
    return Candidates(
        need_ids=np.array(need_ids, np.int64),
        need_county=need_county,
        need_prefecture=need_prefecture,
        need_terms=need_terms,
        need_headcount=np.array(headcount, np.int32),
        need_poverty=np.array(poverty, bool),
        profile_ids=profile_ids.astype(np.int64),
        person_capacity=capacity,
        person_employer=employer,
        cand_need=cand_need.astype(np.int32),
        cand_person=cand_person.astype(np.int32),
        cand_score=np.concatenate(pair_score) if pair_score else np.zeros(0),
        cand_rank=(np.concatenate(pair_rank) if pair_rank else np.zeros(0, np.int64)).astype(
            np.int32
        ),
        cand_hometown=cand_hometown,
        model_version=matcher.model_version,
        top_k=top_k,
        seconds=time.perf_counter() - started,
    )
