from typing import Annotated

from fastapi import APIRouter, Response

from app.auth.actor import Actor
from app.auth.policy import AnyActor, GuardedRoute, allow
from app.common import (
    Availability,
    CountyCodeQuery,
    IdPath,
    Page,
    PageQuery,
    PageSizeQuery,
    ProfileKind,
    Role,
    TextQuery,
)
from app.db import SessionDep, begin_read_only
from app.errors import not_found
from app.imports.router import add_import_route
from app.profiles import importing, service
from app.profiles.schemas import ProfileCreate, ProfilePublic, ProfileUpdate

router = APIRouter(prefix="/api/v1/profiles", tags=["人才档案"], route_class=GuardedRoute)

CreatorActor = Annotated[Actor, allow(Role.admin, Role.province, Role.talent)]
EditorActor = Annotated[Actor, allow(Role.admin, Role.talent)]
TalentActor = Annotated[Actor, allow(Role.talent)]


@router.post("", response_model=ProfilePublic, status_code=201)
def create_profile(session: SessionDep, actor: CreatorActor, data: ProfileCreate) -> ProfilePublic:
    """建立人才档案：人才为自己建档；管理员、省委组织部可代为建档。"""
    service.prepare_create(session, data=data)
    profile = service.create(session, data=data, actor=actor)
    session.commit()
    return service.to_public(session, actor, profile)


add_import_route(router, importing.KIND, noun="人才档案")


@router.get("", response_model=Page[ProfilePublic])
def list_profiles(
    session: SessionDep,
    actor: AnyActor,
    kind: ProfileKind | None = None,
    hometown: CountyCodeQuery = None,
    field: TextQuery = None,
    text: TextQuery = None,
    availability: Availability | None = None,
    active: bool | None = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 20,
) -> Page[ProfilePublic]:
    """人才档案列表，可按类型、籍贯、领域标签、关键词筛选；人才只能看到自己的档案。"""
    rows, total = service.list_profiles(
        session,
        actor=actor,
        kind=kind,
        hometown=hometown,
        field=field,
        q=text,
        availability=availability,
        active=active,
        page=page,
        page_size=page_size,
    )
    items = [service.to_public(session, actor, p) for p in rows]
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.get("/me", response_model=ProfilePublic)
def read_my_profile(session: SessionDep, actor: TalentActor) -> ProfilePublic:
    """当前人才账号自己的档案。"""
    assert actor.id is not None
    profile = service.owned_by(session, actor.id)
    if profile is None:
        raise not_found("本人档案")
    return service.to_public(session, actor, profile)


@router.get("/{profile_id}", response_model=ProfilePublic)
def read_profile(session: SessionDep, actor: AnyActor, profile_id: IdPath) -> ProfilePublic:
    """查看一份人才档案（联系方式按权限打码）。"""
    profile = service.get_for_read(session, profile_id, actor)
    return service.to_public(session, actor, profile)


@router.patch("/{profile_id}", response_model=ProfilePublic)
def update_profile(
    session: SessionDep, actor: EditorActor, profile_id: IdPath, data: ProfileUpdate
) -> ProfilePublic:
    """修改人才档案（本人或管理员）。"""
    # Read and encode first, in a read-only transaction: no write lock while the model runs.
    begin_read_only(session)
    service.prepare_update(
        session, profile=service.get_for_write(session, profile_id, actor), data=data
    )
    profile = service.get_for_write(session, profile_id, actor)
    profile = service.update(session, profile=profile, data=data, actor=actor)
    session.commit()
    return service.to_public(session, actor, profile)


@router.delete("/{profile_id}", status_code=204)
def delete_profile(session: SessionDep, actor: EditorActor, profile_id: IdPath) -> Response:
    """删除人才档案（本人或管理员）。"""
    profile = service.get_for_write(session, profile_id, actor)
    service.delete(session, profile=profile, actor=actor)
    session.commit()
    return Response(status_code=204)
