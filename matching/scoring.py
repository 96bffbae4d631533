"""The pure steps behind ``ProfileCorpus``: score a query against the profiles, take the shown
page, write its reasons; and score one profile against the open needs.

A request for profiles goes pool -> filter -> fuse -> page -> reasons. Candidates are the union
of the dense top ``weights.pool``, the BM25 top ``weights.pool`` and, for ``return_home`` needs,
the best ``pool // 2`` people whose 籍贯 is the county (so that a native outside both top lists
still gets the hometown bonus at 1M profiles). That costs one or two dense searches and one BM25
pass, then array work on the pool; ``take_page`` keeps the first ``limit`` with the matched terms
the reasons need, as plain data. The caller fetches the page's profiles (and their remaining
capacity) itself and hands them to ``page_to_matches``: nothing here reads a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from matching.encoders import l2_normalise
from matching.fusion import (
    FusionWeights,
    Signals,
    compute_signals,
    default_weights,
    fuse,
    order_by_score,
)
from matching.index import DenseIndex
from matching.lexical import LexicalIndex, isin_ids
from matching.problems import Problem
from matching.reasons import build_reasons, telling_terms
from matching.table import CandidateAttributes, ProfileTable, availability_code, county_int
from matching.table import region_mask as _region_mask
from matching.types import (
    NO_FILTERS,
    RETURN_HOME_KINDS,
    CountyInfo,
    Match,
    MatchFilters,
    NeedDoc,
    NeedMatch,
    PageEntry,
    ProfileDoc,
    Query,
    RankedPage,
)

IntArray = npt.NDArray[np.int64]

DEFAULT_WEIGHTS = FusionWeights()
# the components a match shows (the fused channels and the raw scores behind them)
_SHOWN = (
    "dense",
    "dense2",
    "lexical",
    "hometown",
    "region",
    "availability",
    "programme",
    "dense_cosine",
    "dense2_cosine",
    "bm25",
)


@dataclass(frozen=True, slots=True)
class ScoredPool:
    """Every candidate considered for one query, fused and sorted best first."""

    ids: IntArray
    scores: npt.NDArray[np.float64]
    components: Mapping[str, npt.NDArray[np.float64]]


def score_profile_pool(
    query: Query,
    *,
    lexical_index: LexicalIndex,
    dense_index: DenseIndex,
    table: ProfileTable,
    counties: Mapping[str, CountyInfo],
    weights: FusionWeights | None = None,
    filters: MatchFilters = NO_FILTERS,
    second_index: DenseIndex | None = None,
) -> ScoredPool:
    """Candidates from every channel, filtered, fused and sorted (reads the structures).

    ``second_index``: the second dense channel (vectors of the quality encoder, filled in the
    background; it may hold only some profiles), used when the query has a ``vector2``.
    ``weights``: None means ``default_weights`` of the dense model(s) in use.
    """
    second = second_channel(query, second_index)
    if weights is None:
        weights = default_weights(
            dense_index.version.name, second.version.name if second is not None else None
        )
    county_code = query.county_code
    q = l2_normalise(query.vector)
    allowed, excluded = table.filter_ids(filters)
    _, dense_ids = dense_index.search(q, weights.pool, allowed, excluded)
    lex = lexical_index.score_query(query.tokens)
    lexical_ids, _ = lex.top(weights.pool, allowed, excluded)
    parts = [dense_ids[0][dense_ids[0] >= 0], lexical_ids]
    q2 = None
    if second is not None:
        q2 = l2_normalise(query.vector2)  # type: ignore[arg-type]
        _, second_ids = second.search(q2, weights.pool, allowed, excluded)
        parts.append(second_ids[0][second_ids[0] >= 0])
    if query.program == "return_home" and weights.hometown > 0 and county_code:
        # people from the county itself are candidates even when neither channel's top list
        # holds them (at 1M profiles a county has ~17k natives): their bonus must get a chance
        natives = table.ids_with_hometown(county_code)
        if allowed is not None:
            natives = natives[isin_ids(natives, allowed)]
        if len(natives):
            _, native_ids = dense_index.search(q, max(1, weights.pool // 2), natives, excluded)
            parts.append(native_ids[0][native_ids[0] >= 0])
    cand = np.unique(np.concatenate(parts))
    attrs = table.attributes(cand)
    ok = table.passes(attrs, filters)
    cand = cand[ok]
    attrs = _subset(attrs, ok)
    if len(cand) == 0:
        return ScoredPool(cand, np.zeros(0), MappingProxyType({}))
    dense_raw = dense_index.scores_for(q[0], cand)
    second_raw, second_present = None, None
    if second is not None and q2 is not None:
        second_raw, second_present = second.scores_present(q2[0], cand)
    lex_raw = lex.of(cand)
    signals = compute_signals(attrs, county_code, counties, weights.availability_values)
    total, comps = fuse(
        dense_raw,
        lex_raw,
        signals,
        weights,
        query.program == "return_home",
        second_raw,
        second_present,
    )
    order = order_by_score(cand, total)
    return ScoredPool(
        cand[order], total[order], MappingProxyType({k: v[order] for k, v in comps.items()})
    )


def second_channel(query: Query, second_index: DenseIndex | None) -> DenseIndex | None:
    """The second dense channel when it counts for this query: the query has a vector in it
    and it holds some profile (needs are filled first: a need's vector may come before any
    profile's, and is then ranked with one channel)."""
    if second_index is None or query.vector2 is None or not len(second_index):
        return None
    return second_index


def _subset(attrs: CandidateAttributes, keep: npt.NDArray[np.bool_]) -> CandidateAttributes:
    return CandidateAttributes(
        ids=attrs.ids[keep],
        known=attrs.known[keep],
        active=attrs.active[keep],
        kind=attrs.kind[keep],
        availability=attrs.availability[keep],
        hometown=attrs.hometown[keep],
        region_mask=attrs.region_mask[keep],
    )


def _semantic(components: Mapping[str, float]) -> float:
    """How close in meaning, for the reasons: the second dense channel's value where it
    counted (the better encoder), else the first's."""
    return float(components.get("dense2", components.get("dense", 0.0)))


def _telling(lexical_index: LexicalIndex, terms: Sequence[str]) -> list[str]:
    """The matched terms that may be offered as reasons (see ``reasons.telling_terms``)."""
    terms = list(terms)
    if not terms:
        return terms
    return telling_terms(terms, lexical_index.doc_share(terms).tolist(), len(lexical_index))


def take_page(
    pool: ScoredPool, limit: int, query: Query, lexical_index: LexicalIndex
) -> RankedPage:
    """The first ``limit`` of the pool with their matched terms (reads the lexical index)."""
    ids = [int(i) for i in pool.ids[:limit]]
    matched = lexical_index.matched_terms(query.tokens, ids)
    # every matched term is one of the query's: their shares and idf once for the page
    vocab = list(dict.fromkeys(t for found in matched for t in found))
    share = dict(zip(vocab, lexical_index.doc_share(vocab).tolist(), strict=True))
    idf = dict(zip(vocab, lexical_index.idf(vocab).tolist(), strict=True))
    entries = []
    for r, profile_id in enumerate(ids):
        found = matched[r]
        terms = tuple(telling_terms(found, [share[t] for t in found], len(lexical_index)))
        comps = {k: round(float(pool.components[k][r]), 4) for k in _SHOWN if k in pool.components}
        entries.append(
            PageEntry(
                profile_id=profile_id,
                score=round(float(pool.scores[r]), 6),
                components=MappingProxyType(comps),
                matched_terms=terms,
                term_weights=tuple(idf[t] for t in terms),
            )
        )
    return RankedPage(query, tuple(entries))


def page_to_matches(
    page: RankedPage,
    *,
    profiles: Mapping[int, ProfileDoc],
    counties: Mapping[str, CountyInfo],
    remaining_capacity: Mapping[int, int] | None = None,
    problems: Sequence[tuple[Problem, str]] = (),
) -> list[Match]:
    """``Match`` objects with reasons, from the page and the data the caller fetched for it.

    ``profiles``: the page's profiles by id (one missing, e.g. deleted meanwhile, gets no
    reasons); ``remaining_capacity``: places left by profile id (absent: no capacity note);
    ``problems``: those recognised in the need (``ProblemMap.find``), for 问题对应 reasons.
    """
    query = page.query
    left = remaining_capacity or {}
    out: list[Match] = []
    for r, entry in enumerate(page.entries):
        doc = profiles.get(entry.profile_id)
        reasons: tuple[str, ...] = ()
        if doc is not None:
            reasons = build_reasons(
                doc,
                county_code=query.county_code,
                program=query.program,
                counties=counties,
                matched_terms=entry.matched_terms,
                term_weights=entry.term_weights,
                need_text=query.text,
                dense_strength=_semantic(entry.components),
                remaining_capacity=left.get(entry.profile_id),
                problems=problems,
            )
        out.append(
            Match(
                profile_id=entry.profile_id,
                rank=r + 1,
                score=entry.score,
                components=entry.components,
                reasons=reasons,
            )
        )
    return out


def rank_needs_for_profile(
    profile: ProfileDoc,
    profile_vector: npt.ArrayLike,
    profile_tokens: Sequence[str],
    needs: Sequence[NeedDoc],
    need_vectors: npt.ArrayLike,
    need_token_lists: Sequence[Sequence[str]],
    *,
    lexical_index: LexicalIndex,
    counties: Mapping[str, CountyInfo],
    weights: FusionWeights | None = None,
    limit: int = 10,
    profile_vector2: npt.ArrayLike | None = None,
    need_vectors2: npt.ArrayLike | None = None,
    need_present2: npt.ArrayLike | None = None,
) -> list[NeedMatch]:
    """The open needs that fit a person, scored with the same pairwise channels as the forward
    direction (need vector . profile vector; BM25 of the need's terms in the profile under the
    profile index's statistics) and normalised over the needs' pool.

    ``profile_vector``: ``(dim,)`` passage vector; ``need_vectors``: ``(len(needs), dim)`` query
    vectors; ``need_token_lists``: one token list per need. An inactive profile gets no needs.
    ``weights``: pass ``default_weights(model_version.name)``; None means the E5 defaults.
    ``profile_vector2``/``need_vectors2``/``need_present2``: the second dense channel (rows of
    needs without a vector there are ignored, ``need_present2`` False), used when
    ``weights.dense2`` is above 0.
    """
    if not profile.active or not needs:
        return []
    if weights is None:
        weights = DEFAULT_WEIGHTS
    need_units = l2_normalise(need_vectors)
    if len(need_units) != len(needs) or len(need_token_lists) != len(needs):
        raise ValueError("needs, need_vectors and need_token_lists differ in length")
    profile_unit = l2_normalise(profile_vector)[0]
    dense_all = need_units @ profile_unit
    term_w = lexical_index.doc_term_weights(profile_tokens)
    lex_all = np.fromiter(
        (sum(term_w.get(t, 0.0) for t in set(toks)) for toks in need_token_lists),
        dtype=np.float64,
        count=len(needs),
    )
    k = min(weights.pool, len(needs))
    top_dense = np.argpartition(-dense_all, k - 1)[:k]
    positive = np.flatnonzero(lex_all > 0)
    top_lexical = positive[np.argsort(-lex_all[positive], kind="stable")[:k]]
    tops = [top_dense, top_lexical]
    dense2_all: npt.NDArray[np.float64] | None = None
    present2 = np.zeros(len(needs), dtype=bool)
    if weights.dense2 > 0 and profile_vector2 is not None and need_vectors2 is not None:
        present2 = (
            np.ones(len(needs), dtype=bool)
            if need_present2 is None
            else np.asarray(need_present2, dtype=bool)
        )
        dense2_all = np.asarray(
            l2_normalise(need_vectors2) @ l2_normalise(profile_vector2)[0], dtype=np.float64
        )
        held = np.flatnonzero(present2)
        if len(held):
            tops.append(held[np.argsort(-dense2_all[held], kind="stable")[:k]])
    pool = np.unique(np.concatenate(tops))
    signals = _signals_for_needs(profile, [needs[i] for i in pool], counties, weights)
    return_home = np.array([needs[i].program == "return_home" for i in pool], dtype=bool)
    total, comps = fuse(
        dense_all[pool],
        lex_all[pool],
        signals,
        weights,
        return_home,
        dense2_all[pool] if dense2_all is not None else None,
        present2[pool],
    )
    need_ids = np.array([needs[i].id for i in pool], dtype=np.int64)
    order = order_by_score(need_ids, total)[:limit]
    profile_terms = set(profile_tokens)
    out: list[NeedMatch] = []
    for r, j in enumerate(order.tolist()):
        need = needs[int(pool[j])]
        toks = need_token_lists[int(pool[j])]
        matched = _telling(lexical_index, [t for t in dict.fromkeys(toks) if t in profile_terms])
        idf = lexical_index.idf(matched)
        by_idf_order = np.argsort(-idf, kind="stable")
        by_idf = [matched[i] for i in by_idf_order]
        comp = {name: round(float(v[j]), 4) for name, v in comps.items() if name in _SHOWN}
        reasons = build_reasons(
            profile,
            county_code=need.county_code,
            program=need.program,
            counties=counties,
            matched_terms=by_idf,
            term_weights=idf[by_idf_order].tolist(),
            need_text=need.title + need.description,
            dense_strength=_semantic(comp),
        )
        out.append(
            NeedMatch(
                need_id=need.id,
                rank=r + 1,
                score=round(float(total[j]), 6),
                components=MappingProxyType(comp),
                reasons=reasons,
            )
        )
    return out


def _signals_for_needs(
    profile: ProfileDoc,
    needs: Sequence[NeedDoc],
    counties: Mapping[str, CountyInfo],
    weights: FusionWeights,
) -> Signals:
    """Signals of one profile against each need (the need's county varies)."""
    n = len(needs)
    home = np.zeros(n)
    region = np.zeros(n)
    mask = _region_mask(profile.preferred_regions)
    my_home = county_int(profile.hometown_county_code)
    home_info = counties.get(profile.hometown_county_code or "")
    for i, need in enumerate(needs):
        info = counties.get(need.county_code)
        if my_home and my_home == county_int(need.county_code):
            home[i] = 1.0
        elif home_info is not None and info is not None and home_info.prefecture == info.prefecture:
            home[i] = 0.5
        if mask and info is not None:
            region[i] = 1.0 if mask & _region_mask([info.region]) else -1.0
    code = availability_code(profile.availability)
    avail_value = weights.availability_values.get(profile.availability, 0.0) if code >= 0 else 0.0
    programme = -1.0 if profile.kind in RETURN_HOME_KINDS else 0.0
    return Signals(home, region, np.full(n, avail_value), np.full(n, programme))
