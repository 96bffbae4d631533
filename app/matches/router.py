from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.auth.actor import Actor
from app.auth.policy import GuardedRoute, allow
from app.common import Availability, IdPath, ProfileKind, Role
from app.counties import service as counties
from app.db import SessionDep
from app.errors import forbidden
from app.matches import service
from app.matches.matcher import Matcher
from app.matches.schemas import NeedMatches, ProfileMatches, SearchIn, SearchResult
from app.needs import service as needs
from app.profiles import service as profiles

router = APIRouter(prefix="/api/v1", tags=["智能匹配"], route_class=GuardedRoute)

NeedReader = Annotated[Actor, allow(Role.admin, Role.province, Role.county)]
ProfileReader = Annotated[Actor, allow(Role.admin, Role.province, Role.talent)]
Searcher = Annotated[Actor, allow(Role.admin, Role.province, Role.county)]
Limit = Annotated[int, Query(ge=1, le=50, description="返回条数（1–50）")]


def _matcher(request: Request) -> Matcher:
    matcher: Matcher = request.app.state.matcher
    return matcher


@router.get("/needs/{need_id}/matches", response_model=NeedMatches)
def match_need(
    request: Request,
    session: SessionDep,
    actor: NeedReader,
    need_id: IdPath,
    limit: Limit = 10,
    kind: ProfileKind | None = None,
    availability: Availability | None = None,
) -> NeedMatches:
    """某条需求的推荐人选（排名、得分、各项分量与中文理由）。"""
    need = needs.get(session, need_id)
    if actor.role == Role.county and need.county_code != actor.county_code:
        raise forbidden("只能查看本县需求的匹配结果")
    return service.need_matches(
        session, _matcher(request), need=need, limit=limit, kind=kind, availability=availability
    )


@router.get("/profiles/{profile_id}/matches", response_model=ProfileMatches)
def match_profile(
    request: Request,
    session: SessionDep,
    actor: ProfileReader,
    profile_id: IdPath,
    limit: Limit = 10,
) -> ProfileMatches:
    """适合某位人才的征集中需求（本人、省委组织部、管理员）。"""
    profile = profiles.get(session, profile_id)
    if actor.role == Role.talent and profile.owner_id != actor.id:
        raise forbidden("只能查看与本人档案匹配的需求")
    return service.profile_matches(session, _matcher(request), profile=profile, limit=limit)


@router.post("/search", response_model=SearchResult)
def search(request: Request, session: SessionDep, actor: Searcher, data: SearchIn) -> SearchResult:
    """按自由文本检索人才（县局默认按本县计算籍贯与区域信号）。"""
    county_code = data.county_code or (actor.county_code if actor.role == Role.county else None)
    if county_code is not None:
        counties.require_known(session, county_code, "county_code")
    return service.search(session, _matcher(request), data=data, county_code=county_code)
