"""Every role's 消息 page, where they choose how else to hear of things, and the to-do lists
(待办) that the landing pages show."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.auth.models import Account
from app.common import IdPath, Role
from app.db import SessionDep, get_or_404, utcnow
from app.notifications import service as notifications
from app.notifications.schemas import ChannelSettings
from app.profiles import service as profiles
from app.stats import service as stats
from app.todos import service as todos
from app.todos.service import Todo
from app.web.deps import AnyViewer, PageRoute, Viewer
from app.web.forms import Form, Pager, QueryArgs, read_form, save
from app.web.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormDep = Annotated[FormData, Depends(read_form)]
PAGE_SIZE = 20


def grouped(items: list[Todo]) -> list[tuple[str, list[Todo]]]:
    """The items by group, groups in the order they first appear."""
    groups: dict[str, list[Todo]] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    return list(groups.items())


def todo_groups(request: Request, session: Session, viewer: Viewer) -> list[tuple[str, list[Todo]]]:
    """The viewer's to-do list, as their landing page shows it."""
    settings = request.app.state.settings
    now = utcnow()
    actor = viewer.actor
    if actor.role == Role.county and actor.county_code:
        return grouped(
            todos.county_todos(
                session,
                county_code=actor.county_code,
                now=now,
                report_days=settings.reminder_report_days,
            )
        )
    if actor.role == Role.talent and actor.id is not None:
        profile = profiles.owned_by(session, actor.id)
        if profile is None or profile.id is None:
            return []
        return grouped(
            todos.talent_todos(
                session, profile_id=profile.id, now=now, report_days=settings.reminder_report_days
            )
        )
    if actor.role in (Role.province, Role.admin):
        return grouped(_province_todos(session))
    return []


def _province_todos(session: Session) -> list[Todo]:
    found = stats.findings(session)
    items: list[Todo] = []
    for c in found.poverty_counties_without_active:
        items.append(Todo("脱贫县无服务中的人才", c.name, "/stats/findings"))
    for o in found.over_capacity:
        items.append(
            Todo("超出服务容量", f"{o.name}（{o.open_placements}/{o.capacity}）", "/stats/findings")
        )
    for p in found.off_list[:10]:
        items.append(
            Todo(
                "名单外推荐待核查",
                f"{p.county_name}「{p.need_title}」（对接 #{p.placement_id}）",
                f"/placements/{p.placement_id}",
            )
        )
    for n in found.stale_open_needs[:10]:
        items.append(
            Todo("长期未满足的需求", f"{n.county_name}「{n.title}」", f"/needs/{n.need_id}")
        )
    return items


# --- 消息 ---------------------------------------------------------------------------------------


@router.get("/notifications")
def inbox(request: Request, session: SessionDep, viewer: AnyViewer) -> Response:
    """消息：最新的在前，可只看未读。"""
    args = QueryArgs(request)
    only_unread = request.query_params.get("unread") == "1"
    page = args.page()
    assert viewer.actor.id is not None
    rows, total = notifications.page(
        session,
        account_id=viewer.actor.id,
        unread=True if only_unread else None,
        page=page,
        page_size=PAGE_SIZE,
    )
    return render(
        request,
        "notifications/list.html",
        {
            "title": "消息",
            "rows": rows,
            "kinds": notifications.KIND_LABELS,
            "pager": Pager(page, PAGE_SIZE, total),
            "only_unread": only_unread,
        },
    )


@router.post("/notifications/{notification_id}/open")
def open_notification(
    request: Request, session: SessionDep, viewer: AnyViewer, notification_id: IdPath
) -> Response:
    """打开一条消息：标为已读并转到相关页面。"""
    assert viewer.actor.id is not None
    row = notifications.mark_read(
        session, account_id=viewer.actor.id, notification_id=notification_id
    )
    session.commit()
    link = row.link if row.link and row.link.startswith("/") else "/notifications"
    return redirect(request, link)


@router.post("/notifications/read-all")
def read_all(request: Request, session: SessionDep, viewer: AnyViewer) -> Response:
    """全部标为已读。"""
    assert viewer.actor.id is not None
    marked = notifications.mark_all_read(session, account_id=viewer.actor.id)
    session.commit()
    return redirect(request, "/notifications", f"已将 {marked} 条消息标为已读")


# --- how else to hear of them ------------------------------------------------------------------

CHANNEL_LABELS = {"email": "邮箱", "phone": "手机号"}


def _settings_page(
    request: Request, session: Session, viewer: Viewer, form: Form | None = None, status: int = 200
) -> Response:
    account = get_or_404(session, Account, viewer.actor.id, "账号")
    delivery = notifications.delivery_channels(request.app.state.settings)
    current = notifications.channel_settings(session, account, delivery)
    if form is None:
        values: dict[str, Any] = {
            "email": current.email or "",
            "phone": current.phone or "",
        }
        for flag in ("notify_email", "notify_sms"):
            if getattr(current, flag):
                values[flag] = "1"
        form = Form(values=values)
    return render(
        request,
        "notifications/settings.html",
        {"title": "消息接收设置", "form": form, "current": current},
        status_code=status,
    )


@router.get("/settings/notifications")
def channel_settings(request: Request, session: SessionDep, viewer: AnyViewer) -> Response:
    """消息接收设置：邮件、短信。"""
    return _settings_page(request, session, viewer)


@router.post("/settings/notifications")
def save_channel_settings(
    request: Request, session: SessionDep, viewer: AnyViewer, data: FormDep
) -> Response:
    """保存消息接收设置。"""
    form = Form.read(data, labels=CHANNEL_LABELS)
    values = {
        "email": form.get("email").strip() or None,
        "phone": form.get("phone").strip() or None,
        "notify_email": bool(form.get("notify_email")),
        "notify_sms": bool(form.get("notify_sms")),
    }
    parsed = form.validate(ChannelSettings, values)
    if parsed is None:
        return _settings_page(request, session, viewer, form, 422)
    account = get_or_404(session, Account, viewer.actor.id, "账号")
    done = save(
        session,
        form,
        lambda: notifications.save_channels(
            session, account=account, data=parsed, actor=viewer.actor
        ),
    )
    if done is None:
        return _settings_page(request, session, viewer, form, form.status_code)
    return redirect(request, "/settings/notifications", "消息接收设置已保存")
