from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from app.auth.actor import Actor
from app.auth.policy import AdminActor, AnyActor, GuardedRoute, allow
from app.common import (
    CountyCodeQuery,
    IdPath,
    NeedStatus,
    Page,
    PageQuery,
    PageSizeQuery,
    Program,
    Region,
    Role,
    TextQuery,
)
from app.db import SessionDep
from app.imports.schemas import ImportReport
from app.imports.service import run_upload
from app.needs import importing, service
from app.needs.schemas import NeedCreate, NeedPublic, NeedUpdate

router = APIRouter(prefix="/api/v1/needs", tags=["县域需求"], route_class=GuardedRoute)

WriterActor = Annotated[Actor, allow(Role.admin, Role.county)]


@router.post("", response_model=NeedPublic, status_code=201)
def create_need(session: SessionDep, actor: WriterActor, data: NeedCreate) -> NeedPublic:
    """发布需求：县局为本县发布，管理员可为任一县发布。"""
    need = service.create(session, data=data, actor=actor)
    session.commit()
    return service.to_public(session, need)


@router.post("/import", response_model=ImportReport)
def import_needs(
    request: Request,
    session: SessionDep,
    actor: AdminActor,
    file: Annotated[UploadFile, File(description="CSV、JSONL 或 Excel（.xlsx）文件")],
    partial: Annotated[bool, Query(description="为 true 时只导入合格的行")] = False,
) -> ImportReport:
    """批量导入需求（管理员）：逐行校验；有错误时整批不导入，除非 partial=true。"""
    return run_upload(
        session,
        upload=file,
        partial=partial,
        actor=actor,
        settings=request.app.state.settings,
        aliases=importing.ALIASES,
        required=importing.REQUIRED,
        importer=importing.import_rows,
    )


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
    session: SessionDep, actor: WriterActor, need_id: IdPath, data: NeedUpdate
) -> NeedPublic:
    """修改需求（本县县局或管理员）。"""
    need = service.get_for_write(session, need_id, actor)
    need = service.update(session, need=need, data=data, actor=actor)
    session.commit()
    return service.to_public(session, need)


@router.delete("/{need_id}", status_code=204)
def delete_need(session: SessionDep, actor: WriterActor, need_id: IdPath) -> Response:
    """删除需求（本县县局或管理员）。"""
    need = service.get_for_write(session, need_id, actor)
    service.delete(session, need=need, actor=actor)
    session.commit()
    return Response(status_code=204)
