from typing import Annotated

from fastapi import APIRouter, Request, Response

from app.auth.actor import Actor
from app.auth.policy import GuardedRoute, allow
from app.common import IdPath, Role
from app.db import SessionDep
from app.interests import service
from app.interests.schemas import InterestIn, InterestPublic, NeedInterests
from app.matches import service as matches
from app.matches.matcher import Matcher
from app.needs import service as needs

router = APIRouter(prefix="/api/v1/needs", tags=["人才意向"], route_class=GuardedRoute)

TalentActor = Annotated[Actor, allow(Role.talent)]
NeedReader = Annotated[Actor, allow(Role.admin, Role.province, Role.county)]


@router.post(
    "/{need_id}/interest",
    response_model=InterestPublic,
    status_code=201,
    responses={200: {"model": InterestPublic, "description": "已表达过（或撤回后重新表达）的意向"}},
)
def express_interest(
    session: SessionDep,
    actor: TalentActor,
    need_id: IdPath,
    response: Response,
    data: InterestIn | None = None,
) -> InterestPublic:
    """我有意向：人才对征集中的需求表达意向（每人每条需求一次；撤回后可重新表达）。"""
    interest, created = service.express(
        session, need_id=need_id, data=data or InterestIn(), actor=actor
    )
    session.commit()
    if not created:
        response.status_code = 200
    return service.to_public(interest)


@router.delete("/{need_id}/interest", response_model=InterestPublic)
def withdraw_interest(session: SessionDep, actor: TalentActor, need_id: IdPath) -> InterestPublic:
    """撤回本人对该需求的意向。"""
    interest = service.withdraw(session, need_id=need_id, actor=actor)
    session.commit()
    return service.to_public(interest)


@router.get("/{need_id}/interests", response_model=NeedInterests)
def list_interests(
    request: Request, session: SessionDep, actor: NeedReader, need_id: IdPath
) -> NeedInterests:
    """需求收到的人才意向，附各人在当前匹配名单中的名次（本县县局、省委组织部、管理员）。"""
    need = needs.get_for_read(session, need_id, actor)
    matcher: Matcher = request.app.state.matcher
    window = int(request.app.state.settings.match_window)
    rows = service.of_need(session, need_id)
    standings = matches.standings(
        session, matcher, need=need, profile_ids=[i.profile_id for i, _ in rows], window=window
    )
    return NeedInterests(
        need_id=need_id,
        model_version=matcher.model_version,
        window=window,
        items=service.items(rows, standings),
    )
