"""Match lists for needs, people and free text, and where a person stands on a need's list.

Request-time work: bring the matcher up to date (``Matcher.sync``), take the need's query vector
(held by the matcher for an open need), exclude people with no remaining capacity (held by the
matcher too, ``places.py``), and let the corpus rank. The corpus returns the shown page as ids,
scores and matched terms; its profiles are then read in one query and handed to ``page_to_matches``,
which writes the reasons. Nothing here runs the model except ``search`` (one short query) and
needs or profiles saved by a process with another model.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from app.interests import service as interests
from app.invitations import service as invitations
from app.invitations.schemas import TalentState
from app.matches import embeddings
from app.matches.matcher import Matcher
from app.matches.models import ProfileEmbedding
from app.matches.places import Places
from app.matches.schemas import MatchItem, NeedMatches, ProfileMatches, SearchIn, SearchResult
from app.needs.docs import need_doc
from app.needs.models import Need
from app.profiles.docs import profile_doc, profile_docs
from app.profiles.models import Profile
from matching.fusion import (
    FusionWeights,
    applicable_components,
    match_degree,
)
from matching.problems import Problem
from matching.scoring import page_to_matches
from matching.types import Match, MatchFilters, NeedMatch, Query, RankedPage

__all__ = [
    "Matcher",
    "Provenance",
    "need_matches",
    "profile_matches",
    "provenance",
    "search",
    "standings",
]


# 匹配度 from which a match reads 高 and 中 (below: 低); see docs/matching.md.
HIGH = 70
MIDDLE = 45


@dataclass(frozen=True)
class Provenance:
    rank: int | None
    score: float | None
    components: dict[str, float] = field(default_factory=dict)
    model_version: str | None = None


def _matches(
    session: Session,
    matcher: Matcher,
    page: RankedPage,
    places: Places,
    problems: Sequence[tuple[Problem, str]] = (),
) -> list[Match]:
    """The page's reasons, from its profiles (read as plain columns) and their places left;
    ``problems``: those recognised in the need (问题对应 reasons)."""
    if not page.entries:
        return []
    docs = profile_docs(session, page.ids)
    return page_to_matches(
        page,
        profiles=docs,
        counties=matcher.counties,
        remaining_capacity=places.left(docs),
        problems=problems,
    )


def _people(
    session: Session, matches: list[Match], weights: FusionWeights, return_home: bool
) -> list[MatchItem]:
    """The items of a list of people, each with whether the person has an account (one query)."""
    states = invitations.talent_states(session, [m.profile_id for m in matches])
    items = []
    for m in matches:
        item = _item(m, weights, return_home)
        state = states.get(m.profile_id)
        if state is not None:
            item.talent_state = state
            item.has_account = state == TalentState.registered
        items.append(item)
    return items


def level_of(degree: int) -> str:
    return "高" if degree >= HIGH else "中" if degree >= MIDDLE else "低"


def _item(m: Match | NeedMatch, weights: FusionWeights, return_home: bool) -> MatchItem:
    degree = match_degree(m.score, weights, return_home)
    common = {
        "rank": m.rank,
        "score": m.score,
        "components": dict(m.components),
        "reasons": list(m.reasons),
        "degree": degree,
        "level": level_of(degree),
        "applies": list(applicable_components(weights, return_home)),
    }
    if isinstance(m, NeedMatch):
        return MatchItem(need_id=m.need_id, **common)
    return MatchItem(profile_id=m.profile_id, **common)


def _weights(matcher: Matcher, two_channels: bool = False) -> FusionWeights:
    """The fusion weights the corpus ranks with: its dense model's defaults, or those of both
    dense channels when the query has a vector in the second."""
    return matcher.corpus.weights_for(two_channels)


def _page_for_need(
    session: Session, matcher: Matcher, need: Need, limit: int, filters: MatchFilters
) -> tuple[RankedPage, FusionWeights]:
    """The need's page and the weights it was ranked with; the caller has brought the matcher
    up to date (``sync``)."""
    doc = need_doc(need)
    vector, tokens = matcher.query_for_need(session, doc)
    tokens = tokens + matcher.problem_tokens(doc, vector)
    query = Query.for_need(doc, vector, tokens, matcher.second_query_for_need(session, doc))
    weights = matcher.corpus.weights_for_query(query)
    page = matcher.corpus.search(
        query,
        counties=matcher.counties,
        weights=weights,
        limit=limit,
        filters=filters,
    )
    return page, weights


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
    places = matcher.places(session, matcher.sync(session))
    filters = MatchFilters(
        kinds=frozenset({kind}) if kind else None,  # type: ignore[arg-type]
        availabilities=frozenset({availability}) if availability else None,  # type: ignore[arg-type]
        exclude_ids=places.full,
    )
    page, weights = _page_for_need(session, matcher, need, limit, filters)
    matches = _matches(session, matcher, page, places, matcher.problems_in(need_doc(need)))
    items = _people(session, matches, weights, need.program == "return_home")
    # One query for the whole page: who on it has said 我有意向 for this need.
    interested = interests.active_profile_ids(
        session, need.id, [i.profile_id for i in items if i.profile_id is not None]
    )
    for item in items:
        item.interested = item.profile_id in interested
    return NeedMatches(need_id=need.id, model_version=matcher.model_version, items=items)


def profile_matches(
    session: Session, matcher: Matcher, *, profile: Profile, limit: int
) -> ProfileMatches:
    """The open needs that fit this person."""
    assert profile.id is not None
    matcher.sync(session)
    doc = profile_doc(profile)
    vector, tokens = matcher.profile_vector(doc, session.get(ProfileEmbedding, profile.id))
    vector2 = matcher.second_profile_vector(profile.id)
    held = matcher.open_needs.held_arrays(vector2.shape[0] if vector2 is not None else None)
    weights = _weights(matcher, held.vectors2 is not None)
    found = (
        matcher.corpus.needs_for_profile(
            doc,
            vector,
            tokens,
            held.docs,
            held.vectors,
            [
                t + matcher.problem_tokens(d, v)
                for d, v, t in zip(held.docs, held.vectors, held.tokens, strict=True)
            ],
            counties=matcher.counties,
            weights=weights,
            limit=limit,
            profile_vector2=vector2,
            need_vectors2=held.vectors2,
            need_present2=held.present2,
        )
        if held.docs
        else []
    )
    docs = held.docs
    program = {d.id: d.program for d in docs}
    items = [_item(m, weights, program.get(m.need_id) == "return_home") for m in found]
    return ProfileMatches(profile_id=profile.id, model_version=matcher.model_version, items=items)


def search(
    session: Session, matcher: Matcher, *, data: SearchIn, county_code: str | None
) -> SearchResult:
    """Profiles for a free-text query, with the programme signals of the county if given."""
    places = matcher.places(session, matcher.sync(session))
    vector = matcher.encoder.encode_queries([data.text])[0]
    tokens = embeddings.tokenizer().tokenize_query(data.text)
    query = Query(data.text, vector, tokens, county_code, data.program)  # type: ignore[arg-type]
    page = matcher.corpus.search(
        query,
        counties=matcher.counties,
        limit=data.limit,
        filters=MatchFilters(exclude_ids=places.full),
    )
    found = _matches(session, matcher, page, places)
    items = _people(session, found, _weights(matcher), data.program == "return_home")
    return SearchResult(model_version=matcher.model_version, items=items)


def provenance(
    session: Session, matcher: Matcher, *, need: Need, profile_id: int, window: int
) -> Provenance:
    """Where the person ranks on the need's current match list (``rank`` None: not in it)."""
    return standings(session, matcher, need=need, profile_ids=[profile_id], window=window)[
        profile_id
    ]


def standings(
    session: Session, matcher: Matcher, *, need: Need, profile_ids: Iterable[int], window: int
) -> dict[int, Provenance]:
    """``provenance`` for several people at once: the need's list is ranked once."""
    wanted = set(profile_ids)
    found = {pid: Provenance(None, None, {}, matcher.model_version) for pid in wanted}
    if not wanted:
        return found
    places = matcher.places(session, matcher.sync(session))
    page, _ = _page_for_need(session, matcher, need, window, MatchFilters(exclude_ids=places.full))
    for rank, entry in enumerate(page.entries, start=1):
        if entry.profile_id in wanted:
            found[entry.profile_id] = Provenance(
                rank, entry.score, dict(entry.components), matcher.model_version
            )
    return found
