"""County needs: ownership by county, the writes with their audit events, and listing."""

from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.actor import Actor
from app.common import NeedStatus, Role, like_pattern, public_of
from app.counties import service as counties
from app.counties.models import County
from app.db import get_or_404, page_of
from app.errors import AppError, conflict, forbidden
from app.matches import embeddings
from app.needs.docs import need_doc
from app.needs.models import Need
from app.needs.schemas import NeedCreate, NeedPublic, NeedUpdate
from app.placements import counts

AUDITED = (
    "county_code program title description industry headcount status deadline "
    "contact_name contact_phone"
).split()


def snapshot(need: Need) -> dict[str, Any]:
    return audit.fields_of(need, AUDITED)


def set_status(session: Session, *, need: Need, status: str, actor: Actor, cause: str) -> None:
    """A status change that follows from a placement (filled, reopened), with its cause."""
    before = snapshot(need)
    need.status = status
    audit.record_update(
        session,
        actor=actor,
        entity="need",
        row=need,
        before=before,
        after=snapshot(need),
        context={"cause": cause},
    )


def to_public(session: Session, need: Need) -> NeedPublic:
    county = session.get(County, need.county_code)
    assert county is not None
    assert need.id is not None
    return public_of(
        NeedPublic,
        need,
        county_name=county.name,
        prefecture=county.prefecture,
        region=county.region,
    )


def can_read(actor: Actor, need: Need) -> bool:
    if actor.is_role(Role.admin, Role.province):
        return True
    if actor.role == Role.county:
        return need.county_code == actor.county_code
    # Talents see open needs (the postings they could answer), not closed or internal ones.
    return actor.role == Role.talent and need.status == NeedStatus.open


def can_write(actor: Actor, need: Need) -> bool:
    return actor.is_admin or (actor.role == Role.county and need.county_code == actor.county_code)


def get(session: Session, need_id: int) -> Need:
    return get_or_404(session, Need, need_id, "需求")


def get_for_read(session: Session, need_id: int, actor: Actor) -> Need:
    need = get(session, need_id)
    if not can_read(actor, need):
        raise forbidden("无权查看该需求")
    return need


def get_for_write(session: Session, need_id: int, actor: Actor) -> Need:
    need = get(session, need_id)
    if not can_write(actor, need):
        raise forbidden("只能修改本县的需求")
    return need


def resolve_county(session: Session, requested: str | None, actor: Actor) -> str:
    if actor.role == Role.county:
        if requested is not None and requested != actor.county_code:
            raise AppError(403, "forbidden", "只能为本县发布需求", field="county_code")
        assert actor.county_code is not None
        return actor.county_code
    if requested is None:
        raise AppError(422, "validation_error", "县（市、区）代码为必填项", field="county_code")
    counties.require_known(session, requested, "county_code")
    return requested


def build(data: NeedCreate, *, county_code: str, created_by_id: int | None) -> Need:
    return Need(
        county_code=county_code,
        program=data.program,
        title=data.title,
        description=data.description,
        industry=data.industry,
        headcount=data.headcount,
        status=data.status,
        deadline=data.deadline,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        created_by_id=created_by_id,
    )


def store_embeddings(session: Session, needs: list[Need]) -> None:
    """Encode what changed, in the same transaction (deleted rows cascade away)."""
    embeddings.store(session, embeddings.NEEDS, [need_doc(n) for n in needs])


def create(session: Session, *, data: NeedCreate, actor: Actor) -> Need:
    county_code = resolve_county(session, data.county_code, actor)
    need = build(data, county_code=county_code, created_by_id=actor.id)
    audit.record_saved(
        session, actor=actor, action="need.create", entity="need", row=need, after=snapshot(need)
    )
    store_embeddings(session, [need])
    return need


def update(session: Session, *, need: Need, data: NeedUpdate, actor: Actor) -> Need:
    before = snapshot(need)
    changes = data.model_dump(exclude_unset=True)
    if "headcount" in changes and need.id is not None:
        session.exec(select(Need.id).where(Need.id == need.id).with_for_update()).one()
        placed = counts.open_count_of_need(session, need.id)
        if changes["headcount"] < placed:
            raise conflict(
                "headcount_below_open",
                f"该需求已有 {placed} 人在岗或已接受，需求人数不能低于 {placed}",
                field="headcount",
            )
    for key, value in changes.items():
        setattr(need, key, value)
    if audit.record_update(
        session, actor=actor, entity="need", row=need, before=before, after=snapshot(need)
    ):
        store_embeddings(session, [need])
    return need


def delete(session: Session, *, need: Need, actor: Actor) -> None:
    if need.id is not None and counts.has_any_for_need(session, need.id):
        raise conflict(
            "has_placements", "该需求已有对接记录，不能删除；请改为关闭（closed）", field="id"
        )
    audit.record_delete(session, actor=actor, entity="need", row=need, before=snapshot(need))


def list_needs(
    session: Session,
    *,
    actor: Actor,
    county_code: str | None = None,
    prefecture: str | None = None,
    region: str | None = None,
    program: str | None = None,
    status: str | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[Need], int]:
    conditions: list[Any] = []
    if actor.role == Role.county:
        if county_code is not None and county_code != actor.county_code:
            raise forbidden("只能查看本县的需求")
        county_code = actor.county_code
    if actor.role == Role.talent:
        if status is not None and status != NeedStatus.open:
            raise forbidden("人才只能查看征集中的需求")
        status = NeedStatus.open
    if county_code:
        conditions.append(Need.county_code == county_code)
    if prefecture or region:
        sub = select(County.code)
        if prefecture:
            sub = sub.where(County.prefecture == prefecture)
        if region:
            sub = sub.where(County.region == region)
        conditions.append(col(Need.county_code).in_(sub))
    if program:
        conditions.append(Need.program == program)
    if status:
        conditions.append(Need.status == status)
    if q:
        pattern = like_pattern(q)
        conditions.append(
            or_(
                col(Need.title).like(pattern, escape="\\"),
                col(Need.description).like(pattern, escape="\\"),
                col(Need.industry).like(pattern, escape="\\"),
            )
        )
    order = [col(Need.created_at).desc(), col(Need.id).desc()]
    return page_of(session, Need, conditions, order, page, page_size)
