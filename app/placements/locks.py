"""The row locks that keep the capacity rules true under concurrent requests.

A person's accepted + active placements never exceed their capacity, a need's never exceed its
headcount. Every change that can take or free a place locks the need row and then the profile
row (always in that order, so two changes never wait on each other crosswise) before it counts;
a transition first locks its placement, so that the status it checks cannot change under it,
and no transaction locks more than one placement. On PostgreSQL these are ``SELECT … FOR
UPDATE``; on SQLite the whole write transaction is serialised by BEGIN IMMEDIATE.
"""

from typing import TypeVar

from sqlmodel import Session, SQLModel

from app.errors import not_found
from app.needs.models import Need
from app.placements.models import Placement
from app.profiles.models import Profile

_Row = TypeVar("_Row", bound=SQLModel)


def _locked(session: Session, model: type[_Row], row_id: int) -> _Row | None:
    """``model`` row ``row_id`` read afresh under a row lock."""
    return session.get(model, row_id, with_for_update=True, populate_existing=True)


def need_then_profile(
    session: Session, need_id: int, profile_id: int
) -> tuple[Need | None, Profile | None]:
    """The need and the profile, locked in that order (None where the row does not exist)."""
    need = _locked(session, Need, need_id)
    return need, _locked(session, Profile, profile_id)


def placement(session: Session, placement_id: int) -> Placement:
    """The placement, locked, or a 404."""
    row = _locked(session, Placement, placement_id)
    if row is None:
        raise not_found("对接记录")
    return row
