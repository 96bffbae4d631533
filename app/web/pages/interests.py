"""我有意向 on the pages: talents browse open needs and step forward; the county sees who did.

Talents: ``/me/needs`` (open needs with filters and their own match score), ``/me/needs/{id}``
(the need, the county's contact person, the 我有意向 form or 撤回意向). County (and the
province and admin, read only): ``/needs/{id}/interests`` with each person's rank and a 推荐此人
button that opens the propose form with the interest attached.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.common import IdPath, Program, Region, Role
from app.db import SessionDep
from app.interests import service as interests
from app.interests.schemas import InterestIn, InterestStatus
from app.matches import service as matches
from app.matches.schemas import MatchItem
from app.needs import service as needs
from app.needs.models import Need
from app.placements import counts
from app.profiles import service as profiles
from app.profiles.models import Profile
from app.web import choices
from app.web.deps import MATCHER_MISSING, NeedReader, PageRoute, TalentViewer, Viewer, matcher_of
from app.web.forms import Form, Pager, QueryArgs, non_empty, read_form, save
from app.web.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormDep = Annotated[FormData, Depends(read_form)]
PAGE_SIZE = 20
# How far down a person's own list of needs a score is shown (the longest /me/matches list).
SCORE_WINDOW = 50
INTEREST_LABELS = {"note": "留言"}


def _own_profile(session: Session, viewer: Viewer) -> Profile | None:
    assert viewer.actor.id is not None
    return profiles.owned_by(session, viewer.actor.id)


def _my_scores(request: Request, session: Session, profile: Profile | None) -> dict[int, MatchItem]:
    """The person's match for each open need on their own list (as /me/matches ranks it)."""
    matcher = matcher_of(request)
    if profile is None or matcher is None:
        return {}
    found = matches.profile_matches(session, matcher, profile=profile, limit=SCORE_WINDOW)
    return {item.need_id: item for item in found.items if item.need_id is not None}


# --- talents ------------------------------------------------------------------------------------


@router.get("/me/needs")
def browse_needs(request: Request, session: SessionDep, viewer: TalentViewer) -> Response:
    """浏览征集中的需求：关键词、县、市（州）、区域、项目类别筛选，附本人匹配得分。"""
    args = QueryArgs(request)
    filters: dict[str, Any] = {
        "q": args.text("text"),
        "county_code": args.county(),
        "prefecture": args.text("prefecture", 20),
        "region": args.choice("region", Region),
        "program": args.choice("program", Program),
    }
    page = args.page()
    rows, total = needs.list_needs(
        session, actor=viewer.actor, page=page, page_size=PAGE_SIZE, **filters
    )
    profile = _own_profile(session, viewer)
    scores = _my_scores(request, session, profile)
    mine = (
        interests.needs_of_profile(session, profile.id, [n.id for n in rows if n.id])
        if profile is not None and profile.id is not None
        else set()
    )
    return render(
        request,
        "talent/needs.html",
        {
            "title": "浏览需求",
            "rows": [
                {"need": needs.to_public(session, n), "match": scores.get(n.id or 0)} for n in rows
            ],
            "mine": mine,
            "pager": Pager(page, PAGE_SIZE, total),
            "filter_errors": args.errors,
            "form": Form(values=dict(request.query_params)),
            "county_options": choices.county_options(session),
            "prefecture_options": choices.prefecture_options(session),
            "has_profile": profile is not None,
            "score_window": SCORE_WINDOW,
        },
    )


def _need_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    need: Need,
    form: Form,
    status_code: int = 200,
) -> Response:
    assert need.id is not None
    profile = _own_profile(session, viewer)
    interest = (
        interests.find(session, need.id, profile.id)
        if profile is not None and profile.id is not None
        else None
    )
    return render(
        request,
        "talent/need.html",
        {
            "title": need.title,
            "need": needs.to_public(session, need),
            "profile": profile,
            "interest": interest,
            "active": interest is not None and interest.status == InterestStatus.active,
            "match": _my_scores(request, session, profile).get(need.id),
            "matcher_missing": MATCHER_MISSING if matcher_of(request) is None else None,
            "score_window": SCORE_WINDOW,
            "form": form,
        },
        status_code=status_code,
    )


@router.get("/me/needs/{need_id}")
def show_need(
    request: Request, session: SessionDep, viewer: TalentViewer, need_id: IdPath
) -> Response:
    """征集中需求的详情：县局联系人、本人匹配得分，以及“我有意向”。"""
    need = needs.get_for_read(session, need_id, viewer.actor)
    return _need_page(request, session, viewer, need, Form())


@router.post("/me/needs/{need_id}/interest")
def express_interest(
    request: Request, session: SessionDep, viewer: TalentViewer, need_id: IdPath, data: FormDep
) -> Response:
    """我有意向（附留言）。"""
    need = needs.get_for_read(session, need_id, viewer.actor)
    form = Form.read(data, labels=INTEREST_LABELS)
    interest_in = form.validate(InterestIn, non_empty(form.values, ("note",)))
    if interest_in is None:
        return _need_page(request, session, viewer, need, form, 422)
    done = save(
        session,
        form,
        lambda: interests.express(session, need_id=need_id, data=interest_in, actor=viewer.actor),
    )
    if done is None:
        return _need_page(request, session, viewer, need, form, form.status_code)
    return redirect(request, f"/me/needs/{need_id}", "已表达意向，县局会收到通知并看到您的留言")


@router.post("/me/needs/{need_id}/interest/withdraw")
def withdraw_interest(
    request: Request, session: SessionDep, viewer: TalentViewer, need_id: IdPath
) -> Response:
    """撤回意向。"""
    interests.withdraw(session, need_id=need_id, actor=viewer.actor)
    session.commit()
    # A need that is no longer open has no talent page to return to.
    still_open = needs.can_read(viewer.actor, needs.get(session, need_id))
    return redirect(request, f"/me/needs/{need_id}" if still_open else "/me/needs", "已撤回意向")


# --- the county ---------------------------------------------------------------------------------


@router.get("/needs/{need_id}/interests")
def need_interests(
    request: Request, session: SessionDep, viewer: NeedReader, need_id: IdPath
) -> Response:
    """需求收到的人才意向：各人在匹配名单中的名次，可直接推荐。"""
    need = needs.get_for_read(session, need_id, viewer.actor)
    rows = interests.of_need(session, need_id)
    matcher = matcher_of(request)
    window = int(request.app.state.settings.match_window)
    standings = (
        matches.standings(
            session, matcher, need=need, profile_ids=[i.profile_id for i, _ in rows], window=window
        )
        if matcher is not None
        else {}
    )
    return render(
        request,
        "needs/interests.html",
        {
            "title": f"人才意向 · {need.title}",
            "need": needs.to_public(session, need),
            "items": interests.items(rows, standings),
            "live": counts.live_profiles_of_need(session, need_id),
            "window": window,
            "unavailable": MATCHER_MISSING if matcher is None else None,
            "can_propose": viewer.role == Role.county and needs.can_write(viewer.actor, need),
        },
    )
