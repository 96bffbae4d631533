"""Plain frozen dataclasses the matching library takes and returns.

The service maps its database rows to these; nothing here knows about SQL or HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

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
