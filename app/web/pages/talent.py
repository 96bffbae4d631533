"""The talent's own pages (work bench, profile, the needs that fit them) and profile pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.common import IdPath, Role
from app.counties import service as counties
from app.db import SessionDep
from app.matches import service as matches
from app.needs import service as needs
from app.needs.models import Need
from app.placements import counts, queries
from app.placements.schemas import PlacementFilters
from app.profiles import service as profiles
from app.profiles.models import Profile
from app.profiles.schemas import ProfileBase, ProfileCreate, ProfileUpdate
from app.web import choices
from app.web.deps import MATCHER_MISSING, AnyViewer, PageRoute, TalentViewer, Viewer, matcher_of
from app.web.forms import Form, QueryArgs, non_empty, read_form, save, split_tags
from app.web.pages.inbox import todo_groups
from app.web.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormDep = Annotated[FormData, Depends(read_form)]

TEXT_FIELDS = (
    "kind",
    "name",
    "affiliation",
    "title",
    "expertise",
    "achievements",
    "hometown_county_code",
    "availability",
    "capacity",
)
# Inputs whose schema path differs from the input's name.
PROFILE_ALIASES = {"contact.phone": "phone", "contact.email": "email", "contact": "phone"}
PROFILE_LABELS = {"title": "职称/职务", "affiliation": "工作单位", "capacity": "可同时服务的需求数"}


def _own_profile(session: Session, viewer: Viewer) -> Profile | None:
    assert viewer.actor.id is not None
    return profiles.owned_by(session, viewer.actor.id)


@router.get("/me")
def workbench(request: Request, session: SessionDep, viewer: TalentViewer) -> Response:
    """人才工作台：待确认的推荐、进行中的服务。"""
    profile = _own_profile(session, viewer)
    rows, _total = queries.list_placements(
        session, actor=viewer.actor, filters=PlacementFilters(), page=1, page_size=100
    )
    mine = [queries.to_public(session, p) for p in rows]
    return render(
        request,
        "talent/home.html",
        {
            "title": "我的工作台",
            "profile": profile,
            "pending": [p for p in mine if p.status == "proposed"],
            "ongoing": [p for p in mine if p.status in counts.OPEN_STATUSES],
            "finished": [p for p in mine if p.status not in counts.LIVE_STATUSES],
            "todos": todo_groups(request, session, viewer),
        },
    )


# --- the profile ------------------------------------------------------------------------------


@router.get("/me/profile")
def my_profile(request: Request, session: SessionDep, viewer: TalentViewer) -> Response:
    """我的档案。"""
    profile = _own_profile(session, viewer)
    if profile is None:
        return redirect(request, "/me/profile/edit", "请先填写人才档案", "info")
    return _profile_page(request, session, viewer, profile)


def _profile_values(profile: Profile) -> dict[str, Any]:
    snap = profiles.snapshot(profile)
    values: dict[str, Any] = {k: str(snap[k]) for k in TEXT_FIELDS if snap.get(k) is not None}
    values["fields"] = "、".join(profile.fields)
    values["preferred_regions"] = list(profile.preferred_regions)
    values["phone"] = profile.contact_phone or ""
    values["email"] = profile.contact_email or ""
    values["active"] = "1" if profile.active else ""
    return values


def _profile_form(
    request: Request, session: Session, form: Form, profile: Profile | None, status_code: int = 200
) -> Response:
    return render(
        request,
        "profiles/form.html",
        {
            "title": "修改人才档案" if profile else "填写人才档案",
            "form": form,
            "profile": profile,
            "choices": choices,
            "county_options": choices.county_options(session),
        },
        status_code=status_code,
    )


@router.get("/me/profile/edit")
def edit_profile(request: Request, session: SessionDep, viewer: TalentViewer) -> Response:
    """填写或修改人才档案的表单。"""
    profile = _own_profile(session, viewer)
    if profile is None:
        form = Form(values={"capacity": "1", "active": "1", "name": viewer.display_name})
    else:
        form = Form(values=_profile_values(profile))
    return _profile_form(request, session, form, profile)


@router.post("/me/profile/edit")
def save_profile(
    request: Request, session: SessionDep, viewer: TalentViewer, data: FormDep
) -> Response:
    """保存人才档案（新建或修改）。"""
    profile = _own_profile(session, viewer)
    form = Form.read(
        data, lists=("preferred_regions",), aliases=PROFILE_ALIASES, labels=PROFILE_LABELS
    )
    values = non_empty(form.values, TEXT_FIELDS)
    values["fields"] = split_tags(form.get("fields"))
    values["preferred_regions"] = form.getlist("preferred_regions")
    values["contact"] = {k: form.get(k).strip() or None for k in ("phone", "email")}
    values["active"] = bool(form.get("active"))
    # Every field is on the form, so it is checked whole: a cleared name is an error.
    full = form.validate(ProfileBase, values)
    if full is None:
        return _profile_form(request, session, form, profile, 422)
    if profile is None:
        new = ProfileCreate(**full.model_dump())
        saved = save(session, form, lambda: profiles.create(session, data=new, actor=viewer.actor))
        message = "人才档案已建立，县（市、区）现在可以在匹配名单中看到您"
    else:
        changes = ProfileUpdate(**full.model_dump())
        saved = save(
            session,
            form,
            lambda: profiles.update(session, profile=profile, data=changes, actor=viewer.actor),
        )
        message = "人才档案已保存"
    if saved is None:
        return _profile_form(request, session, form, profile, form.status_code)
    return redirect(request, "/me/profile", message)


def _need_context(request: Request, session: Session, viewer: Viewer, profile: Profile) -> Any:
    """The need a county officer came from (``?need_id=``, the match list or the search), with
    where this person stands for it, so that the page leads back and on to a proposal."""
    need_id = QueryArgs(request).integer("need_id", 0, 0, 2_147_483_647)
    if not need_id or viewer.role != Role.county:
        return None
    need = session.get(Need, need_id)
    if need is None or not needs.can_write(viewer.actor, need):
        return None
    assert need.id is not None
    assert profile.id is not None
    return {
        "id": need.id,
        "title": need.title,
        "open": need.status == "open",
        "placement_id": counts.live_profiles_of_need(session, need.id).get(profile.id),
    }


def _profile_page(request: Request, session: Session, viewer: Viewer, profile: Profile) -> Response:
    public = profiles.to_public(session, viewer.actor, profile)
    return render(
        request,
        "profiles/detail.html",
        {
            "title": public.name,
            "profile": public,
            "own": viewer.role == Role.talent and profile.owner_id == viewer.actor.id,
            "from_need": _need_context(request, session, viewer, profile),
            "hometown": (
                counties.get(session, public.hometown_county_code)
                if public.hometown_county_code
                else None
            ),
        },
    )


@router.get("/profiles/{profile_id}")
def show_profile(
    request: Request, session: SessionDep, viewer: AnyViewer, profile_id: IdPath
) -> Response:
    """人才档案（联系方式按权限打码）。"""
    profile = profiles.get_for_read(session, profile_id, viewer.actor)
    return _profile_page(request, session, viewer, profile)


# --- the needs that fit -----------------------------------------------------------------------


@router.get("/me/matches")
def my_matches(request: Request, session: SessionDep, viewer: TalentViewer) -> Response:
    """适合我的需求，附匹配理由。"""
    profile = _own_profile(session, viewer)
    if profile is None:
        return redirect(
            request, "/me/profile/edit", "请先填写人才档案，系统才能为您匹配需求", "info"
        )
    limit = QueryArgs(request).integer("limit", 10, 1, 50)
    context: dict[str, Any] = {
        "title": "适合我的需求",
        "items": [],
        "unavailable": None,
        "model_version": None,
        "form": Form(values=dict(request.query_params)),
        "choices": choices,
        "active": profile.active,
    }
    matcher = matcher_of(request)
    if matcher is None:
        context["unavailable"] = MATCHER_MISSING
        return render(request, "talent/matches.html", context, status_code=503)
    result = matches.profile_matches(session, matcher, profile=profile, limit=limit)
    items = []
    for item in result.items:
        assert item.need_id is not None
        need = needs.get(session, item.need_id)
        items.append({"match": item, "need": needs.to_public(session, need)})
    context.update(items=items, model_version=result.model_version)
    return render(request, "talent/matches.html", context)
