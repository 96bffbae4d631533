from typing import Annotated

from fastapi import APIRouter, Path

from app.auth.actor import Actor
from app.auth.policy import GuardedRoute, public
from app.common import Region, TextQuery
from app.counties import service
from app.counties.schemas import CountyPublic
from app.db import SessionDep

router = APIRouter(prefix="/api/v1/counties", tags=["县（市、区）"], route_class=GuardedRoute)
PublicActor = Annotated[Actor | None, public()]


@router.get("", response_model=list[CountyPublic])
def list_counties(
    session: SessionDep,
    _actor: PublicActor,
    prefecture: TextQuery = None,
    region: Region | None = None,
) -> list[CountyPublic]:
    """吉林省县级行政区列表，可按市（州）、区域筛选。"""
    rows = service.list_counties(session, prefecture=prefecture, region=region)
    return [service.to_public(c) for c in rows]


@router.get("/{code}", response_model=CountyPublic)
def read_county(
    session: SessionDep, _actor: PublicActor, code: Annotated[str, Path(pattern=r"^\d{6}$")]
) -> CountyPublic:
    """单个县级行政区。"""
    return service.to_public(service.get(session, code))
