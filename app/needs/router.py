from fastapi import APIRouter, Response

from app.auth.policy import AnyActor, CountyActor, GuardedRoute
from app.common import (
    CountyCodeQuery,
    IdPath,
    NeedStatus,
    Page,
    PageQuery,
    PageSizeQuery,
    Program,
    Region,
    TextQuery,
)
from app.db import SessionDep
from app.imports.router import add_import_route
from app.needs import importing, service
from app.needs.schemas import NeedCreate, NeedPublic, NeedUpdate

router = APIRouter(prefix="/api/v1/needs", tags=["县域需求"], route_class=GuardedRoute)


@router.post("", response_model=NeedPublic, status_code=201)
def create_need(session: SessionDep, actor: CountyActor, data: NeedCreate) -> NeedPublic:
    """发布需求：县局为本县发布，管理员可为任一县发布。"""
    need = service.create(session, data=data, actor=actor)
    session.commit()
    return service.to_public(session, need)


add_import_route(router, importing.KIND, noun="需求")


@router.get("", response_model=Page[NeedPublic])
def list_needs(
    session: SessionDep,
    actor: AnyActor,
    county_code: CountyCodeQuery = None,
    prefecture: TextQuery = None,
    region: Region | None = None,
    program: Program | None = None,
    status: NeedStatus | None = None,
    text: TextQuery = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 20,
) -> Page[NeedPublic]:
    """需求列表：县局只见本县，人才只见征集中的需求。"""
    rows, total = service.list_needs(
        session,
        actor=actor,
        county_code=county_code,
        prefecture=prefecture,
        region=region,
        program=program,
        status=status,
        q=text,
        page=page,
        page_size=page_size,
    )
    items = [service.to_public(session, n) for n in rows]
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.get("/{need_id}", response_model=NeedPublic)
def read_need(session: SessionDep, actor: AnyActor, need_id: IdPath) -> NeedPublic:
    """查看一条需求。"""
    return service.to_public(session, service.get_for_read(session, need_id, actor))


@router.patch("/{need_id}", response_model=NeedPublic)
def update_need(
    session: SessionDep, actor: CountyActor, need_id: IdPath, data: NeedUpdate
) -> NeedPublic:
    """修改需求（本县县局或管理员）。"""
    need = service.get_for_write(session, need_id, actor)
    need = service.update(session, need=need, data=data, actor=actor)
    session.commit()
    return service.to_public(session, need)


@router.delete("/{need_id}", status_code=204)
def delete_need(session: SessionDep, actor: CountyActor, need_id: IdPath) -> Response:
    """删除需求（本县县局或管理员）。"""
    need = service.get_for_write(session, need_id, actor)
    service.delete(session, need=need, actor=actor)
    session.commit()
    return Response(status_code=204)
