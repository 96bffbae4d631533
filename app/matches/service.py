"""Match lists for needs, people and free text, and where a person stands on a need's list.

Request-time work: bring the matcher up to date (``Matcher.sync``), take the need's query vector
(held by the matcher for an open need), exclude people with no remaining capacity, and let the
corpus rank; only the shown page of profiles is read from the database. Nothing here runs the
model except ``search`` (one short query) and needs or profiles saved by a process with another
model.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.matches import embeddings
from app.matches.matcher import Matcher
from app.matches.models import ProfileEmbedding
from app.matches.schemas import MatchItem, NeedMatches, ProfileMatches, SearchIn, SearchResult
from app.needs.docs import need_doc
from app.needs.models import Need
from app.placements.models import OPEN_STATUSES, Placement
from app.profiles.docs import profile_doc
from app.profiles.models import Profile
from matching.types import Match, MatchFilters, NeedMatch, ProfileDoc

__all__ = [
    "Matcher",
    "Provenance",
    "need_matches",
    "profile_matches",
    "provenance",
    "search",
]


@dataclass(frozen=True)
class Provenance:
    rank: int | None
    score: float | None
    components: dict[str, float] = field(default_factory=dict)
    model_version: str | None = None


def _open_counts(session: Session, ids: list[int] | None = None) -> dict[int, int]:
    query = (
        select(Placement.profile_id, func.count())
        .where(col(Placement.status).in_(OPEN_STATUSES))
        .group_by(col(Placement.profile_id))
    )
    if ids is not None:
        query = query.where(col(Placement.profile_id).in_(ids))
    return {pid: int(n) for pid, n in session.exec(query).all()}


def full_profiles(session: Session) -> frozenset[int]:
    """People whose accepted and active placements already fill their capacity."""
    counts = (
        select(Placement.profile_id, func.count().label("n"))
        .where(col(Placement.status).in_(OPEN_STATUSES))
        .group_by(col(Placement.profile_id))
        .subquery()
    )
    rows = session.exec(
        select(Profile.id)
        .join(counts, counts.c.profile_id == Profile.id)
        .where(counts.c.n >= Profile.capacity)
    ).all()
    return frozenset(int(i) for i in rows if i is not None)


def _fetch_docs(session: Session, ids: list[int]) -> Mapping[int, ProfileDoc]:
    rows = session.exec(select(Profile).where(col(Profile.id).in_(ids))).all()
    return {p.id: profile_doc(p) for p in rows if p.id is not None}


class RemainingCapacity(Mapping[int, int]):
    """Places left per person, computed only for the people the reasons are written for."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._used = _open_counts(session)

    def __getitem__(self, profile_id: int) -> int:
        profile = self._session.get(Profile, profile_id)  # already loaded for the page
        if profile is None:
            raise KeyError(profile_id)
        return profile.capacity - self._used.get(profile_id, 0)

    def __iter__(self) -> Iterator[int]:
        return iter(self._used)

    def __len__(self) -> int:
        return len(self._used)


def _item(m: Match | NeedMatch) -> MatchItem:
    common = {
        "rank": m.rank,
        "score": m.score,
        "components": dict(m.components),
        "reasons": list(m.reasons),
    }
    if isinstance(m, NeedMatch):
        return MatchItem(need_id=m.need_id, **common)
    return MatchItem(profile_id=m.profile_id, **common)


def _ranked_for_need(
    session: Session, matcher: Matcher, need: Need, limit: int, filters: MatchFilters
) -> list[Match]:
    matcher.sync(session)
    doc = need_doc(need)
    vector, tokens = matcher.query_for_need(session, doc)

    def page_profiles(ids: list[int]) -> Mapping[int, ProfileDoc]:
        return _fetch_docs(session, ids)

    return matcher.corpus.match_need(
        doc,
        vector,
        tokens,
        profiles=page_profiles,
        counties=matcher.counties,
        limit=limit,
        filters=filters,
        remaining_capacity=RemainingCapacity(session),
    )


def need_matches(
    session: Session,
    matcher: Matcher,
    *,
    need: Need,
    limit: int,
    kind: str | None = None,
    availability: str | None = None,
) -> NeedMatches:
    assert need.id is not None
    filters = MatchFilters(
        kinds=frozenset({kind}) if kind else None,  # type: ignore[arg-type]
        availabilities=frozenset({availability}) if availability else None,  # type: ignore[arg-type]
        exclude_ids=full_profiles(session),
    )
    matches = _ranked_for_need(session, matcher, need, limit, filters)
    return NeedMatches(
        need_id=need.id, model_version=matcher.model_version, items=[_item(m) for m in matches]
    )


def profile_matches(
    session: Session, matcher: Matcher, *, profile: Profile, limit: int
) -> ProfileMatches:
    """The open needs that fit this person."""
    assert profile.id is not None
    matcher.sync(session)
    doc = profile_doc(profile)
    vector, tokens = matcher.profile_vector(doc, session.get(ProfileEmbedding, profile.id))
    docs, vectors, token_lists = matcher.open_needs.arrays()
    found = (
        matcher.corpus.needs_for_profile(
            doc, vector, tokens, docs, vectors, token_lists, counties=matcher.counties, limit=limit
        )
        if docs
        else []
    )
    return ProfileMatches(
        profile_id=profile.id, model_version=matcher.model_version, items=[_item(m) for m in found]
    )


def search(
    session: Session, matcher: Matcher, *, data: SearchIn, county_code: str | None
) -> SearchResult:
    """Profiles for a free-text query, with the programme signals of the county if given."""
    matcher.sync(session)
    vector = matcher.encoder.encode_queries([data.text])[0]
    tokens = embeddings.tokenizer().tokenize_query(data.text)

    def page_profiles(ids: list[int]) -> Mapping[int, ProfileDoc]:
        return _fetch_docs(session, ids)

    found = matcher.corpus.search(
        data.text,
        vector,
        tokens,
        profiles=page_profiles,
        counties=matcher.counties,
        county_code=county_code,
        program=data.program,  # type: ignore[arg-type]
        limit=data.limit,
        filters=MatchFilters(exclude_ids=full_profiles(session)),
        remaining_capacity=RemainingCapacity(session),
    )
    return SearchResult(model_version=matcher.model_version, items=[_item(m) for m in found])


def provenance(
    session: Session, matcher: Matcher, *, need: Need, profile_id: int, window: int
) -> Provenance:
    """Where the person ranks on the need's current match list (``rank`` None: not in it)."""
    matches = _ranked_for_need(
        session, matcher, need, window, MatchFilters(exclude_ids=full_profiles(session))
    )
    for m in matches:
        if m.profile_id == profile_id:
            return Provenance(m.rank, m.score, dict(m.components), matcher.model_version)
    return Provenance(None, None, {}, matcher.model_version)
