from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.auth.models import Account
from app.auth.policy import AnyActor, GuardedRoute
from app.common import IdPath, PageQuery, PageSizeQuery, public_of
from app.db import SessionDep, get_or_404
from app.notifications import service
from app.notifications.models import Notification
from app.notifications.schemas import (
    ChannelSettings,
    ChannelSettingsPublic,
    NotificationPage,
    NotificationPublic,
    ReadAll,
)

router = APIRouter(prefix="/api/v1/notifications", tags=["消息"], route_class=GuardedRoute)


def to_public(row: Notification) -> NotificationPublic:
    return public_of(NotificationPublic, row, kind_label=service.KIND_LABELS.get(row.kind, "消息"))


@router.get("", response_model=NotificationPage)
def list_notifications(
    session: SessionDep,
    actor: AnyActor,
    unread: Annotated[bool | None, Query(description="true 只看未读，false 只看已读")] = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 20,
) -> NotificationPage:
    """我的消息，最新的在前。"""
    assert actor.id is not None
    rows, total = service.page(
        session, account_id=actor.id, unread=unread, page=page, page_size=page_size
    )
    return NotificationPage(
        items=[to_public(r) for r in rows],
        total=total,
        unread=service.unread_count(session, actor.id),
        page=page,
        page_size=page_size,
    )


@router.get("/settings", response_model=ChannelSettingsPublic)
def read_settings(request: Request, session: SessionDep, actor: AnyActor) -> ChannelSettingsPublic:
    """我接收消息的方式（邮件、短信）。"""
    account = get_or_404(session, Account, actor.id, "账号")
    return service.channel_settings(
        session, account, service.delivery_channels(request.app.state.settings)
    )


@router.put("/settings", response_model=ChannelSettingsPublic)
def save_settings(
    request: Request, session: SessionDep, actor: AnyActor, data: ChannelSettings
) -> ChannelSettingsPublic:
    """设置接收消息的方式：邮箱、手机号，是否接收邮件、短信。"""
    account = get_or_404(session, Account, actor.id, "账号")
    service.save_channels(session, account=account, data=data, actor=actor)
    session.commit()
    return service.channel_settings(
        session, account, service.delivery_channels(request.app.state.settings)
    )


@router.post("/read-all", response_model=ReadAll)
def read_all(session: SessionDep, actor: AnyActor) -> ReadAll:
    """把我的消息全部标为已读。"""
    assert actor.id is not None
    marked = service.mark_all_read(session, account_id=actor.id)
    session.commit()
    return ReadAll(marked=marked)


@router.post("/{notification_id}/read", response_model=NotificationPublic)
def read_one(session: SessionDep, actor: AnyActor, notification_id: IdPath) -> NotificationPublic:
    """把一条消息标为已读。"""
    assert actor.id is not None
    row = service.mark_read(session, account_id=actor.id, notification_id=notification_id)
    session.commit()
    return to_public(row)
