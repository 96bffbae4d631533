"""Ranking: profiles for a need, needs for a profile, profiles for free text.

Two layers, as in sentence-transformers' ``paraphrase_mining`` -> ``paraphrase_mining_embeddings``:

* the ``rank_*``/``search_profiles`` functions take vectors and token lists that the caller already
  has (needs and profiles are encoded once, when saved, and stored), so a match request never runs
  the model and is testable with synthetic arrays;
* ``match_need`` and ``search_text`` encode and tokenise first, then call them.

Candidates are the union of the dense top ``weights.pool``, the BM25 top ``weights.pool`` and,
for ``return_home`` needs, the best ``pool // 2`` people whose 籍贯 is the county (so that a
native outside both top lists still gets the hometown bonus at 1M profiles). A request costs
one or two dense searches and one BM25 pass, then array work on that pool; only the final page
is turned into ``Match`` objects with reasons, and only those profiles are fetched through
``profiles``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from matching.encoders import Encoder, l2_normalise
from matching.fusion import (
    FusionWeights,
    Signals,
    compute_signals,
    default_weights,
    fuse,
    order_by_score,
)
from matching.index import DenseIndex
from matching.lexical import ChineseTokenizer, LexicalIndex, isin_ids
from matching.reasons import build_reasons
from matching.table import CandidateAttributes, ProfileTable, availability_code, county_int
from matching.table import region_mask as _region_mask
from matching.text import need_dense_text, need_tokens
from matching.types import (
    NO_FILTERS,
    CountyInfo,
    Match,
    MatchFilters,
    NeedDoc,
    NeedMatch,
    ProfileDoc,
    Program,
)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

DEFAULT_WEIGHTS = FusionWeights()
ProfileSource = Mapping[int, ProfileDoc] | Callable[[list[int]], Mapping[int, ProfileDoc]]


@dataclass(frozen=True, slots=True)
class ScoredPool:
    """Every candidate considered for one query, fused and sorted best first."""

    ids: IntArray
    scores: npt.NDArray[np.float64]
    components: Mapping[str, npt.NDArray[np.float64]]


def _fetch(profiles: ProfileSource, ids: list[int]) -> Mapping[int, ProfileDoc]:
    if isinstance(profiles, Mapping):
        return profiles
    return profiles(ids)


def score_profile_pool(
    query_vector: npt.ArrayLike,
    query_tokens: Sequence[str],
    *,
    lexical_index: LexicalIndex,
    dense_index: DenseIndex,
    table: ProfileTable,
    counties: Mapping[str, CountyInfo],
    county_code: str | None,
    program: Program | None,
    weights: FusionWeights | None = None,
    filters: MatchFilters = NO_FILTERS,
) -> ScoredPool:
    """Candidates from both channels, filtered, fused and sorted. ``query_vector``: ``(dim,)``.

    ``weights``: None means ``default_weights`` of the dense index's model.
    """
    if weights is None:
        weights = default_weights(dense_index.version.name)
    q = l2_normalise(query_vector)
    allowed, excluded = table.filter_ids(filters)
    _, d_ids = dense_index.search(q, weights.pool, allowed, excluded)
    lex = lexical_index.score_query(query_tokens)
    l_ids, _ = lex.top(weights.pool, allowed, excluded)
    parts = [d_ids[0][d_ids[0] >= 0], l_ids]
    if program == "return_home" and weights.hometown > 0 and county_code:
        # people from the county itself are candidates even when neither channel's top list
        # holds them (at 1M profiles a county has ~17k natives): their bonus must get a chance
        natives = table.ids_with_hometown(county_code)
        if allowed is not None:
            natives = natives[isin_ids(natives, allowed)]
        if len(natives):
            _, h_ids = dense_index.search(q, max(1, weights.pool // 2), natives, excluded)
            parts.append(h_ids[0][h_ids[0] >= 0])
    cand = np.unique(np.concatenate(parts))
    attrs = table.attributes(cand)
    ok = table.passes(attrs, filters)
    cand = cand[ok]
    attrs = _subset(attrs, ok)
    if len(cand) == 0:
        return ScoredPool(cand, np.zeros(0), MappingProxyType({}))
    dense_raw = dense_index.scores_for(q[0], cand)
    lex_raw = lex.of(cand)
    signals = compute_signals(attrs, county_code, counties, weights.availability_values)
    total, comps = fuse(dense_raw, lex_raw, signals, weights, program == "return_home")
    order = order_by_score(cand, total)
    return ScoredPool(
        cand[order], total[order], MappingProxyType({k: v[order] for k, v in comps.items()})
    )


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


_SHOWN = ("dense", "lexical", "hometown", "region", "availability", "dense_cosine", "bm25")


@dataclass(frozen=True, slots=True)
class Page:
    """The shown part of a pool with what the reasons need from the lexical index."""

    pool: ScoredPool
    ids: list[int]
    terms: list[list[str]]
    term_weights: list[list[float]]


def take_page(
    pool: ScoredPool, limit: int, query_tokens: Sequence[str], lexical_index: LexicalIndex
) -> Page:
    """The first ``limit`` ids of the pool and their matched terms (reads the lexical index)."""
    ids = [int(i) for i in pool.ids[:limit]]
    terms = lexical_index.matched_terms(query_tokens, ids) if ids else []
    weights = [lexical_index.idf(t).tolist() for t in terms]
    return Page(pool, ids, terms, weights)


def page_to_matches(
    page: Page,
    *,
    query_text: str,
    profiles: ProfileSource,
    counties: Mapping[str, CountyInfo],
    county_code: str | None,
    program: Program | None,
    remaining_capacity: Mapping[int, int] | None = None,
) -> list[Match]:
    """``Match`` objects with reasons; fetches only the shown profiles (no index access)."""
    if not page.ids:
        return []
    docs = _fetch(profiles, page.ids)
    pool = page.pool
    out: list[Match] = []
    for r, pid in enumerate(page.ids):
        comps = {k: round(float(pool.components[k][r]), 4) for k in _SHOWN if k in pool.components}
        doc = docs.get(pid)
        reasons: tuple[str, ...] = ()
        if doc is not None:
            reasons = build_reasons(
                doc,
                county_code=county_code,
                program=program,
                counties=counties,
                matched_terms=page.terms[r],
                term_weights=page.term_weights[r],
                need_text=query_text,
                dense_strength=comps.get("dense", 0.0),
                remaining_capacity=(remaining_capacity or {}).get(pid),
            )
        out.append(
            Match(
                profile_id=pid,
                rank=r + 1,
                score=round(float(pool.scores[r]), 6),
                components=MappingProxyType(comps),
                reasons=reasons,
            )
        )
    return out


def rank_profiles_for_need(
    need: NeedDoc,
    need_vector: npt.ArrayLike,
    need_tokens: Sequence[str],
    *,
    lexical_index: LexicalIndex,
    dense_index: DenseIndex,
    table: ProfileTable,
    profiles: ProfileSource,
    counties: Mapping[str, CountyInfo],
    weights: FusionWeights | None = None,
    limit: int = 10,
    filters: MatchFilters = NO_FILTERS,
    remaining_capacity: Mapping[int, int] | None = None,
) -> list[Match]:
    """The best ``limit`` profiles for a need, with components and reasons.

    ``need_vector``: ``(dim,)`` from ``encoder.encode_queries([need_dense_text(need)])``;
    ``need_tokens``: ``need_tokens(need, tokenizer)``. ``profiles``: a mapping id -> ProfileDoc
    or a function fetching the given ids (called once, for the page shown). Inactive profiles,
    ``filters.exclude_ids`` (e.g. no capacity left) and profiles failing the kind/availability
    filters are never returned.
    """
    pool = score_profile_pool(
        need_vector,
        need_tokens,
        lexical_index=lexical_index,
        dense_index=dense_index,
        table=table,
        counties=counties,
        county_code=need.county_code,
        program=need.program,
        weights=weights,
        filters=filters,
    )
    return page_to_matches(
        take_page(pool, limit, need_tokens, lexical_index),
        query_text=need.title + need.description,
        profiles=profiles,
        counties=counties,
        county_code=need.county_code,
        program=need.program,
        remaining_capacity=remaining_capacity,
    )


def search_profiles(
    query_text: str,
    query_vector: npt.ArrayLike,
    query_tokens: Sequence[str],
    *,
    lexical_index: LexicalIndex,
    dense_index: DenseIndex,
    table: ProfileTable,
    profiles: ProfileSource,
    counties: Mapping[str, CountyInfo],
    county_code: str | None = None,
    program: Program | None = None,
    weights: FusionWeights | None = None,
    limit: int = 10,
    filters: MatchFilters = NO_FILTERS,
) -> list[Match]:
    """Profiles for a free-text query; county and programme signals apply when given."""
    pool = score_profile_pool(
        query_vector,
        query_tokens,
        lexical_index=lexical_index,
        dense_index=dense_index,
        table=table,
        counties=counties,
        county_code=county_code,
        program=program,
        weights=weights,
        filters=filters,
    )
    return page_to_matches(
        take_page(pool, limit, query_tokens, lexical_index),
        query_text=query_text,
        profiles=profiles,
        counties=counties,
        county_code=county_code,
        program=program,
        remaining_capacity=None,
    )


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
) -> list[NeedMatch]:
    """The open needs that fit a person, scored with the same pairwise channels as the forward
    direction (need vector . profile vector; BM25 of the need's terms in the profile under the
    profile index's statistics) and normalised over the needs' pool.

    ``profile_vector``: ``(dim,)`` passage vector; ``need_vectors``: ``(len(needs), dim)`` query
    vectors; ``need_token_lists``: one token list per need. An inactive profile gets no needs.
    ``weights``: pass ``default_weights(model_version.name)``; None means the E5 defaults.
    """
    if not profile.active or not needs:
        return []
    if weights is None:
        weights = DEFAULT_WEIGHTS
    nv = l2_normalise(need_vectors)
    if len(nv) != len(needs) or len(need_token_lists) != len(needs):
        raise ValueError("needs, need_vectors and need_token_lists differ in length")
    pv = l2_normalise(profile_vector)[0]
    dense_all = nv @ pv
    term_w = lexical_index.doc_term_weights(profile_tokens)
    lex_all = np.fromiter(
        (sum(term_w.get(t, 0.0) for t in set(toks)) for toks in need_token_lists),
        dtype=np.float64,
        count=len(needs),
    )
    k = min(weights.pool, len(needs))
    top_d = np.argpartition(-dense_all, k - 1)[:k]
    pos = np.flatnonzero(lex_all > 0)
    top_l = pos[np.argsort(-lex_all[pos], kind="stable")[:k]]
    pool = np.unique(np.concatenate([top_d, top_l]))
    signals = _signals_for_needs(profile, [needs[i] for i in pool], counties, weights)
    return_home = np.array([needs[i].program == "return_home" for i in pool], dtype=bool)
    total, comps = fuse(dense_all[pool], lex_all[pool], signals, weights, return_home)
    need_ids = np.array([needs[i].id for i in pool], dtype=np.int64)
    order = order_by_score(need_ids, total)[:limit]
    p_terms = set(profile_tokens)
    out: list[NeedMatch] = []
    for r, j in enumerate(order.tolist()):
        need = needs[int(pool[j])]
        toks = need_token_lists[int(pool[j])]
        matched = [t for t in dict.fromkeys(toks) if t in p_terms]
        idf = lexical_index.idf(matched)
        by_idf_order = np.argsort(-idf, kind="stable")
        by_idf = [matched[i] for i in by_idf_order]
        comp = {k2: round(float(v[j]), 4) for k2, v in comps.items() if k2 in _SHOWN}
        reasons = build_reasons(
            profile,
            county_code=need.county_code,
            program=need.program,
            counties=counties,
            matched_terms=by_idf,
            term_weights=idf[by_idf_order].tolist(),
            need_text=need.title + need.description,
            dense_strength=comp.get("dense", 0.0),
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
    return Signals(home, region, np.full(n, avail_value))


# ---------------------------------------------------------------- encode, then rank
def match_need(
    need: NeedDoc,
    *,
    encoder: Encoder,
    tokenizer: ChineseTokenizer,
    lexical_index: LexicalIndex,
    dense_index: DenseIndex,
    table: ProfileTable,
    profiles: ProfileSource,
    counties: Mapping[str, CountyInfo],
    weights: FusionWeights | None = None,
    limit: int = 10,
    filters: MatchFilters = NO_FILTERS,
) -> list[Match]:
    """Encode and tokenise a need, then ``rank_profiles_for_need`` (prefer stored vectors)."""
    vec = encoder.encode_queries([need_dense_text(need)])[0]
    return rank_profiles_for_need(
        need,
        vec,
        need_tokens(need, tokenizer),
        lexical_index=lexical_index,
        dense_index=dense_index,
        table=table,
        profiles=profiles,
        counties=counties,
        weights=weights,
        limit=limit,
        filters=filters,
    )


def search_text(
    text: str,
    *,
    encoder: Encoder,
    tokenizer: ChineseTokenizer,
    lexical_index: LexicalIndex,
    dense_index: DenseIndex,
    table: ProfileTable,
    profiles: ProfileSource,
    counties: Mapping[str, CountyInfo],
    county_code: str | None = None,
    program: Program | None = None,
    weights: FusionWeights | None = None,
    limit: int = 10,
    filters: MatchFilters = NO_FILTERS,
) -> list[Match]:
    """Free-text search: encode the query (one E5 query ~20-30 ms), tokenise, rank."""
    vec = encoder.encode_queries([text])[0]
    return search_profiles(
        text,
        vec,
        tokenizer.tokenize_query(text),
        lexical_index=lexical_index,
        dense_index=dense_index,
        table=table,
        profiles=profiles,
        counties=counties,
        county_code=county_code,
        program=program,
        weights=weights,
        limit=limit,
        filters=filters,
    )
