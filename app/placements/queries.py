"""Reading placements: one by id (with the reader's rights checked), lists with their filters and
the reader's scope, and the public shapes of placements and service reports."""

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.auth.actor import Actor
from app.common import Role, public_of
from app.counties.models import County
from app.db import get_or_404, page_of
from app.errors import forbidden
from app.invitations import service as invitations
from app.invitations.schemas import TalentState
from app.needs.models import Need
from app.placements.models import Placement, ServiceReport
from app.placements.rules import can_read
from app.placements.schemas import (
    DECLINE_REASONS,
    STATUS_LABELS,
    PlacementFilters,
    PlacementPublic,
    PlacementStatus,
    ReportPublic,
)
from app.profiles.models import Profile


def get(session: Session, placement_id: int) -> Placement:
    return get_or_404(session, Placement, placement_id, "对接记录")


def get_for_read(session: Session, placement_id: int, actor: Actor) -> Placement:
    placement = get(session, placement_id)
    if not can_read(session, actor, placement):
        raise forbidden("无权查看该对接记录")
    return placement


def report_count(session: Session, placement_id: int) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(ServiceReport)
            .where(ServiceReport.placement_id == placement_id)
        ).one()
    )


def reports_of(session: Session, placement_id: int) -> Sequence[ServiceReport]:
    return session.exec(
        select(ServiceReport)
        .where(ServiceReport.placement_id == placement_id)
        .order_by(col(ServiceReport.id))
    ).all()


def to_public(
    session: Session, p: Placement, states: dict[int, TalentState] | None = None
) -> PlacementPublic:
    """The placement as shown; ``states`` are the people's (``to_public_many`` reads them once)."""
    if states is None or p.profile_id not in states:
        states = invitations.talent_states(session, [p.profile_id])
    need = session.get(Need, p.need_id)
    profile = session.get(Profile, p.profile_id)
    county = session.get(County, p.county_code)
    assert need is not None
    assert profile is not None
    assert county is not None
    assert p.id is not None
    return public_of(
        PlacementPublic,
        p,
        need_title=need.title,
        profile_name=profile.name,
        county_name=county.name,
        status_label=STATUS_LABELS[PlacementStatus(p.status)],
        decline_label=DECLINE_REASONS.get(p.decline_code) if p.decline_code else None,
        match_components=json.loads(p.match_components) if p.match_components else None,
        report_count=report_count(session, p.id),
        talent_state=states[p.profile_id],
    )


def to_public_many(session: Session, rows: Sequence[Placement]) -> list[PlacementPublic]:
    states = invitations.talent_states(session, [p.profile_id for p in rows])
    return [to_public(session, p, states) for p in rows]


def report_public(r: ServiceReport) -> ReportPublic:
    assert r.id is not None
    return public_of(ReportPublic, r)


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def filter_conditions(session: Session, actor: Actor, f: PlacementFilters) -> list[Any]:
    """WHERE clauses for a listing, with the actor's scope applied (and checked)."""
    conditions: list[Any] = []
    county_code = f.county_code
    if actor.role == Role.county:
        if county_code is not None and county_code != actor.county_code:
            raise forbidden("只能查看本县的对接记录")
        county_code = actor.county_code
    if actor.role == Role.talent:
        mine = select(Profile.id).where(Profile.owner_id == actor.id)
        conditions.append(col(Placement.profile_id).in_(mine))
    if county_code:
        conditions.append(Placement.county_code == county_code)
    if f.prefecture or f.region:
        sub = select(County.code)
        if f.prefecture:
            sub = sub.where(County.prefecture == f.prefecture)
        if f.region:
            sub = sub.where(County.region == f.region)
        conditions.append(col(Placement.county_code).in_(sub))
    for name in ("program", "status", "profile_id", "need_id"):
        value = getattr(f, name)
        if value is not None:
            conditions.append(getattr(Placement, name) == value)
    if f.date_from:
        conditions.append(col(Placement.created_at) >= _day_start(f.date_from))
    if f.date_to:
        conditions.append(col(Placement.created_at) < _day_start(f.date_to) + timedelta(days=1))
    return conditions


def list_placements(
    session: Session, *, actor: Actor, filters: PlacementFilters, page: int, page_size: int
) -> tuple[Sequence[Placement], int]:
    conditions = filter_conditions(session, actor, filters)
    order = [col(Placement.created_at).desc(), col(Placement.id).desc()]
    return page_of(session, Placement, conditions, order, page, page_size)


FINISHED = ("declined", "cancelled", "completed")


def previous_for(session: Session, need_id: int, profile_id: int) -> Placement | None:
    """The latest finished placement of this person for this need, if any."""
    return session.exec(
        select(Placement)
        .where(Placement.need_id == need_id, Placement.profile_id == profile_id)
        .where(col(Placement.status).in_(FINISHED))
        .order_by(col(Placement.id).desc())
    ).first()


def describe_previous(p: Placement) -> str:
    """对接 #12（已婉拒：路途太远） — what a county officer needs to decide on proposing again."""
    label = STATUS_LABELS[PlacementStatus(p.status)]
    why = ""
    if p.status == "declined":
        why = DECLINE_REASONS.get(p.decline_code or "", "未说明理由")
        if p.decline_note:
            why += f"，{p.decline_note}"
    elif p.status == "cancelled" and p.cancel_reason:
        why = p.cancel_reason
    return f"对接 #{p.id}（{label}{'：' + why if why else ''}）"
