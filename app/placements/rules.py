"""A placement's life and who may move it.

proposed → accepted | declined → active → completed, or cancelled from any state still under
way. The table below is the whole state machine; the service applies it, the pages offer the
steps it allows.
"""

from typing import NamedTuple

from sqlmodel import Session

from app.auth.actor import Actor
from app.common import Role
from app.placements.models import Placement
from app.profiles.models import Profile


class Transition(NamedTuple):
    sources: tuple[str, ...]  # states it may start from
    target: str  # state it leads to
    verb: str  # what the user does, as messages name it: 「不能{verb}该对接」


TRANSITIONS: dict[str, Transition] = {
    "accept": Transition(("proposed",), "accepted", "接受"),
    "decline": Transition(("proposed",), "declined", "婉拒"),
    "start": Transition(("accepted",), "active", "开始服务"),
    "complete": Transition(("active",), "completed", "完成"),
    "cancel": Transition(("proposed", "accepted", "active"), "cancelled", "取消"),
}
# The timestamp a placement gets when it enters each state.
TIMESTAMP_OF = {
    "accepted": "accepted_at",
    "declined": "declined_at",
    "active": "started_at",
    "completed": "completed_at",
    "cancelled": "cancelled_at",
}


def _owns_profile(session: Session, actor: Actor, profile_id: int) -> bool:
    if actor.role != Role.talent or actor.id is None:
        return False
    profile = session.get(Profile, profile_id)
    return profile is not None and profile.owner_id == actor.id


def _is_county_of(actor: Actor, placement: Placement) -> bool:
    return actor.role == Role.county and actor.county_code == placement.county_code


def can_read(session: Session, actor: Actor, placement: Placement) -> bool:
    if actor.is_role(Role.admin, Role.province):
        return True
    return _is_county_of(actor, placement) or _owns_profile(session, actor, placement.profile_id)


def may_act(session: Session, actor: Actor, placement: Placement, action: str) -> bool:
    if actor.is_admin:
        return True
    if action in ("accept", "decline"):
        return _owns_profile(session, actor, placement.profile_id)
    if action in ("start", "complete"):
        return _is_county_of(actor, placement)
    if action == "cancel":
        return _is_county_of(actor, placement) or _owns_profile(
            session, actor, placement.profile_id
        )
    return False


def may_report(session: Session, actor: Actor, placement: Placement) -> bool:
    """Service reports come from the placed person, the county of the placement, or admin."""
    return (
        actor.is_admin
        or _is_county_of(actor, placement)
        or _owns_profile(session, actor, placement.profile_id)
    )
