"""Plain frozen dataclasses the matching library takes and returns.

The service maps its database rows to these; nothing here knows about SQL or HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy.typing as npt

ProfileKind = Literal["expert", "researcher", "returnee", "entrepreneur", "team", "organization"]
Availability = Literal["full_time", "part_time", "remote"]
Region = Literal["east", "central", "west"]
Program = Literal["science_commissioner", "return_home"]

PROFILE_KINDS: tuple[ProfileKind, ...] = (
    "expert",
    "researcher",
    "returnee",
    "entrepreneur",
    "team",
    "organization",
)
# The kinds the 三乡工程 addresses (能人回乡、工商兴乡); the others — experts and researchers of
# universities, institutes and firms, teams, legal persons — are whom the 科技特派员 programme
# sends (吉政办发〔2018〕51号; ../shared/DOMAIN.md).
RETURN_HOME_KINDS: frozenset[ProfileKind] = frozenset({"returnee", "entrepreneur"})
AVAILABILITIES: tuple[Availability, ...] = ("full_time", "part_time", "remote")
REGIONS: tuple[Region, ...] = ("east", "central", "west")
PROGRAMS: tuple[Program, ...] = ("science_commissioner", "return_home")


@dataclass(frozen=True, slots=True)
class ProfileDoc:
    """A person, team or organisation that can be placed in a county."""

    id: int
    kind: ProfileKind
    name: str
    affiliation: str
    title: str
    fields: tuple[str, ...]
    expertise: str
    achievements: str | None = None
    hometown_county_code: str | None = None
    availability: Availability = "part_time"
    capacity: int = 1
    preferred_regions: tuple[Region, ...] = ()
    active: bool = True


@dataclass(frozen=True, slots=True)
class NeedDoc:
    """A county's need for talent, posted by the county bureau."""

    id: int
    county_code: str
    program: Program
    title: str
    description: str
    industry: str = ""
    headcount: int = 1


@dataclass(frozen=True, slots=True)
class CountyInfo:
    """One of Jilin's county-level divisions."""

    code: str
    name: str
    prefecture: str
    region: Region


@dataclass(frozen=True, slots=True)
class MatchFilters:
    """Hard filters on candidate profiles.

    ``kinds``/``availabilities``: when given, only profiles of these kinds / availabilities.
    ``exclude_ids``: profile ids never returned (e.g. people with no remaining capacity).
    Inactive profiles are always excluded.
    """

    kinds: frozenset[ProfileKind] | None = None
    availabilities: frozenset[Availability] | None = None
    exclude_ids: frozenset[int] = frozenset()


NO_FILTERS = MatchFilters()


def _frozen_components(values: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True, slots=True)
class Match:
    """One ranked profile for a need (or a free-text query)."""

    profile_id: int
    rank: int
    score: float
    components: Mapping[str, float] = field(default_factory=lambda: _frozen_components({}))
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NeedMatch:
    """One ranked open need for a profile (the reverse direction)."""

    need_id: int
    rank: int
    score: float
    components: Mapping[str, float] = field(default_factory=lambda: _frozen_components({}))
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Query:
    """What a ranking is asked for: a need or a free-text search.

    ``vector``: ``(dim,)`` query vector; ``tokens``: the query's terms (with synonym expansion);
    ``vector2``: the same query in the second dense channel, or None;
    ``text``: what the reasons compare profile sentences with. ``county_code``/``program``: whose
    programme signals apply (None for a free-text search without a county).
    """

    text: str
    vector: npt.ArrayLike
    tokens: Sequence[str]
    county_code: str | None = None
    program: Program | None = None
    # the query in the second dense channel (quality encoder), when it has been encoded there
    vector2: npt.ArrayLike | None = None

    @classmethod
    def for_need(
        cls,
        need: NeedDoc,
        vector: npt.ArrayLike,
        tokens: Sequence[str],
        vector2: npt.ArrayLike | None = None,
    ) -> Query:
        """``vector`` from ``need_dense_text(need)`` as a query, ``tokens`` from ``need_tokens``."""
        return cls(
            need.title + need.description,
            vector,
            tokens,
            need.county_code,
            need.program,
            vector2,
        )


@dataclass(frozen=True, slots=True)
class PageEntry:
    """One shown profile of a ranking, before its reasons are written.

    ``score`` and ``components`` are rounded as they are shown; ``matched_terms``: the query's
    terms found in the profile, most specific first, with their idf in ``term_weights``.
    """

    profile_id: int
    score: float
    components: Mapping[str, float]
    matched_terms: tuple[str, ...]
    term_weights: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class RankedPage:
    """The shown part of a ranking as plain data: everything its reasons need but the profiles."""

    query: Query
    entries: tuple[PageEntry, ...]

    @property
    def ids(self) -> list[int]:
        """The shown profile ids, best first."""
        return [e.profile_id for e in self.entries]
