"""What placements say about people and needs: the one place that counts them.

Status groups: accepted and active placements hold a place (a person's capacity, a
need's headcount); proposed, accepted and active ones are still under way; once a person has
accepted, the county of the placement may see their contact details. Every other feature asks
this module instead of querying the placement table itself.
"""

from collections.abc import Collection
from typing import Any

from sqlalchemy import Subquery, func
from sqlmodel import Session, col, select

from app.placements.models import CONTACT_STATUSES, LIVE_STATUSES, OPEN_STATUSES, Placement
from app.profiles.models import Profile

__all__ = [
    "CONTACT_STATUSES",
    "LIVE_STATUSES",
    "OPEN_STATUSES",
    "full_profile_ids",
    "has_any_for_need",
    "has_any_for_profile",
    "live_profiles_of_need",
    "open_count_of_need",
    "open_count_of_profile",
    "open_counts_by_need",
    "open_counts_by_profile",
    "over_capacity",
    "seen_by_county",
]


def open_counts_by_profile(
    session: Session, profile_ids: Collection[int] | None = None
) -> dict[int, int]:
    """Profile id -> accepted + active placements (people with none are absent)."""
    query = (
        select(Placement.profile_id, func.count())
        .where(col(Placement.status).in_(OPEN_STATUSES))
        .group_by(col(Placement.profile_id))
    )
    if profile_ids is not None:
        query = query.where(col(Placement.profile_id).in_(list(profile_ids)))
    return {int(pid): int(n) for pid, n in session.exec(query).all()}


def open_counts_by_need(session: Session) -> dict[int, int]:
    """Need id -> accepted + active placements (the places that count against headcount;
    needs with none are absent)."""
    rows = session.exec(
        select(Placement.need_id, func.count())
        .where(col(Placement.status).in_(OPEN_STATUSES))
        .group_by(col(Placement.need_id))
    ).all()
    return {int(need_id): int(n) for need_id, n in rows}


def _open_count(session: Session, condition: Any) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Placement)
            .where(condition, col(Placement.status).in_(OPEN_STATUSES))
        ).one()
    )


def open_count_of_profile(session: Session, profile_id: int) -> int:
    """Placements that count against the person's capacity (accepted and active)."""
    return _open_count(session, Placement.profile_id == profile_id)


def open_count_of_need(session: Session, need_id: int) -> int:
    """Placements that count against the need's headcount (accepted and active)."""
    return _open_count(session, Placement.need_id == need_id)


def _open_per_profile(*conditions: Any) -> Subquery:
    """(profile_id, n): accepted + active placements per person who has any."""
    return (
        select(Placement.profile_id, func.count().label("n"))
        .where(col(Placement.status).in_(OPEN_STATUSES), *conditions)
        .group_by(col(Placement.profile_id))
        .subquery()
    )


def full_profile_ids(session: Session) -> frozenset[int]:
    """People whose accepted and active placements already fill their capacity."""
    used = _open_per_profile()
    rows = session.exec(
        select(Profile.id)
        .join(used, used.c.profile_id == Profile.id)
        .where(used.c.n >= Profile.capacity)
    ).all()
    return frozenset(int(i) for i in rows if i is not None)


def over_capacity(session: Session) -> list[tuple[int, str, int, int]]:
    """(profile id, name, capacity, open placements) of people holding more than their capacity."""
    used = _open_per_profile()
    rows = session.exec(
        select(Profile.id, Profile.name, Profile.capacity, used.c.n)
        .join(used, used.c.profile_id == Profile.id)
        .where(used.c.n > Profile.capacity)
    ).all()
    return [(int(i), n, int(c), int(o)) for i, n, c, o in rows if i is not None]


def live_profiles_of_need(session: Session, need_id: int) -> dict[int, int]:
    """Profile id -> placement id of the need's placements still under way."""
    rows = session.exec(
        select(Placement.profile_id, Placement.id).where(
            Placement.need_id == need_id, col(Placement.status).in_(LIVE_STATUSES)
        )
    ).all()
    return {int(profile_id): int(pid) for profile_id, pid in rows if pid is not None}


def seen_by_county(session: Session, *, profile_id: int, county_code: str) -> bool:
    """Whether the person accepted a placement in this county (its officers see contacts)."""
    return _any(
        session,
        Placement.profile_id == profile_id,
        Placement.county_code == county_code,
        col(Placement.status).in_(CONTACT_STATUSES),
    )


def _any(session: Session, *conditions: Any) -> bool:
    return session.exec(select(Placement.id).where(*conditions)).first() is not None


def has_any_for_need(session: Session, need_id: int) -> bool:
    """Whether any placement, in any state, names this need (it can then no longer be deleted)."""
    return _any(session, Placement.need_id == need_id)


def has_any_for_profile(session: Session, profile_id: int) -> bool:
    """Whether any placement, in any state, names this person."""
    return _any(session, Placement.profile_id == profile_id)
