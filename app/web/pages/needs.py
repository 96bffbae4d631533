"""County needs: the list, posting and editing, closing, the match list and proposing a person."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.common import Availability, IdPath, NeedStatus, ProfileKind, Program, Region, Role
from app.db import SessionDep
from app.errors import AppError
from app.matches import service as matches
from app.matches.schemas import SearchIn
from app.needs import service as needs
from app.needs.models import Need
from app.needs.schemas import NeedCreate, NeedUpdate
from app.placements import counts, queries
from app.placements import service as placements
from app.placements.schemas import PlacementCreate, PlacementFilters
from app.plans import service as plans
from app.profiles import service as profiles
from app.web import choices
from app.web.deps import MATCHER_MISSING, CountyViewer, NeedReader, PageRoute, Viewer, matcher_of
from app.web.forms import Form, Pager, QueryArgs, non_empty, read_form, save
from app.web.pages.inbox import todo_groups
from app.web.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormDep = Annotated[FormData, Depends(read_form)]
# People shown by the off-list search.
CANDIDATE_LIMIT = 30
PAGE_SIZE = 20
NEED_FIELDS = (
    "program",
    "title",
    "description",
    "industry",
    "headcount",
    "deadline",
    "contact_name",
    "contact_phone",
)
NEED_LABELS = {"title": "需求标题", "industry": "所属产业"}
PROPOSE_LABELS = {"reason": "推荐理由", "note": "备注"}


def _window(request: Request) -> int:
    return int(request.app.state.settings.match_window)


# --- list ---------------------------------------------------------------------------------------


@router.get("/needs")
def list_needs(request: Request, session: SessionDep, viewer: NeedReader) -> Response:
    """需求列表：县局看本县，省与管理员看全省。"""
    args = QueryArgs(request)
    province_wide = viewer.role != Role.county
    filters: dict[str, Any] = {
        "status": args.choice("status", NeedStatus),
        "program": args.choice("program", Program),
        "q": args.text("text"),
        "county_code": args.county() if province_wide else None,
        "region": args.choice("region", Region) if province_wide else None,
    }
    page = args.page()
    rows, total = needs.list_needs(
        session, actor=viewer.actor, page=page, page_size=PAGE_SIZE, **filters
    )
    return render(
        request,
        "needs/list.html",
        {
            "title": "本县需求" if not province_wide else "需求",
            "needs": [needs.to_public(session, n) for n in rows],
            "pager": Pager(page, PAGE_SIZE, total),
            "filter_errors": args.errors,
            "form": Form(values=dict(request.query_params)),
            "province_wide": province_wide,
            "todos": todo_groups(request, session, viewer) if not province_wide else None,
            "county_options": choices.county_options(session) if province_wide else [],
            "choices": choices,
        },
    )


# --- create and edit ----------------------------------------------------------------------------


def _need_form(request: Request, form: Form, need: Need | None, status_code: int = 200) -> Response:
    return render(
        request,
        "needs/form.html",
        {
            "title": "修改需求" if need else "发布需求",
            "form": form,
            "need": need,
            "choices": choices,
        },
        status_code=status_code,
    )


@router.get("/needs/new")
def new_need(request: Request, viewer: CountyViewer) -> Response:
    """发布需求表单。"""
    return _need_form(request, Form(values={"headcount": "1"}), None)


@router.post("/needs/new")
def create_need(
    request: Request, session: SessionDep, viewer: CountyViewer, data: FormDep
) -> Response:
    """发布需求（本县）。"""
    form = Form.read(data, labels=NEED_LABELS)
    need_in = form.validate(NeedCreate, non_empty(form.values, NEED_FIELDS))
    if need_in is None:
        return _need_form(request, form, None, 422)
    need = save(session, form, lambda: needs.create(session, data=need_in, actor=viewer.actor))
    if need is None:
        return _need_form(request, form, None, form.status_code)
    return redirect(request, f"/needs/{need.id}", "需求已发布，可以查看匹配名单了")


@router.get("/needs/{need_id}/edit")
def edit_need(
    request: Request, session: SessionDep, viewer: CountyViewer, need_id: IdPath
) -> Response:
    """修改需求表单。"""
    need = needs.get_for_write(session, need_id, viewer.actor)
    values = {k: str(v) for k, v in needs.snapshot(need).items() if v is not None}
    return _need_form(request, Form(values=values), need)


@router.post("/needs/{need_id}/edit")
def update_need(
    request: Request, session: SessionDep, viewer: CountyViewer, need_id: IdPath, data: FormDep
) -> Response:
    """保存对需求的修改。"""
    need = needs.get_for_write(session, need_id, viewer.actor)
    form = Form.read(data, labels=NEED_LABELS)
    # Every field is on the form: check it whole (a cleared title is an error, not "unchanged").
    full = form.validate(NeedCreate, non_empty(form.values, (*NEED_FIELDS, "status")))
    if full is None:
        return _need_form(request, form, need, 422)
    changes = NeedUpdate(**full.model_dump(exclude={"county_code"}))
    if (
        save(
            session,
            form,
            lambda: needs.update(session, need=need, data=changes, actor=viewer.actor),
        )
        is None
    ):
        return _need_form(request, form, need, form.status_code)
    return redirect(request, f"/needs/{need_id}", "需求已保存")


@router.post("/needs/{need_id}/close")
def close_need(
    request: Request, session: SessionDep, viewer: CountyViewer, need_id: IdPath
) -> Response:
    """关闭需求（不再征集）。"""
    need = needs.get_for_write(session, need_id, viewer.actor)
    needs.update(session, need=need, data=NeedUpdate(status=NeedStatus.closed), actor=viewer.actor)
    session.commit()
    return redirect(request, f"/needs/{need_id}", "需求已关闭，不再征集人选")


# --- one need -----------------------------------------------------------------------------------


@router.get("/needs/{need_id}")
def show_need(
    request: Request, session: SessionDep, viewer: NeedReader, need_id: IdPath
) -> Response:
    """需求详情及其对接记录。"""
    need = needs.get_for_read(session, need_id, viewer.actor)
    rows, _total = queries.list_placements(
        session,
        actor=viewer.actor,
        filters=PlacementFilters(need_id=need_id),
        page=1,
        page_size=100,
    )
    return render(
        request,
        "needs/detail.html",
        {
            "title": need.title,
            "need": needs.to_public(session, need),
            "placements": [queries.to_public(session, p) for p in rows],
            "can_write": needs.can_write(viewer.actor, need) and viewer.role == Role.county,
            # 省级统筹建议: whom the latest plan covering this need suggests
            "advice": plans.advice_for_need(session, need) if need.status == "open" else None,
            "live": counts.live_profiles_of_need(session, need_id),
        },
    )


@router.get("/needs/{need_id}/matches")
def need_matches(
    request: Request, session: SessionDep, viewer: NeedReader, need_id: IdPath
) -> Response:
    """需求的匹配名单：得分、得分构成与中文理由，可按人才类型和服务方式筛选。"""
    need = needs.get_for_read(session, need_id, viewer.actor)
    args = QueryArgs(request)
    kind = args.choice("kind", ProfileKind)
    availability = args.choice("availability", Availability)
    limit = args.integer("limit", 10, 1, 50)
    context: dict[str, Any] = {
        "title": f"匹配名单 · {need.title}",
        "need": needs.to_public(session, need),
        "form": Form(values=dict(request.query_params)),
        "filter_errors": args.errors,
        "choices": choices,
        "items": [],
        "model_version": None,
        "unavailable": None,
        "can_propose": viewer.role == Role.county and needs.can_write(viewer.actor, need),
    }
    matcher = matcher_of(request)
    if matcher is None:
        context["unavailable"] = MATCHER_MISSING
        return render(request, "needs/matches.html", context, status_code=503)
    result = matches.need_matches(
        session, matcher, need=need, limit=limit, kind=kind, availability=availability
    )
    live = counts.live_profiles_of_need(session, need_id)
    items = []
    for item in result.items:
        assert item.profile_id is not None
        profile = profiles.get(session, item.profile_id)
        items.append(
            {
                "match": item,
                "profile": profiles.to_public(session, viewer.actor, profile),
                "placement_id": live.get(item.profile_id),
            }
        )
    context.update(items=items, model_version=result.model_version)
    return render(request, "needs/matches.html", context)


# --- proposing a person -------------------------------------------------------------------------


@router.get("/needs/{need_id}/candidates")
def candidates(
    request: Request, session: SessionDep, viewer: CountyViewer, need_id: IdPath
) -> Response:
    """检索名单外人选：按与关键词（或本需求）的相关程度排序，标出名单名次和对接状态。"""
    need = needs.get_for_write(session, need_id, viewer.actor)
    args = QueryArgs(request)
    q = args.text("text")
    kind = args.choice("kind", ProfileKind)
    window = _window(request)
    context: dict[str, Any] = {
        "title": f"检索人选 · {need.title}",
        "need": needs.to_public(session, need),
        "rows": [],
        "form": Form(values=dict(request.query_params)),
        "filter_errors": args.errors,
        "choices": choices,
        "window": window,
        "searched": q,
        "unavailable": None,
    }
    matcher = matcher_of(request)
    if matcher is None:
        context["unavailable"] = MATCHER_MISSING
        return render(request, "needs/candidates.html", context, status_code=503)
    if q:
        # The engine ranks the words the officer typed (meaning as well as characters: 碱巴拉地
        # finds the saline-soil people), with the need's county and programme signals.
        found = matches.search(
            session,
            matcher,
            data=SearchIn(text=q, program=need.program, limit=CANDIDATE_LIMIT),
            county_code=need.county_code,
        ).items
    else:
        # No words: the people just below the match list, best first.
        found = matches.need_matches(
            session, matcher, need=need, limit=window + CANDIDATE_LIMIT
        ).items[window:]
    ids = [i.profile_id for i in found if i.profile_id is not None]
    people = {pid: profiles.get(session, pid) for pid in ids}
    if kind:
        found = [i for i in found if i.profile_id in people and people[i.profile_id].kind == kind]
    assert need.id is not None
    standing = matches.standings(session, matcher, need=need, profile_ids=ids, window=window)
    live = counts.live_profiles_of_need(session, need.id)
    context["rows"] = [
        {
            "match": item,
            "profile": profiles.to_public(session, viewer.actor, people[item.profile_id]),
            "list_rank": standing[item.profile_id].rank if item.profile_id in standing else None,
            "placement_id": live.get(item.profile_id),
        }
        for item in found
        if item.profile_id in people
    ]
    return render(request, "needs/candidates.html", context)


def _propose_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    need: Need,
    profile_id: int,
    form: Form,
    status_code: int = 200,
) -> Response:
    profile = profiles.get_for_read(session, profile_id, viewer.actor)
    assert need.id is not None
    context: dict[str, Any] = {
        "title": f"推荐人选 · {need.title}",
        "need": needs.to_public(session, need),
        "profile": profiles.to_public(session, viewer.actor, profile),
        "form": form,
        "found": None,
        "window": _window(request),
        "unavailable": None,
        "placement_id": counts.live_profiles_of_need(session, need.id).get(profile_id),
        "previous": None,
    }
    previous = queries.previous_for(session, need.id, profile_id)
    if previous is not None:
        context["previous"] = (previous.id, queries.describe_previous(previous))
    matcher = matcher_of(request)
    if matcher is None:
        context["unavailable"] = MATCHER_MISSING
        return render(request, "needs/propose.html", context, status_code=503)
    context["found"] = matches.provenance(
        session, matcher, need=need, profile_id=profile_id, window=_window(request)
    )
    return render(request, "needs/propose.html", context, status_code=status_code)


@router.get("/needs/{need_id}/propose")
def propose_form(
    request: Request, session: SessionDep, viewer: CountyViewer, need_id: IdPath
) -> Response:
    """推荐人选的确认页：显示其在匹配名单中的位置；名单外须填写理由。"""
    need = needs.get_for_write(session, need_id, viewer.actor)
    profile_id = QueryArgs(request).integer("profile_id", 0, 0, 2_147_483_647)
    if not profile_id:
        return redirect(request, f"/needs/{need_id}/matches", "请先从匹配名单中选择人选", "info")
    form = Form(values={"profile_id": str(profile_id)})
    # From the need's interest list: the proposal records the interest it came from.
    interest_id = QueryArgs(request).integer("interest_id", 0, 0, 2_147_483_647)
    if interest_id:
        form.values["interest_id"] = str(interest_id)
    # From the need's 省级统筹建议: the proposal records the plan it follows.
    plan_id = QueryArgs(request).integer("plan_id", 0, 0, 2_147_483_647)
    if plan_id:
        form.values["plan_id"] = str(plan_id)
    return _propose_page(request, session, viewer, need, profile_id, form)


@router.post("/needs/{need_id}/propose")
def propose(
    request: Request, session: SessionDep, viewer: CountyViewer, need_id: IdPath, data: FormDep
) -> Response:
    """向人才发出推荐（对接状态：已推荐）。"""
    need = needs.get_for_write(session, need_id, viewer.actor)
    form = Form.read(data, labels=PROPOSE_LABELS)
    values = non_empty(form.values, ("profile_id", "note", "reason", "interest_id", "plan_id")) | {
        "need_id": need_id,
        "repeat": bool(form.get("repeat")),
    }
    placement_in = form.validate(PlacementCreate, values)
    if placement_in is None:
        if "profile_id" in form.errors or "profile_id" not in values:
            raise AppError(404, "not_found", "人才档案不存在")
        return _propose_page(request, session, viewer, need, int(form.get("profile_id")), form, 422)
    profile_id = placement_in.profile_id
    matcher = matcher_of(request)
    if matcher is None:
        raise AppError(503, "matcher_unavailable", MATCHER_MISSING)
    window = _window(request)
    placement = save(
        session,
        form,
        lambda: placements.propose(
            session, data=placement_in, actor=viewer.actor, matcher=matcher, window=window
        ),
    )
    if placement is None:
        return _propose_page(request, session, viewer, need, profile_id, form, form.status_code)
    name = profiles.get(session, profile_id).name
    return redirect(request, f"/placements/{placement.id}", f"已向{name}发出推荐，等待本人确认")
