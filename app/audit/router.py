from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AuditEventPublic, VerifyPublic
from app.auth.actor import Actor
from app.auth.policy import GuardedRoute, allow
from app.common import DateTimeQuery, Page, PageQuery, PageSizeQuery, Role, TextQuery
from app.db import BEIJING, SessionDep


def as_beijing(value: datetime | None) -> datetime | None:
    """A time without an offset is read as Beijing time, which is what users mean."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=BEIJING)


router = APIRouter(prefix="/api/v1/audit", tags=["审计"], route_class=GuardedRoute)
AuditorActor = Annotated[Actor, allow(Role.admin, Role.province)]


@router.get("/events", response_model=Page[AuditEventPublic])
def list_events(
    session: SessionDep,
    auditor: AuditorActor,
    actor: TextQuery = None,
    entity: TextQuery = None,
    entity_id: TextQuery = None,
    action: TextQuery = None,
    since: Annotated[DateTimeQuery, Query(description="起始时间（含），ISO 8601")] = None,
    until: Annotated[
        DateTimeQuery, Query(description="截止时间（不含），ISO 8601；无时区时按北京时间")
    ] = None,
    sign_ins: Annotated[bool, Query(description="是否包含登录记录")] = True,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 50,
) -> Page[AuditEventPublic]:
    """审计事件（新的在前），可按操作人、对象、动作、时间筛选。"""
    since, until = as_beijing(since), as_beijing(until)
    rows, total = service.list_events(
        session,
        actor_username=actor,
        entity=entity,
        entity_id=entity_id,
        action=action,
        since=since,
        until=until,
        sign_ins=sign_ins,
        page=page,
        page_size=page_size,
    )
    return Page(
        items=[service.to_public(e, reveal_contacts=auditor.role == Role.admin) for e in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/verify", response_model=VerifyPublic)
def verify(session: SessionDep, _actor: AuditorActor) -> VerifyPublic:
    """重新计算整条哈希链，报告第一处不符的序号。"""
    result = service.verify(session)
    return VerifyPublic(
        ok=result.ok,
        checked=result.checked,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
        message=service.VERIFY_MESSAGES[result.problem],
    )
